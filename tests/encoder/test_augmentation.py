"""SetFingerprintEncoder(augmentation=...): post-processed training bags."""

import numpy as np
import pytest
from sklearn.base import clone

from skfingerprint import SetFingerprintEncoder, load, save
from skfingerprint.augment import RandomPostProcessing

FAST = dict(max_epochs=2, random_state=0)


class CountingAugmentation:
    """Records the bags it sees; adds a constant (a visible change)."""

    def __init__(self):
        self.calls = []

    def __call__(self, images, rng):
        self.calls.append((images.shape, images.dtype, int(rng.integers(1 << 30))))
        return np.clip(images.astype(np.int16) + 7, 0, 255).astype(images.dtype)


def test_augmentation_is_applied_in_fit_only(small_bags):
    X, y = small_bags
    aug = CountingAugmentation()
    enc = SetFingerprintEncoder(augmentation=aug, phi_training="bags", **FAST).fit(X, y)
    assert enc.augmentation is aug  # stored unchanged
    n_bags = len(aug.calls)
    assert n_bags == 2 * len(X)  # every bag, every epoch
    assert {c[:2] for c in aug.calls} == {(X.shape[1:], np.dtype(np.uint8))}
    # a fresh generator per bag and epoch
    assert len({c[2] for c in aug.calls}) == n_bags
    enc.transform(X)
    assert len(aug.calls) == n_bags  # never in transform
    plain = SetFingerprintEncoder(**FAST).fit(X, y)
    assert not np.allclose(plain.transform(X), enc.transform(X))


def test_images_are_augmented_in_both_stages_of_phi_training_images(small_bags):
    X, y = small_bags
    aug = CountingAugmentation()
    SetFingerprintEncoder(augmentation=aug, **FAST).fit(X, y)
    n_images = X.shape[0] * X.shape[1]
    # phi's per-image stage sees every image every epoch, one at a time; rho's
    # stage, the features of every image computed once, from one more draw
    assert len(aug.calls) == 2 * n_images + n_images
    assert {c[:2] for c in aug.calls} == {((1,) + X.shape[2:], np.dtype(np.uint8))}
    assert len({c[2] for c in aug.calls}) == len(aug.calls)


def test_deterministic_with_random_post_processing(small_bags):
    X, y = small_bags
    aug = RandomPostProcessing(p=0.8)
    Z1 = SetFingerprintEncoder(augmentation=aug, **FAST).fit_transform(X, y)
    Z2 = SetFingerprintEncoder(augmentation=clone(aug), **FAST).fit_transform(X, y)
    np.testing.assert_array_equal(Z1, Z2)
    other = SetFingerprintEncoder(augmentation=aug, max_epochs=2, random_state=1)
    assert not np.allclose(other.fit_transform(X, y), Z1)


def test_same_augmentation_in_dataloader_workers(small_bags):
    X, y = small_bags

    def aug(images, rng):
        return RandomPostProcessing(p=1.0)(images, rng)

    Z0 = SetFingerprintEncoder(augmentation=aug, max_epochs=1, random_state=0).fit_transform(X, y)
    Z2 = SetFingerprintEncoder(augmentation=aug, max_epochs=1, num_workers=2,
                               random_state=0).fit_transform(X, y)
    np.testing.assert_allclose(Z0, Z2, rtol=1e-5, atol=1e-5)


def test_float_bags_get_float_images(small_bags):
    X, y = small_bags
    aug = CountingAugmentation()
    with pytest.raises(ValueError, match="shape and dtype"):
        # float32 images come in; returning another dtype is refused
        SetFingerprintEncoder(augmentation=lambda x, rng: x.astype(np.float64),
                              **FAST).fit(X / 255.0, y)
    SetFingerprintEncoder(augmentation=aug, max_epochs=1, random_state=0).fit(X / 255.0, y)
    assert {c[1] for c in aug.calls} == {np.dtype(np.float32)}
    SetFingerprintEncoder(augmentation=RandomPostProcessing(), max_epochs=1,
                          random_state=0).fit(X / 255.0, y)


def test_bad_augmentation(small_bags):
    X, y = small_bags
    with pytest.raises(ValueError, match="augmentation.*callable"):
        SetFingerprintEncoder(augmentation="jpeg", **FAST).fit(X, y)
    for phi_training in ("images", "bags"):
        with pytest.raises(ValueError, match="shape and dtype"):
            SetFingerprintEncoder(augmentation=lambda x, rng: x[..., :1],
                                  phi_training=phi_training, **FAST).fit(X, y)


