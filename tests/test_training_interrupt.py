"""Interrupted fits (KeyboardInterrupt) and skorch checkpoints.

The interrupts are raised deterministically by a skorch callback, the way a
Ctrl-C reaches skorch's training loop.
"""

import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, LoadInitState

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.baselines import AttributionCNN
from skfingerprint.datasets import make_fingerprinted_images


class InterruptAt(Callback):
    """Raise KeyboardInterrupt at the end of ``epoch`` (or its first batch)."""

    def __init__(self, epoch, hook="on_epoch_end"):
        self.epoch = epoch
        self.hook = hook

    def _maybe_stop(self, net, hook):
        if hook == self.hook and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        self._maybe_stop(net, "on_epoch_end")

    def on_batch_end(self, net, **kwargs):
        self._maybe_stop(net, "on_batch_end")


@pytest.fixture(scope="module")
def bags():
    data = make_fingerprinted_images(n_models=3, n_images_per_model=32, image_size=8,
                                     random_state=0)
    return make_bags(data.images, data.labels, bag_size=4, random_state=0)


def _encoder(**kw):
    # end-to-end training unless told: one net, whose epochs the callbacks see
    kw = {"phi_training": "bags", **kw}
    return SetFingerprintEncoder(8, channels=(8, 16), rho_hidden=16, device="cpu",
                                 random_state=0, **kw)


def _cnn(**kw):
    return AttributionCNN(8, channels=(8,), device="cpu", random_state=0, **kw)


@pytest.mark.parametrize("make", [_encoder, _cnn], ids=["encoder", "cnn"])
def test_interrupt_after_an_epoch_keeps_a_usable_estimator(make, bags):
    X, y = bags
    est = make(max_epochs=5, callbacks=[InterruptAt(2)])
    name = type(est).__name__
    with pytest.warns(UserWarning, match=(
            rf"Training interrupted after epoch 2 of 5 \(KeyboardInterrupt\); {name} "
            "uses the weights of the last completed epoch")):
        est.fit(X, y)
    history = est.net_.history
    assert len(history) == 2
    assert all("train_loss" in row for row in history)
    Z = est.transform(X)
    assert Z.shape == (len(X), 8) and np.isfinite(Z).all()
    # the same weights as a fit of 2 epochs: training is deterministic
    two = make(max_epochs=2).fit(X, y)
    np.testing.assert_allclose(Z, two.transform(X), rtol=1e-5, atol=1e-6)
    if name == "SetFingerprintEncoder":
        np.testing.assert_allclose(est.fingerprints_, two.fingerprints_, rtol=1e-5,
                                   atol=1e-6)


def test_interrupt_in_phis_per_image_stage_goes_on_with_rho(bags, monkeypatch):
    from skorch.callbacks import EpochTimer

    original = EpochTimer.on_epoch_begin
    nets = []

    def on_epoch_begin(self, net, **kwargs):
        original(self, net, **kwargs)
        if len(net.history) == 3 and not nets:  # the first net: phi's stage
            nets.append(net)
            raise KeyboardInterrupt

    monkeypatch.setattr(EpochTimer, "on_epoch_begin", on_epoch_begin)
    est = _encoder(max_epochs=4, phi_training="images")
    with pytest.warns(UserWarning, match=(
            r"Training interrupted after epoch 2 of 4 of phi's per-image training "
            r"\(KeyboardInterrupt\), which keeps the weights of the last completed epoch; "
            "SetFingerprintEncoder goes on")):
        est.fit(X := bags[0], bags[1])
    # rho's stage then ran all its epochs
    assert len(est.net_.history) == 4 and np.isfinite(est.transform(X)).all()


def test_interrupt_inside_an_epoch_uses_the_last_batch(bags):
    X, y = bags
    est = _encoder(max_epochs=5, batch_size=6, callbacks=[InterruptAt(3, "on_batch_end")])
    with pytest.warns(UserWarning, match=(
            r"interrupted during epoch 3 of 5, after 2 complete epoch\(s\).*"
            "weights of the last completed batch")):
        est.fit(X, y)
    history = est.net_.history
    assert len(history) == 3 and "train_loss" not in history[-1]
    assert len(history[-1]["batches"]) == 1
    assert np.isfinite(est.transform(X)).all()
    assert np.isfinite(est.fingerprints_).all()


