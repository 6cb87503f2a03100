import numpy as np
import pytest

from skfingerprint.datasets import make_fingerprinted_images


def test_shapes_labels_and_families():
    data = make_fingerprinted_images(n_models=6, n_families=3, n_images_per_model=5,
                                     image_size=12, include_real=True, random_state=0)
    assert data.images.shape == (35, 12, 12, 3) and data.images.dtype == np.uint8
    assert sorted(set(data.labels)) == sorted(data.sources)
    assert data.families["real"] == "real"
    assert sorted(set(data.families.values())) == ["A", "B", "C", "real"]
    assert "SYNTHETIC" in data.DESCR


def test_family_members_share_part_of_their_artifact():
    data = make_fingerprinted_images(n_models=4, n_images_per_model=2,
                                     family_share=0.8, random_state=0)
    art = {k: v.ravel() for k, v in data.artifacts.items()}
    same = np.corrcoef(art["A1"], art["A2"])[0, 1]
    other = abs(np.corrcoef(art["A1"], art["B1"])[0, 1])
    assert same > 0.6 and other < 0.3


def test_strength_controls_the_artifact():
    weak = make_fingerprinted_images(n_models=2, n_images_per_model=1, strength=0.01,
                                     random_state=0)
    strong = make_fingerprinted_images(n_models=2, n_images_per_model=1,
                                       strength=0.04, random_state=0)
    assert strong.artifacts["A1"].std() == pytest.approx(4 * weak.artifacts["A1"].std())
    assert weak.artifacts["A1"].std() == pytest.approx(0.01 * 255, rel=1e-3)


def test_deterministic():
    a = make_fingerprinted_images(n_models=2, n_images_per_model=3, random_state=4)
    b = make_fingerprinted_images(n_models=2, n_images_per_model=3, random_state=4)
    np.testing.assert_array_equal(a.images, b.images)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_models=0), "n_models"),
        (dict(n_models=2, n_families=3), "n_families"),
        (dict(image_size=2), "image_size"),
        (dict(strength=-1.0), "strength"),
        (dict(family_share=2.0), "family_share"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_fingerprinted_images(**kwargs)


def test_same_bunch_fields_as_every_dataset():
    from skfingerprint.datasets import make_fingerprinted_images

    data = make_fingerprinted_images(n_models=4, n_images_per_model=3, image_size=8,
                                     include_real=True, random_state=0)
    assert isinstance(data.sources, np.ndarray) and data.sources.tolist()[-1] == "real"
    assert data.labels.dtype.kind == "U"
    assert data.families == {"A1": "A", "A2": "A", "B1": "B", "B2": "B", "real": "real"}
    assert data.lineage["B2"] == ("B", "B2") and data.lineage["real"] == ("real",)
    X, y = make_fingerprinted_images(n_models=4, n_images_per_model=3, image_size=8,
                                     include_real=True, random_state=0, return_X_y=True)
    np.testing.assert_array_equal(X, data.images)
    np.testing.assert_array_equal(y, data.labels)