def test_clone_pickle_and_safe_save_round_trip(small_bags, tmp_path):
    X, y = small_bags
    aug = RandomPostProcessing(jpeg_quality=(70, 95), blur_sigma=None, p=0.6)
    enc = SetFingerprintEncoder(augmentation=aug, **FAST).fit(X, y)
    c = clone(enc)
    assert c.augmentation is not aug
    assert c.augmentation.get_params() == aug.get_params()
    assert enc.get_params()["augmentation__p"] == 0.6  # tunable in a grid
    path = tmp_path / "enc.skfp"
    save(enc, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.transform(X), enc.transform(X))
    assert isinstance(loaded.augmentation, RandomPostProcessing)
    assert loaded.augmentation.get_params() == aug.get_params()
    # the loaded encoder refits identically
    np.testing.assert_array_equal(
        clone(loaded).fit_transform(X, y), clone(enc).fit_transform(X, y)
    )


def test_library_augmentation_runs_in_threads_with_the_same_result(small_bags):
    from skfingerprint._bags import check_bags
    from skfingerprint.encoder._sampling import BagSpecDataset

    X, _ = small_bags
    bags = check_bags(X)
    rng = np.random.default_rng(0)
    k = X.shape[1]
    # (label, the bag of each item, the item in that bag, seed)
    specs = [(0, np.full(k, b), rng.permutation(k), 100 + b) for b in range(8)]
    aug = RandomPostProcessing(resize_scale=None, p=1.0)
    one = BagSpecDataset(bags, augmentation=aug, augment_threads=1)
    four = BagSpecDataset(bags, augmentation=aug, augment_threads=4)
    assert four.augment_threads == 4
    for (a, la), (b, lb) in zip(one.__getitems__(specs), four.__getitems__(specs)):
        np.testing.assert_array_equal(a, b)
        assert la == lb
    # a callable of the user's is never called from two threads at once
    assert BagSpecDataset(bags, augmentation=CountingAugmentation(),
                          augment_threads=4).augment_threads == 1


@pytest.mark.parametrize("augmentation", ["auto", None])
def test_reading_ahead_in_a_thread_changes_no_result(small_bags, monkeypatch, augmentation):
    import torch

    from skfingerprint.encoder import _estimator

    X, y = small_bags

    def fit():
        enc = SetFingerprintEncoder(augmentation=augmentation, **FAST).fit(X, y)
        return enc.transform(X), enc.net_.history[:, "train_loss"]

    ahead = fit()
    monkeypatch.setattr(_estimator, "ReadAheadLoader", torch.utils.data.DataLoader)
    plain = fit()
    np.testing.assert_array_equal(ahead[0], plain[0])
    assert ahead[1] == plain[1]


def test_an_error_preparing_a_batch_is_raised_by_fit(small_bags):
    X, y = small_bags

    def broken(images, rng):
        raise RuntimeError("cannot augment this bag")

    with pytest.raises(RuntimeError, match="cannot augment this bag"):
        SetFingerprintEncoder(augmentation=broken, **FAST).fit(X, y)


@pytest.mark.parametrize("patch", [None, (8, 8)])
def test_variants_give_each_augmentation_the_images_of_its_own_dataset(
        noise_bags_24px, patch):
    # variants reads (and crops) each bag once; every augmentation must see
    # what a dataset with that augmentation alone gives, whatever the others
    from skfingerprint._bags import check_bags
    from skfingerprint._patches import PatchSpec
    from skfingerprint.encoder._sampling import BagSpecDataset

    X, _ = noise_bags_24px
    bags = check_bags(X, patch=None if patch is None else PatchSpec(patch, 3))
    specs = [(0, np.full(2, b), np.array([1, 0]), 7 + b) for b in range(6)]
    strong = RandomPostProcessing(resize_scale=None, p=1.0)
    weak = RandomPostProcessing(resize_scale=None, blur_sigma=None, p=0.5)
    augmentations = (strong, None, weak)
    variants = BagSpecDataset(bags).variants(specs, augmentations)
    assert len(variants) == 3
    for augmentation, got in zip(augmentations, variants):
        alone = BagSpecDataset(bags, augmentation=augmentation).__getitems__(specs)
        for (want, _), images in zip(alone, got):
            np.testing.assert_array_equal(images, want)
    # the augmentations did draw, and differently
    assert not np.array_equal(variants[0][0], variants[1][0])
    assert not np.array_equal(variants[0][0], variants[2][0])
