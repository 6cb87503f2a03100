"""phi trained image by image, then rho on bags (``phi_training="images"``)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skfingerprint import SetFingerprintEncoder, load, save
from skfingerprint.augment import RandomPostProcessing
from skfingerprint.encoder import (
    DeepSet,
    ImageCrossEntropyLoss,
    ImageSourceClassifier,
    PooledFeatureSet,
)
from skfingerprint.encoder import _estimator
from skfingerprint.encoder._sampling import FeatureBagDataset


def _tiny_deepset():
    torch.manual_seed(0)
    return DeepSet(in_channels=3, embedding_dim=8, channels=(4, 8), rho_hidden=16)


def test_image_classifier_scores_each_image_alone_and_the_loss_is_its_cross_entropy():
    classifier = ImageSourceClassifier(_tiny_deepset(), n_classes=3)
    x = torch.rand(4, 2, 8, 8, 3)
    logits = classifier(x)
    assert logits.shape == (4, 2, 3)
    # an image's scores do not depend on the other images of its bag
    torch.testing.assert_close(classifier(x[:, [1, 0]]), logits[:, [1, 0]])
    torch.testing.assert_close(classifier(x[:1, :1]), logits[:1, :1])
    y = torch.tensor([0, 2, 1, 2])
    expected = np.mean([
        -torch.log_softmax(logits[b, i].double(), 0)[y[b]].item()
        for b in range(4) for i in range(2)
    ])
    assert float(ImageCrossEntropyLoss()(logits, y).detach()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "sum", "mean_std"])
@pytest.mark.parametrize("items_per_image", [1, 3])
def test_pooled_feature_set_gives_the_deepsets_embeddings_from_per_image_sums(
        pooling, items_per_image):
    torch.manual_seed(0)
    deepset = DeepSet(in_channels=3, embedding_dim=8, channels=(4, 8), rho_hidden=16,
                      pooling=pooling).eval()
    k = 4
    x = torch.rand(5, k * items_per_image, 8, 8, 3)  # each image's items side by side
    with torch.no_grad():
        expected = deepset(x)
        feats = deepset.image_features(x).reshape(5, k, items_per_image, -1)
        rows = feats.sum(dim=2)
        if pooling == "mean_std":
            rows = torch.cat([rows, feats.square().sum(dim=2)], dim=2)
        module = PooledFeatureSet(deepset, items_per_image).eval()
        torch.testing.assert_close(module(rows), expected, rtol=1e-4, atol=1e-5)


def test_pooled_feature_set_averages_the_standardisation_over_every_batch():
    torch.manual_seed(0)
    deepset = DeepSet(in_channels=3, embedding_dim=8, channels=(4, 8), rho_hidden=16)
    module = PooledFeatureSet(deepset).train()
    batches = [torch.randn(6, 2, deepset.pooled_features) * s for s in (0.1, 0.2, 0.3)]
    for rows in batches:
        module(rows)
    pooled = [b.mean(dim=1) for b in batches]
    # the plain average of the batches' statistics: nothing of the initial
    # variance of 1 is left
    torch.testing.assert_close(deepset.bag_norm.running_mean,
                               torch.stack([p.mean(0) for p in pooled]).mean(0))
    torch.testing.assert_close(deepset.bag_norm.running_var,
                               torch.stack([p.var(0) for p in pooled]).mean(0))
    assert module.release() is deepset and deepset.bag_norm.momentum == 0.1


@pytest.fixture
def phi_after_first_stage(monkeypatch):
    """Records phi's weights when the per-image stage ends."""
    seen = []
    original = _estimator.SetFingerprintEncoder._train_phi_on_images

    def spy(self, module, *args, **kwargs):
        original(self, module, *args, **kwargs)
        seen.append({k: v.clone() for k, v in module.phi.state_dict().items()})

    monkeypatch.setattr(_estimator.SetFingerprintEncoder, "_train_phi_on_images", spy)
    return seen


def test_default_trains_phi_on_images_then_keeps_it_fixed(small_bags, phi_after_first_stage):
    X, y = small_bags
    enc = SetFingerprintEncoder(max_epochs=2, random_state=0).fit(X, y)
    assert enc.phi_training == "images"
    assert len(phi_after_first_stage) == 1
    # the bag stage left phi as the image stage made it
    final = enc._module.phi.state_dict()
    for name, value in phi_after_first_stage[0].items():
        torch.testing.assert_close(final[name], value)
    # the fitted encoder keeps the plain DeepSet
    assert type(enc._module) is DeepSet
    assert all(p.requires_grad for p in enc._module.parameters())
    # its standardisation of the pooled features has the scale of the
    # training bags' pooled features (not the initial variance of 1)
    bag_norm = enc._module.bag_norm
    assert bag_norm.momentum == 0.1
    pooled = enc._module.eval().pool(torch.from_numpy(np.array(X)))
    ratio = (bag_norm.running_var / pooled.var(dim=0)).detach().numpy()
    assert 0.3 < np.median(ratio) < 3
    # rho trained: the bag stage's loss went down
    losses = [h["train_loss"] for h in enc.net_.history]
    assert len(losses) == 2 and losses[-1] < losses[0]