@pytest.mark.parametrize("make", [_encoder, _cnn], ids=["encoder", "cnn"])
def test_interrupt_before_the_first_epoch_ends_propagates(make, bags):
    X, y = bags
    est = make(max_epochs=3, callbacks=[InterruptAt(1, "on_batch_end")])
    with pytest.raises(KeyboardInterrupt, match="during its first epoch; nothing was"):
        est.fit(X, y)
    assert not hasattr(est, "net_")
    with pytest.raises(NotFittedError):
        est.transform(X)
    # a fitted estimator interrupted in its first epoch of a refit is unfitted too
    est = make(max_epochs=1).fit(X, y)
    est.set_params(callbacks=[InterruptAt(1, "on_batch_end")])
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.transform(X)


def test_interrupt_during_transform_propagates(bags):
    X, y = bags
    est = _encoder(max_epochs=1).fit(X, y)
    expected = est.transform(X)

    def hook(module, args):
        raise KeyboardInterrupt

    handle = est.net_.module_.register_forward_pre_hook(hook)
    try:
        with pytest.raises(KeyboardInterrupt):
            est.transform(X)
    finally:
        handle.remove()
    np.testing.assert_array_equal(est.transform(X), expected)  # still intact


def test_early_stopping_is_not_reported_as_an_interrupt(bags):
    X, y = bags
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=1e9, sink=print)
    est = _encoder(max_epochs=10, callbacks=[stop])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        est.fit(X, y)
    assert len(est.net_.history) == 2  # epoch 2 did not improve by 1e9
    assert np.isfinite(est.transform(X)).all()


def test_complete_fit_gives_no_warning(bags):
    X, y = bags
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        est = _encoder(max_epochs=2).fit(X, y)
    assert len(est.net_.history) == 2


# ---------------------------------------------------------------- checkpoints
def test_checkpoint_of_the_best_training_loss(bags, tmp_path):
    X, y = bags
    cp = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path), f_criterion=None,
                    load_best=True)
    est = _encoder(max_epochs=3, callbacks=[cp])
    # the callbacks parameter survives clone (a copy) and pickling, unfitted
    twin = clone(est)
    assert twin.callbacks[0] is not cp
    assert twin.callbacks[0].dirname == str(tmp_path)
    assert pickle.loads(pickle.dumps(twin)).get_params()["callbacks"][0].monitor == (
        "train_loss_best")
    est.fit(X, y)
    assert {"params.pt", "optimizer.pt", "history.json"} <= set(os.listdir(tmp_path))
    losses = est.net_.history[:, "train_loss"]
    saved = est.net_.history[:, "event_cp"]
    assert saved[0] and saved == [loss == min(losses[: i + 1]) for i, loss in
                                  enumerate(losses)]
    # fitted: pickles with its callbacks and transforms the same after loading
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    assert isinstance(clone(est).callbacks[0], Checkpoint)


def test_load_init_state_resumes_from_the_checkpoint(bags, tmp_path):
    X, y = bags
    # monitor=None: saved after every epoch (a "best loss" monitor would make
    # the resumed length depend on whether the last epoch improved the loss)
    cp = Checkpoint(monitor=None, dirname=str(tmp_path), f_criterion=None)
    est = _encoder(max_epochs=2, callbacks=[cp, LoadInitState(cp)])
    est.fit(X, y)
    assert len(est.net_.history) == 2
    est.fit(X, y)  # starts from the saved state: history continues
    assert len(est.net_.history) == 4
    # an interrupt of the resumed fit counts the epochs of that fit only
    est.set_params(max_epochs=3, callbacks=[cp, LoadInitState(cp), InterruptAt(5)])
    with pytest.warns(UserWarning, match="after epoch 1 of 3"):
        est.fit(X, y)


def test_checkpoint_that_would_load_the_criterion_is_refused(bags, tmp_path):
    X, y = bags
    est = _encoder(max_epochs=1, callbacks=[Checkpoint(dirname=str(tmp_path),
                                                       load_best=True)])
    with pytest.raises(ValueError, match="f_criterion=None"):
        est.fit(X, y)
    # AttributionCNN's loss is a torch module: its criterion file loads
    cnn = _cnn(max_epochs=1, callbacks=[Checkpoint(dirname=str(tmp_path / "cnn"),
                                                   monitor="train_loss_best",
                                                   load_best=True)])
    cnn.fit(X, y)
    assert "criterion.pt" in os.listdir(tmp_path / "cnn")
