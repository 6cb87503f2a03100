"""Rendering tests of FamilyDendrogramDisplay."""

import numpy as np
import pytest
from matplotlib.colors import same_color
from sklearn.decomposition import PCA

from skfingerprint.cluster import family_linkage, fingerprint_distances
from skfingerprint.visualization import CorrelationMatrixDisplay, FamilyDendrogramDisplay

FAMILIES = {
    "gan1": "GAN", "gan2": "GAN", "gan3": "GAN",
    "vae1": "VAE", "vae2": "VAE",
    "flow1": "Flow",
}


def family_data(seed=0, n_bags=5, n_features=32):
    rng = np.random.RandomState(seed)
    fam = {f: rng.normal(size=n_features) for f in ("GAN", "VAE", "Flow")}
    names = list(FAMILIES)
    centers = np.array([fam[FAMILIES[s]] + 0.4 * rng.normal(size=n_features) for s in names])
    idx = np.repeat(np.arange(len(names)), n_bags)
    Z = centers[idx] + 0.4 * rng.normal(size=(idx.size, n_features))
    return Z, np.asarray(names)[idx]


def n_links(ax):
    """Number of drawn U-shaped links (4 points each) in the axes' collections."""
    return sum(len(c.get_segments()) for c in ax.collections)


def test_from_predictions_leaves_links_and_family_colours():
    Z, y = family_data()
    disp = FamilyDendrogramDisplay.from_predictions(Z, y, families=FAMILIES)
    ax = disp.ax_
    leaves = disp.dendrogram_["ivl"]
    assert sorted(leaves) == sorted(FAMILIES)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == leaves  # orientation="left": leaf names on the y axis
    assert n_links(ax) == len(FAMILIES) - 1
    assert disp.linkage_matrix.shape == (len(FAMILIES) - 1, 4)
    assert ax.get_xlabel().startswith("distance") and ax.get_ylabel() == "Source"

    # Leaf labels coloured by family: same family same colour, else different.
    colors = {t.get_text(): t.get_color() for t in ax.get_yticklabels()}
    for a in FAMILIES:
        for b in FAMILIES:
            same = same_color(colors[a], colors[b])
            assert same == (FAMILIES[a] == FAMILIES[b])
            assert same_color(disp.leaf_colors_[a], colors[a])
    legend = [t.get_text() for t in disp.legend_.get_texts()]
    assert sorted(legend) == ["Flow", "GAN", "VAE"]

    # Each family is one subtree: its leaves are contiguous.
    fams = [FAMILIES[s] for s in leaves]
    assert sum(a != b for a, b in zip(fams, fams[1:])) == 2


def test_same_leaf_order_as_the_correlation_matrix():
    Z, y = family_data(seed=1)
    dendro = FamilyDendrogramDisplay.from_predictions(Z, y)
    matrix = CorrelationMatrixDisplay.from_predictions(Z, y)
    assert dendro.dendrogram_["ivl"] == list(matrix.display_labels)
    assert dendro.legend_ is None and dendro.leaf_colors_ == {}


def test_top_orientation_and_linkage_heights():
    Z, y = family_data(seed=2)
    disp = FamilyDendrogramDisplay.from_predictions(Z, y, orientation="top", legend=False)
    ax = disp.ax_
    assert ax.get_xlabel() == "Source"
    assert len(ax.get_xticklabels()) == len(FAMILIES)
    # The root's height is the average distance between the two last clusters.
    D = fingerprint_distances(Z, y)
    heights = np.sort(disp.linkage_matrix[:, 2])
    assert heights[-1] <= D.max() + 1e-12 and heights[0] >= D[D > 0].min() - 1e-12
    assert max(max(d) for d in disp.dendrogram_["dcoord"]) == pytest.approx(heights[-1])


def test_from_estimator_and_errors():
    Z, y = family_data(seed=3)
    pca = PCA(n_components=6).fit(Z)
    disp = FamilyDendrogramDisplay.from_estimator(pca, Z, y, families=FAMILIES)
    ref = FamilyDendrogramDisplay.from_predictions(pca.transform(Z), y)
    np.testing.assert_allclose(disp.linkage_matrix, ref.linkage_matrix)
    with pytest.raises(ValueError, match="at least 2 sources"):
        FamilyDendrogramDisplay.from_predictions(Z[y == "gan1"], y[y == "gan1"])


