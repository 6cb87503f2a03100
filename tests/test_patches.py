"""Patch mode: aligned crops in the bag data model, used by the encoder."""

import os
import pickle

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone

from skfingerprint import SetFingerprintEncoder, load, make_bags, save
from skfingerprint._bags import check_bags, check_patch_settings
from skfingerprint._patches import PATCH_ALIGN, aligned_offsets, grid_offsets

TINY = dict(embedding_dim=4, channels=(4, 8), rho_hidden=8, max_epochs=1,
            device="cpu", random_state=0)


def _coords_image(h, w):
    """An image whose pixel (y, x) stores y in channel 0 and x in channel 1."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([yy, xx, np.zeros_like(yy)], axis=-1).astype(np.float32) / 255.0


def _offsets(patches):
    """(y, x) of the top-left pixel of each patch of a coordinates image."""
    return [(round(p[0, 0, 0] * 255), round(p[0, 0, 1] * 255)) for p in patches]


def test_training_crops_are_aligned_random_and_fresh():
    spec = check_patch_settings(16, 6)
    image = _coords_image(100, 90)
    rng = np.random.default_rng(0)
    first, second = spec.crops(image, rng), spec.crops(image, rng)
    for y, x in _offsets(first) + _offsets(second):
        assert y % PATCH_ALIGN == 0 and x % PATCH_ALIGN == 0
        assert y + 16 <= 100 and x + 16 <= 90
    assert _offsets(first) != _offsets(second)  # drawn afresh
    assert len(set(_offsets(first))) == 6  # distinct while the image has enough


def test_transform_grid_is_deterministic_spread_and_aligned():
    spec = check_patch_settings((16, 24), 4)
    image = _coords_image(96, 120)
    a, b = spec.crops(image), spec.crops(image)
    np.testing.assert_array_equal(a, b)
    offs = _offsets(a)
    assert offs == [(0, 0), (0, 96), (80, 0), (80, 96)]  # the corners of 96x120
    assert all(y % 8 == 0 and x % 8 == 0 for y, x in offs)


def test_grid_repeats_when_the_image_has_few_positions():
    oy, ox = grid_offsets(aligned_offsets(16, 16), aligned_offsets(24, 16), 5)
    assert list(zip(oy.tolist(), ox.tolist())) == [(0, 0), (0, 8), (0, 0), (0, 8), (0, 0)]


def test_mixed_sizes_in_one_bag_of_arrays():
    spec = check_patch_settings(8, 3)
    bags = check_bags([[np.zeros((8, 8, 3), np.uint8), np.ones((20, 33, 3), np.uint8)]],
                      patch=spec)
    assert bags.kind == "images" and bags.items_per_image == 3
    out = bags.take([0], [[0, 1]])
    assert out.shape == (1, 6, 8, 8, 3) and out.dtype == np.uint8
    assert (out[0, :3] == 0).all() and (out[0, 3:] == 1).all()  # image by image


def test_mixed_sizes_without_patch_mode_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="ragged.*patch mode"):
        check_bags([[np.zeros((8, 8, 3)), np.zeros((9, 8, 3))]])


def _write(root, name, size, seed):
    path = os.path.join(root, name)
    rng = np.random.RandomState(seed)
    Image.fromarray(rng.randint(0, 256, size + (3,)).astype(np.uint8)).save(path)
    return path


def test_path_bags_of_mixed_sizes_and_the_small_image_error(tmp_path):
    paths = [_write(tmp_path, f"{i}.png", s, i)
             for i, s in enumerate([(24, 40), (16, 16), (33, 17), (40, 24)])]
    X = np.array(paths, dtype=object).reshape(2, 2)
    y = np.array(["a", "b"])
    enc = SetFingerprintEncoder(patch_size=16, patches_per_image=2, **TINY)
    Z = enc.fit(np.concatenate([X, X]), np.r_[y, y]).transform(X)
    assert Z.shape == (2, 4) and np.isfinite(Z).all()
    assert enc.input_shape_ == (16, 16, 3)
    small = _write(tmp_path, "small.png", (12, 30), 9)
    with pytest.raises(ValueError, match=r"small\.png.*12x30.*smaller than patch_size"):
        enc.transform(np.array([[paths[0], small]], dtype=object))


def test_patch_mode_is_deterministic_and_fit_transform_equals_transform(small_bags):
    X, y = small_bags
    params = dict(TINY, max_epochs=2, patch_size=8, patches_per_image=3)
    a = SetFingerprintEncoder(**params)
    Za = a.fit_transform(X, y)
    Zb = SetFingerprintEncoder(**params).fit(X, y).transform(X)
    np.testing.assert_array_equal(Za, Zb)
    np.testing.assert_allclose(a.transform(X), Za, rtol=1e-5, atol=1e-6)


def test_bag_size_one_on_large_images_is_a_set_of_patches():
    rng = np.random.RandomState(0)
    X = (rng.rand(8, 1, 40, 40, 3) * 255).astype(np.uint8)
    y = np.repeat(["a", "b"], 4)
    enc = SetFingerprintEncoder(patch_size=16, patches_per_image=5, **TINY).fit(X, y)
    assert enc.transform(X).shape == (8, 4)


def test_patch_settings_survive_clone_pickle_and_the_safe_format(small_bags, tmp_path):
    X, y = small_bags
    enc = SetFingerprintEncoder(patch_size=(8, 8), patches_per_image=2, **TINY).fit(X, y)
    assert clone(enc).get_params()["patch_size"] == (8, 8)
    Z = enc.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).transform(X), Z)
    save(enc, tmp_path / "m.skfp")
    back = load(tmp_path / "m.skfp")
    assert back.patch_size == (8, 8) and back.patches_per_image == 2
    np.testing.assert_array_equal(back.transform(X), Z)


def test_other_image_size_outside_patch_mode_is_refused(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on images of size \(16, 16\).*patch_size"):
        enc.transform(np.zeros((2, 2, 32, 32, 3), np.uint8))
    patched = SetFingerprintEncoder(patch_size=8, **TINY).fit(X, y)
    assert patched.transform(np.zeros((2, 2, 32, 24, 3), np.uint8)).shape == (2, 4)


def test_patch_size_and_image_size_exclude_each_other(small_bags):
    with pytest.raises(ValueError, match="patch_size.*image_size.*exclude"):
        SetFingerprintEncoder(patch_size=8, image_size=16, **TINY).fit(*small_bags)


def test_pipeline_fit_decodes_each_training_image_once_per_epoch_plus_once(
    tmp_path, monkeypatch
):
    """fit_transform reuses fit's fingerprints: no second decoding pass."""
    import skfingerprint._bags as bags_module
    from sklearn.neighbors import NearestCentroid
    from sklearn.pipeline import Pipeline

    paths = np.array([_write(tmp_path, f"{i}.png", (16, 16), i) for i in range(8)])
    X, y = make_bags(paths, np.repeat(["a", "b"], 4), bag_size=2, random_state=0)
    reads = []
    real = bags_module.read_image
    monkeypatch.setattr(bags_module, "read_image",
                        lambda p, **kw: reads.append(p) or real(p, **kw))
    epochs = 2
    for phi_training, passes in (("bags", epochs + 1), ("images", epochs + 2)):
        reads.clear()
        Pipeline([("fp", SetFingerprintEncoder(**dict(TINY, max_epochs=epochs,
                                                      phi_training=phi_training))),
                  ("clf", NearestCentroid())]).fit(X, y)
        counts = np.unique(reads, return_counts=True)[1]
        # one header read of the first file by check_bags, then a pass per
        # epoch and one for the fingerprints; phi's per-image training reads
        # every image once more, for the features rho trains on
        assert sorted(counts.tolist()) == [passes] * 7 + [passes + 1]