def test_bags_trains_phi_end_to_end_and_max_epochs_zero_trains_nothing(
        small_bags, phi_after_first_stage):
    X, y = small_bags
    SetFingerprintEncoder(phi_training="bags", max_epochs=1, random_state=0).fit(X, y)
    SetFingerprintEncoder(max_epochs=0, random_state=0).fit(X, y)
    assert phi_after_first_stage == []


def test_phi_learns_to_tell_the_sources_image_by_image(small_bags, monkeypatch):
    X, y = small_bags
    losses = []

    class Spy(ImageCrossEntropyLoss):
        def __call__(self, logits, target):
            loss = super().__call__(logits, target)
            losses.append((tuple(logits.shape[1:]), float(loss.detach())))
            return loss

    monkeypatch.setattr(_estimator, "ImageCrossEntropyLoss", Spy)
    SetFingerprintEncoder(max_epochs=3, image_batch_size=16, random_state=0).fit(X, y)
    # bags of one image over the 4 sources; every image once an epoch, 16 a
    # step: 48 bags x 8 images / 16 = 24 steps an epoch
    assert {shape for shape, _ in losses} == {(1, 4)}
    assert len(X) * X.shape[1] == 384 and len(losses) == 3 * 24
    assert np.mean([v for _, v in losses[-24:]]) < np.mean([v for _, v in losses[:24]])


def test_patch_mode_scores_every_patch_of_an_image(monkeypatch, noise_bags_24px):
    X, y = noise_bags_24px
    shapes = []

    class Spy(ImageCrossEntropyLoss):
        def __call__(self, logits, target):
            shapes.append(tuple(logits.shape[1:]))
            return super().__call__(logits, target)

    monkeypatch.setattr(_estimator, "ImageCrossEntropyLoss", Spy)
    enc = SetFingerprintEncoder(patch_size=8, patches_per_image=3, max_epochs=1,
                                batch_size=8, random_state=0).fit(X, y)
    assert shapes and set(shapes) == {(3, 2)}
    assert enc.transform(X).shape == (8, 32)


def test_deterministic_with_random_state(small_bags):
    X, y = small_bags
    a = SetFingerprintEncoder(max_epochs=1, random_state=3).fit(X, y).transform(X)
    b = SetFingerprintEncoder(max_epochs=1, random_state=3).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, b)


def test_image_loss_weight_needs_end_to_end_training(small_bags):
    X, y = small_bags
    with pytest.raises(ValueError, match="phi_training='bags'"):
        SetFingerprintEncoder(image_loss_weight=1.0, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"phi_training": "pixels"}, "phi_training"),
    ({"image_batch_size": 0}, "image_batch_size"),
    ({"image_lr": -1.0}, "image_lr"),
])
def test_bad_parameters_are_clear_errors(small_bags, params, match):
    X, y = small_bags
    with pytest.raises(ValueError, match=match):
        SetFingerprintEncoder(max_epochs=1, **params).fit(X, y)


def test_round_trips_keep_the_parameters_and_the_fingerprints(small_bags, tmp_path):
    X, y = small_bags
    enc = SetFingerprintEncoder(max_epochs=1, image_batch_size=32, image_lr=0.002,
                                random_state=0).fit(X, y)
    expected = enc.transform(X)
    params = clone(enc).get_params()
    assert (params["phi_training"], params["image_batch_size"], params["image_lr"]) == (
        "images", 32, 0.002)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).transform(X), expected)
    save(enc, tmp_path / "m.skfp")
    loaded = load(tmp_path / "m.skfp")
    assert loaded.phi_training == "images"
    np.testing.assert_array_equal(loaded.transform(X), expected)


def test_model_saved_before_the_parameter_loads_as_bags_and_predicts_the_same(
        small_bags, tmp_path):
    X, y = small_bags
    enc = SetFingerprintEncoder(phi_training="bags", max_epochs=1, random_state=0).fit(X, y)
    expected = enc.transform(X)
    state = enc.__getstate__()
    for name in ("phi_training", "image_batch_size", "image_lr"):
        del state[name]  # what a file saved before they existed holds
    old = SetFingerprintEncoder.__new__(SetFingerprintEncoder)
    old.__setstate__(state)
    # such a model was trained end to end: refitting a clone trains it so again
    assert old.get_params()["phi_training"] == "bags"
    np.testing.assert_array_equal(old.transform(X), expected)
    save(old, tmp_path / "old.skfp")
    np.testing.assert_array_equal(load(tmp_path / "old.skfp").transform(X), expected)
    refit = clone(old).fit(X, y)
    np.testing.assert_array_equal(refit.transform(X), expected)