def test_link_colours():
    Z, y = family_data(seed=4)
    # With families, links are one neutral colour; colours are for families.
    disp = FamilyDendrogramDisplay.from_predictions(Z, y, families=FAMILIES)
    assert set(disp.dendrogram_["color_list"]) == {"0.35"}
    # A colour threshold brings SciPy's cluster colours back.
    disp = FamilyDendrogramDisplay.from_predictions(
        Z, y, families=FAMILIES, color_threshold=0.5
    )
    assert len(set(disp.dendrogram_["color_list"])) > 1


def scale_families(seed=0):
    """Two families whose fingerprints differ only in scale (see
    tests/cluster/test_families.py): only the Euclidean metric parts them."""
    rng = np.random.RandomState(seed)
    pattern = rng.normal(size=32)
    scales = {"g1": 1.0, "g2": 1.1, "v1": 4.0, "v2": 4.2}
    y = np.repeat(list(scales), 8)
    Z = np.array([scales[s] * pattern for s in y]) + 0.05 * rng.normal(size=(y.size, 32))
    return Z, y


def test_euclidean_metric_draws_the_euclidean_linkage():
    Z, y = scale_families()
    disp = FamilyDendrogramDisplay.from_predictions(Z, y, metric="euclidean")
    D = fingerprint_distances(Z, y, metric="euclidean")
    np.testing.assert_allclose(disp.linkage_matrix, family_linkage(D))
    assert disp.metric == "euclidean"
    assert disp.ax_.get_xlabel() == "mean Euclidean distance"
    # the two scale families are the root's two subtrees
    leaves = disp.dendrogram_["ivl"]
    assert {frozenset(leaves[:2]), frozenset(leaves[2:])} == {
        frozenset({"g1", "g2"}), frozenset({"v1", "v2"})}
    # the correlation (the default) draws another tree, named as such
    corr = FamilyDendrogramDisplay.from_predictions(Z, y)
    assert corr.ax_.get_xlabel().startswith("distance (1 - mean |correlation|")
    assert not np.allclose(corr.linkage_matrix[:, 2], disp.linkage_matrix[:, 2])
    # from_estimator hands the metric on
    pca = PCA(n_components=4).fit(Z)
    est = FamilyDendrogramDisplay.from_estimator(pca, Z, y, metric="euclidean")
    ref = FamilyDendrogramDisplay.from_predictions(pca.transform(Z), y, metric="euclidean")
    np.testing.assert_allclose(est.linkage_matrix, ref.linkage_matrix)
    # a linkage of unnamed distances
    plain = FamilyDendrogramDisplay(disp.linkage_matrix, metric=None).plot()
    assert plain.ax_.get_xlabel() == "distance"


def test_correlation_matrix_orders_and_clusters_in_the_given_metric():
    Z, y = scale_families(seed=1)
    disp = CorrelationMatrixDisplay.from_predictions(
        Z, y, n_families=2, metric="euclidean")
    # the heatmap is the correlation whatever the metric; only the order and
    # the found families follow the metric
    assert disp.rho.min() > 0.9
    found = dict(zip(disp.display_labels, disp.families))
    assert found["g1"] == found["g2"] != found["v1"] == found["v2"]
    order = FamilyDendrogramDisplay.from_predictions(Z, y, metric="euclidean")
    assert list(disp.display_labels) == order.dendrogram_["ivl"]
    by_corr = CorrelationMatrixDisplay.from_predictions(Z, y, n_families=2)
    found = dict(zip(by_corr.display_labels, by_corr.families))
    assert not (found["g1"] == found["g2"] != found["v1"] == found["v2"])


@pytest.mark.parametrize("display", [FamilyDendrogramDisplay, CorrelationMatrixDisplay])
def test_unknown_metric_is_a_clear_error(display):
    Z, y = family_data()
    with pytest.raises(ValueError, match="metric"):
        display.from_predictions(Z, y, metric="cosine")
    if display is FamilyDendrogramDisplay:  # constructed directly, checked when drawn
        link = FamilyDendrogramDisplay.from_predictions(Z, y).linkage_matrix
        with pytest.raises(ValueError, match="metric must be one of"):
            FamilyDendrogramDisplay(link, metric="cosine").plot()