def test_auto_augmentation_is_post_processing_for_images(small_bags):
    from skfingerprint.augment import RandomPostProcessing

    X, y = small_bags[0][:16], small_bags[1][:16]
    patch = dict(TINY, patch_size=8, patches_per_image=2)

    def fit(**kw):
        return SetFingerprintEncoder(**kw).fit(X, y).transform(X)

    jpeg_and_noise = RandomPostProcessing(resize_scale=None, blur_sigma=None)
    np.testing.assert_array_equal(fit(**patch), fit(**patch, augmentation=jpeg_and_noise))
    assert not np.array_equal(fit(**patch), fit(**patch, augmentation=None))
    # whole images too: JPEG and noise, no blur, no resizing
    np.testing.assert_array_equal(fit(**TINY), fit(**TINY, augmentation=jpeg_and_noise))
    assert not np.array_equal(fit(**TINY), fit(**TINY, augmentation=None))


def test_auto_augmentation_leaves_scalar_items_alone():
    rng = np.random.RandomState(0)
    X = rng.rand(12, 4)
    y = np.repeat(["a", "b", "c"], 4)

    def fit(**kw):
        return SetFingerprintEncoder(max_epochs=2, random_state=0, **kw).fit(X, y).transform(X)

    np.testing.assert_array_equal(fit(), fit(augmentation=None))


@pytest.mark.parametrize("name", ["PRNUFingerprint", "SpectrumFingerprint", "AttributionCNN"])
def test_baselines_take_the_same_patch_mode(name):
    from skfingerprint import baselines

    rng = np.random.RandomState(0)
    X = (rng.rand(8, 2, 40, 40, 3) * 255).astype(np.uint8)
    y = np.repeat(["a", "b"], 4)
    kw = dict(feature_dim=4, channels=(4,), max_epochs=1, random_state=0) \
        if name == "AttributionCNN" else {}
    est = getattr(baselines, name)(patch_size=16, patches_per_image=3, **kw).fit(X, y)
    Z = est.transform(X)
    np.testing.assert_array_equal(est.transform(X), Z)  # deterministic grid
    mixed = est.transform([[X[0, 0], X[0, 1][:20, :30]]])  # mixed sizes in one bag
    assert mixed.shape == (1, Z.shape[1]) and np.isfinite(mixed).all()
    with pytest.raises(ValueError, match="smaller than patch_size"):
        est.transform([[X[0, 0][:8]]])


