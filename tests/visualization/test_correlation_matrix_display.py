"""Rendering tests of CorrelationMatrixDisplay."""

import numpy as np
import pytest
from matplotlib.patches import Rectangle
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from skfingerprint.metrics import fingerprint_correlation_matrix
from skfingerprint.visualization import CorrelationMatrixDisplay

FAMILIES = {"gan1": "GAN", "gan2": "GAN", "gan3": "GAN", "vae1": "VAE", "vae2": "VAE"}


def family_data(seed=0, n_bags=6, n_features=32):
    # Sources are listed interleaved, so the sorted order mixes the families.
    rng = np.random.RandomState(seed)
    fam = {"GAN": rng.normal(size=n_features), "VAE": rng.normal(size=n_features)}
    names = ["gan1", "vae1", "gan2", "vae2", "gan3"]
    centers = np.array([fam[FAMILIES[s]] + 0.4 * rng.normal(size=n_features) for s in names])
    idx = np.repeat(np.arange(len(names)), n_bags)
    Z = centers[idx] + 0.4 * rng.normal(size=(idx.size, n_features))
    return Z, np.asarray(names)[idx]


def test_from_predictions_draws_ordered_matrix_with_family_blocks():
    Z, y = family_data()
    disp = CorrelationMatrixDisplay.from_predictions(Z, y, families=FAMILIES)
    labels = list(disp.display_labels)
    assert sorted(labels) == sorted(FAMILIES)
    # The dendrogram order puts each family in one contiguous block.
    fams = [FAMILIES[s] for s in labels]
    assert sum(a != b for a, b in zip(fams, fams[1:])) == 1

    # The image is rho reordered by display labels.
    rho = fingerprint_correlation_matrix(Z, y, labels=labels)
    np.testing.assert_allclose(disp.im_.get_array(), rho)
    np.testing.assert_allclose(disp.rho, rho)
    assert disp.im_.get_clim() == (0.0, 1.0)

    ax = disp.ax_
    assert ax.get_xlabel() == "Fingerprint of source"
    assert ax.get_ylabel() == "Bags of source"
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert disp.text_.shape == (5, 5)
    assert disp.text_[1, 3].get_text() == f"{rho[1, 3]:.2f}"
    assert len(disp.figure_.axes) == 2  # heatmap and colorbar

    # One outlined square block per family, on the diagonal.
    assert len(disp.family_patches_) == 2
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert rects == disp.family_patches_
    sizes = sorted(p.get_width() for p in disp.family_patches_)
    assert sizes == [2, 3]
    for p in disp.family_patches_:
        assert p.get_width() == p.get_height()
        assert p.get_xy()[0] == p.get_xy()[1]
    assert sorted(t.get_text() for t in disp.family_texts_) == ["GAN", "VAE"]


@pytest.mark.parametrize("figsize", [(4, 4), (8.5, 7)])
def test_long_family_names_fit_between_the_matrix_and_the_colorbar(figsize):
    import matplotlib.pyplot as plt

    Z, y = family_data()
    long_names = {s: ("latent_diffusion_" * 2 if f == "GAN" else f) for s, f in FAMILIES.items()}
    fig, ax = plt.subplots(figsize=figsize)
    disp = CorrelationMatrixDisplay.from_predictions(Z, y, families=long_names, ax=ax)
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    cbar_ax = [a for a in fig.axes if a is not ax]
    assert len(cbar_ax) == 1
    cbar_left = cbar_ax[0].get_window_extent(renderer).x0
    image_right = ax.get_window_extent(renderer).x1
    figure_right = fig.bbox.x1
    for text in disp.family_texts_:
        box = text.get_window_extent(renderer)
        assert box.x0 >= image_right  # right of the matrix
        assert box.x1 < cbar_left  # not under the colorbar
    assert cbar_ax[0].get_tightbbox(renderer).x1 <= figure_right + 1  # in the figure
    plt.close(fig)


def test_order_none_keeps_label_order_and_no_extras():
    Z, y = family_data()
    disp = CorrelationMatrixDisplay.from_predictions(
        Z, y, order=None, include_values=False, colorbar=False
    )
    assert list(disp.display_labels) == sorted(FAMILIES)
    np.testing.assert_allclose(disp.im_.get_array(), fingerprint_correlation_matrix(Z, y))
    assert disp.text_ is None and not disp.ax_.texts
    assert disp.family_patches_ == [] and len(disp.figure_.axes) == 1


def test_n_families_outlines_found_clusters():
    Z, y = family_data()
    disp = CorrelationMatrixDisplay.from_predictions(Z, y, n_families=2)
    assert len(disp.family_patches_) == 2
    blocks = {}
    for label, cluster in zip(disp.display_labels, disp.families):
        blocks.setdefault(cluster, set()).add(FAMILIES[label])
    assert all(len(f) == 1 for f in blocks.values())  # each cluster is one family
    with pytest.raises(ValueError, match="not both"):
        CorrelationMatrixDisplay.from_predictions(Z, y, n_families=2, families=FAMILIES)


def test_families_as_array_and_missing_family():
    Z, y = family_data()
    classes = np.unique(y)
    disp = CorrelationMatrixDisplay.from_predictions(
        Z, y, families=[FAMILIES[c] for c in classes], order=None
    )
    assert list(disp.families) == [FAMILIES[c] for c in classes]
    with pytest.raises(ValueError, match=r"no entry for the sources \['vae2'\]"):
        CorrelationMatrixDisplay.from_predictions(
            Z, y, families={k: v for k, v in FAMILIES.items() if k != "vae2"}
        )


def test_from_estimator_matches_from_predictions_and_uses_given_ax():
    import matplotlib.pyplot as plt

    Z, y = family_data()
    pipe = make_pipeline(PCA(n_components=8), KNeighborsClassifier(3)).fit(Z, y)
    _, ax = plt.subplots()
    disp = CorrelationMatrixDisplay.from_estimator(pipe, Z, y, ax=ax)
    assert disp.ax_ is ax
    ref = CorrelationMatrixDisplay.from_predictions(pipe[:-1].transform(Z), y)
    np.testing.assert_allclose(disp.rho, ref.rho)
    assert list(disp.display_labels) == list(ref.display_labels)


def test_direct_construction_and_two_sources():
    disp = CorrelationMatrixDisplay(np.array([[0.9, 0.1], [0.2, 0.8]])).plot(
        values_format=".1f"
    )
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["0", "1"]
    assert [t.get_text() for t in disp.text_.ravel()] == ["0.9", "0.1", "0.2", "0.8"]
    Z, y = family_data()
    keep = np.isin(y, ["gan1", "vae1"])
    disp = CorrelationMatrixDisplay.from_predictions(Z[keep], y[keep], n_families=2)
    assert len(disp.family_patches_) == 2