def test_interrupt_during_the_image_stage_leaves_the_encoder_unfitted(small_bags, monkeypatch):
    X, y = small_bags

    class Interrupt(ImageCrossEntropyLoss):
        def __call__(self, logits, target):
            raise KeyboardInterrupt

    monkeypatch.setattr(_estimator, "ImageCrossEntropyLoss", Interrupt)
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0)
    with pytest.raises(KeyboardInterrupt, match="first epoch of phi's per-image training"):
        enc.fit(X, y)
    assert not hasattr(enc, "net_")


def test_feature_bags_mix_augmented_and_clean_rows_in_a_share_of_their_own():
    n_bags, k = 50, 8
    augmented = np.ones((n_bags, k, 3), dtype=np.float32)
    clean = np.zeros_like(augmented)
    data = FeatureBagDataset(augmented, clean=clean)
    specs = [(b % 2, np.full(k, b), np.arange(k), (7, 0, 0, b)) for b in range(n_bags)]
    items = data.__getitems__(specs)
    assert [label for _, label in items] == [b % 2 for b in range(n_bags)]
    rows = np.stack([r for r, _ in items])
    assert rows.shape == (n_bags, k, 3)
    assert np.isin(rows, [0.0, 1.0]).all() and (rows == rows[..., :1]).all()  # whole rows
    shares = rows[..., 0].mean(axis=1)
    # bags from (almost) untouched to (almost) all augmented
    assert shares.min() <= 0.125 and shares.max() >= 0.875 and 0.3 < shares.mean() < 0.7
    # the same seed draws the same rows; a bag without a seed takes the augmented ones
    again = np.stack([r for r, _ in data.__getitems__(specs)])
    np.testing.assert_array_equal(again, rows)
    assert (data.__getitems__([specs[0][:3]])[0][0] == 1).all()
    assert (FeatureBagDataset(clean).__getitems__(specs[:1])[0][0] == 0).all()


def _tables_of_rhos_stage(monkeypatch):
    """Records the augmentation behind each table of phi's features that
    ``fit`` computes for rho's stage."""
    seen = []
    original = _estimator.SetFingerprintEncoder._image_features

    def spy(self, module, dataset, seed, augmentations):
        tables = original(self, module, dataset, seed, augmentations)
        seen.extend(zip(augmentations, tables))
        return tables

    monkeypatch.setattr(_estimator.SetFingerprintEncoder, "_image_features", spy)
    return seen


def test_rho_learns_from_clean_and_fully_augmented_features(small_bags, monkeypatch):
    X, y = small_bags
    seen = _tables_of_rhos_stage(monkeypatch)
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y)
    (full, augmented), (none, clean) = seen
    # "auto": every operation of the default post-processing, then the images as they are
    assert isinstance(full, RandomPostProcessing) and full.p == 1.0
    assert full.blur_sigma is None and full.resize_scale is None
    assert none is None and augmented.shape == clean.shape == (len(X), X.shape[1], 128)
    assert not np.allclose(augmented, clean)
    # the clean table is phi's features of the training images untouched
    module = enc._module.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.array(X[:2]))
        expected = module.image_features(x.reshape((-1, 1) + x.shape[2:]))
    np.testing.assert_allclose(clean[:2].reshape(-1, 128), expected.reshape(-1, 128),
                               rtol=1e-4, atol=1e-5)


def _darker(images, rng):
    return (images * 0.9).astype(images.dtype)


def test_rhos_stage_augments_at_full_strength_or_as_given(small_bags, monkeypatch):
    X, y = small_bags
    seen = _tables_of_rhos_stage(monkeypatch)
    given = RandomPostProcessing(p=0.3)
    SetFingerprintEncoder(max_epochs=1, augmentation=given, random_state=0).fit(X, y)
    # a RandomPostProcessing applies every operation (p=1); the given one is untouched
    assert seen[0][0].get_params() == {**given.get_params(), "p": 1.0}
    assert given.p == 0.3 and seen[1][0] is None
    seen.clear()
    SetFingerprintEncoder(max_epochs=1, augmentation=_darker, random_state=0).fit(X, y)
    assert [aug for aug, _ in seen] == [_darker, None]
    seen.clear()
    SetFingerprintEncoder(max_epochs=1, augmentation=None, random_state=0).fit(X, y)
    assert [aug for aug, _ in seen] == [None]