# ---------------------------------------------------------------- patch_size="auto"
def test_auto_patch_size_rule():
    from skfingerprint._patches import auto_patch_size

    assert auto_patch_size([(32, 32)] * 3) is None  # one size, at most 64: whole
    assert auto_patch_size([(64, 48)] * 2) is None
    assert auto_patch_size([(65, 65)] * 2) == 64  # too large for whole images
    assert auto_patch_size([(16, 16), (300, 400)]) == 16  # mixed: smallest side
    assert auto_patch_size([(21, 90), (300, 400)]) == 16  # aligned down to 8
    assert auto_patch_size([(120, 90), (300, 400)]) == 64
    with pytest.raises(ValueError, match=r"thin\.png has size 1x500.*at least 8x8.*Leave it"):
        auto_patch_size([(32, 32), (1, 500)], names=["a.png", "thin.png"])


def test_patch_size_auto_is_resolved_once_in_fit(tmp_path):
    from skfingerprint.baselines import PRNUFingerprint

    rng = np.random.RandomState(0)
    uniform = (rng.rand(4, 2, 16, 16, 3) * 255).astype(np.uint8)
    prnu = PRNUFingerprint(patch_size="auto").fit(uniform)
    assert prnu.patch_size_ is None and prnu.image_shape_ == (16, 16, 3)
    assert prnu.patch_size == "auto"  # the parameter is left as it was given
    mixed = [[np.zeros((24, 40, 3), np.uint8), np.zeros((17, 30, 3), np.uint8)]] * 2
    prnu.fit(mixed)
    assert prnu.patch_size_ == (16, 16) and prnu.image_shape_ == (16, 16, 3)
    # transform keeps the patch chosen in fit, whatever the new images
    assert prnu.transform([[np.zeros((80, 80, 3), np.uint8)]]).shape == (1, 16 * 16 * 3)
    paths = [_write(tmp_path, f"{i}.png", s, i) for i, s in enumerate([(90, 70), (70, 90)])]
    enc = SetFingerprintEncoder(patch_size="auto", patches_per_image=2, **TINY)
    enc.fit(np.array(paths * 2, dtype=object).reshape(2, 2)[[0, 1, 0, 1]],
            ["a", "b", "a", "b"])
    assert enc.patch_size_ == (64, 64) and enc.input_shape_ == (64, 64, 3)
    assert enc.transform(np.array([paths], dtype=object)).shape == (1, 4)


def test_an_image_too_small_for_auto_patches_is_named_not_cropped_to_one_pixel():
    """Issue 40: one 1x500 image made the command line choose patch_size=1."""
    X = [[np.zeros((32, 32, 3), np.uint8), np.zeros((1, 500, 3), np.uint8)]] * 2
    with pytest.raises(ValueError, match=r"X\[0\]\[1\] has size 1x500.*at least 8x8"):
        SetFingerprintEncoder(patch_size="auto", **TINY).fit(X, ["a", "b"])


def test_smaller_than_the_patch_names_the_bag_and_the_image(tmp_path):
    """Issue 40: arrays said 'size 24x0 ... at most (24, 0)', with no position."""
    spec = check_patch_settings(8, 2)
    with pytest.raises(ValueError, match="empty images") as exc:
        check_bags(np.zeros((2, 3, 24, 0, 3), np.uint8), patch=spec)
    assert "at most" not in str(exc.value)
    with pytest.raises(ValueError, match=r"X\[0\]\[0\] \(every image of X has this "
                                         r"size\) has size 4x24.*at least 8x8") as exc:
        check_bags(np.zeros((2, 3, 4, 24, 3), np.uint8), patch=spec)
    assert "at most" not in str(exc.value)
    with pytest.raises(ValueError, match=r"X\[1\]\[0\] has size 12x30.*at most \(8, 24\)"):
        check_bags([[np.zeros((16, 16, 3))], [np.zeros((12, 30, 3))]],
                   patch=check_patch_settings(16, 2))
    big, small = _write(tmp_path, "big.png", (40, 40), 0), _write(tmp_path, "s.png", (12, 30), 1)
    bags = check_bags(np.array([[big], [small]], dtype=object), patch=check_patch_settings(16, 2))
    with pytest.raises(ValueError, match=r"s\.png' \(X\[1\]\[0\]: bag 1, image 0\) has size 12x30"):
        bags.take([0, 1], [[0], [0]])


def test_patch_size_and_image_size_exclude_each_other_also_with_auto():
    for patch in (8, "auto"):
        with pytest.raises(ValueError, match="exclude each other"):
            check_patch_settings(patch, 2, image_size=(16, 16))
