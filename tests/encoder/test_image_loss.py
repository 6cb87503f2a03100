"""The per-image term of the end-to-end training loss (``image_loss_weight``,
with ``phi_training="bags"``)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skfingerprint import SetFingerprintEncoder, load, save
from skfingerprint.encoder import (
    DeepSet,
    ImageSupervisedSet,
    SetContrastiveLoss,
    image_cross_entropy,
    set_contrastive_loss,
)


def _brute_force_image_ce(logits, y):
    """Mean over every image of -log softmax(logits)[its bag's source], in loops."""
    losses = []
    for b in range(logits.shape[0]):
        for i in range(logits.shape[1]):
            row = logits[b, i].astype(np.float64)
            log_z = np.log(np.sum(np.exp(row - row.max()))) + row.max()
            losses.append(log_z - row[y[b]])
    return float(np.mean(losses))


@pytest.mark.parametrize("seed", range(4))
def test_image_cross_entropy_matches_brute_force(seed):
    rng = np.random.RandomState(seed)
    logits = rng.normal(scale=2.0, size=(5, 3, 4)).astype(np.float32)
    y = rng.randint(0, 4, size=5)
    got = float(image_cross_entropy(torch.tensor(logits), torch.tensor(y)))
    assert got == pytest.approx(_brute_force_image_ce(logits, y), rel=1e-5)


@pytest.mark.parametrize("weight", [0.0, 0.5, 2.0])
def test_criterion_adds_the_weighted_image_term(weight):
    rng = np.random.RandomState(0)
    z = torch.tensor(rng.normal(size=(6, 4)), dtype=torch.float32, requires_grad=True)
    logits = torch.tensor(rng.normal(size=(6, 5, 3)), dtype=torch.float32,
                          requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = SetContrastiveLoss(image_weight=weight)((z, logits), y)
    expected = float(set_contrastive_loss(z.detach(), y)) + weight * _brute_force_image_ce(
        logits.detach().numpy(), y.numpy())
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    # the scores get a gradient exactly when their term counts
    assert (logits.grad is not None and bool(logits.grad.abs().sum() > 0)) == (weight > 0)
    assert "image_weight" in repr(SetContrastiveLoss(image_weight=weight)) or weight == 0


def test_image_cross_entropy_rejects_bad_shapes():
    with pytest.raises(ValueError, match="n_bags, bag_size, n_classes"):
        image_cross_entropy(torch.zeros(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        image_cross_entropy(torch.zeros(4, 2, 3), torch.zeros(3))


def test_image_supervised_set_scores_every_image_in_training_only():
    deepset = DeepSet(in_channels=3, embedding_dim=8, channels=(4, 8), rho_hidden=16)
    module = ImageSupervisedSet(deepset, n_classes=5)
    x = torch.rand(3, 4, 8, 8, 3)
    module.train()
    z, logits = module(x)
    assert z.shape == (3, 8) and logits.shape == (3, 4, 5)
    # the scores come from each image alone: permuting a bag permutes them
    _, permuted = module(x[:, [2, 0, 3, 1]])
    torch.testing.assert_close(permuted, logits[:, [2, 0, 3, 1]])
    module.eval()
    with torch.no_grad():
        torch.testing.assert_close(module(x), deepset(x))


def test_weight_zero_is_the_plain_set_encoder(small_bags):
    X, y = small_bags
    plain = SetFingerprintEncoder(phi_training="bags", image_loss_weight=0.0, max_epochs=2, random_state=0)
    plain.fit(X, y)
    assert type(plain._module) is DeepSet
    with_head = SetFingerprintEncoder(phi_training="bags", image_loss_weight=1.0, max_epochs=2, random_state=0)
    with_head.fit(X, y)
    # the head is training-only: the fitted encoder keeps the DeepSet alone
    assert type(with_head._module) is DeepSet
    assert set(plain._module.state_dict()) == set(with_head._module.state_dict())
    assert not np.allclose(plain.transform(X), with_head.transform(X))
    # the history shows the larger loss of the added term
    first = [h["train_loss"] for h in (plain.net_.history[0], with_head.net_.history[0])]
    assert first[1] > first[0]


def test_image_loss_in_patch_mode_scores_every_patch(monkeypatch, noise_bags_24px):
    from skfingerprint.encoder import _estimator

    X, y = noise_bags_24px
    seen = []

    class Spy(SetContrastiveLoss):
        def __call__(self, z, y):
            seen.append(tuple(z[1].shape))
            return super().__call__(z, y)

    monkeypatch.setattr(_estimator, "SetContrastiveLoss", Spy)
    SetFingerprintEncoder(phi_training="bags", image_loss_weight=1.0, patch_size=8, patches_per_image=3,
                          max_epochs=1, batch_size=8, random_state=0).fit(X, y)
    # every bag's 2 images x 3 patches are scored over the 2 sources
    assert seen and all(shape[1:] == (6, 2) for shape in seen)


def test_negative_weight_is_a_clear_error(small_bags):
    X, y = small_bags
    with pytest.raises(ValueError, match="image_loss_weight"):
        SetFingerprintEncoder(phi_training="bags", image_loss_weight=-0.5, max_epochs=1).fit(X, y)


def test_round_trips_keep_the_weight_and_the_fingerprints(small_bags, tmp_path):
    X, y = small_bags
    enc = SetFingerprintEncoder(phi_training="bags", image_loss_weight=0.5, max_epochs=1, random_state=0)
    enc.fit(X, y)
    expected = enc.transform(X)
    assert clone(enc).get_params()["image_loss_weight"] == 0.5
    again = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(again.transform(X), expected)
    save(enc, tmp_path / "m.skfp")
    loaded = load(tmp_path / "m.skfp")
    assert loaded.image_loss_weight == 0.5
    np.testing.assert_array_equal(loaded.transform(X), expected)


def test_model_saved_before_the_parameter_loads_and_predicts_the_same(small_bags, tmp_path):
    X, y = small_bags
    enc = SetFingerprintEncoder(phi_training="bags", image_loss_weight=0.0, max_epochs=1, random_state=0)
    enc.fit(X, y)
    expected = enc.transform(X)
    state = enc.__getstate__()
    del state["image_loss_weight"]  # what a file saved before it existed holds
    old = SetFingerprintEncoder.__new__(SetFingerprintEncoder)
    old.__setstate__(state)
    assert old.get_params()["image_loss_weight"] == 0.0
    np.testing.assert_array_equal(old.transform(X), expected)
    save(old, tmp_path / "old.skfp")
    np.testing.assert_array_equal(load(tmp_path / "old.skfp").transform(X), expected)
