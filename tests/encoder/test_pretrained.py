"""Shipped pretrained weights: ``SetFingerprintEncoder(weights=...)``,
``max_epochs=0``, the files in the package and the script that made them."""

import hashlib
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from skfingerprint import SetFingerprintEncoder, load, make_bags, save
from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.cli import main
from skfingerprint.cluster import NearestRelatives
from skfingerprint.datasets import make_fingerprinted_images
from skfingerprint.encoder import DeepSet, available_weights
from skfingerprint.encoder import _weights

from cli_helpers import FIT, last_error, make_tree

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def bags():
    data = make_fingerprinted_images(n_models=3, n_images_per_model=48, image_size=16,
                                     random_state=0)
    return make_bags(data.images, data.labels, bag_size=8, random_state=0)


# the newest shipped weights, which "pretrained" names
NEWEST = "artifacts-v2"
SHIPPED = ("artifacts-v1", "artifacts-v2")


def _shipped_deepset(name=NEWEST):
    """The DeepSet of the shipped weights, loaded by hand (no estimator)."""
    meta = json.load(open(os.path.join(_weights._DIR, f"{name}.json")))
    module = DeepSet(**meta["architecture"])
    with np.load(os.path.join(_weights._DIR, f"{name}.npz"), allow_pickle=False) as z:
        module.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files})
    return module.eval()


@pytest.mark.parametrize("name", SHIPPED)
def test_the_package_ships_versioned_weights_without_pickle(name):
    names = available_weights()
    assert names["pretrained"]["alias_of"] == NEWEST
    assert names[name]["architecture"]["channels"] == [16, 32, 64]
    npz = os.path.join(_weights._DIR, f"{name}.npz")
    assert os.path.getsize(npz) <= 5 * 2**20
    meta = json.load(open(npz[:-4] + ".json"))
    with open(npz, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == meta["sha256"]
    # plain arrays: the file loads with pickle refused
    with np.load(npz, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    assert meta["script"].startswith("python -m benchmarks.pretrain")
    assert meta["recipe"]["name"] == name


def test_an_earlier_version_stays_usable_by_its_name(bags):
    """``weights="artifacts-v1"`` still starts from v1 after v2 became the
    newest (results made with it can be reproduced)."""
    X, y = bags
    enc = SetFingerprintEncoder(weights="artifacts-v1", max_epochs=0).fit(X, y)
    assert enc.weights_ == "artifacts-v1"
    with torch.inference_mode():
        raw = _shipped_deepset("artifacts-v1")(torch.from_numpy(X)).numpy()
        newest = _shipped_deepset()(torch.from_numpy(X)).numpy()
    assert not np.allclose(raw, newest)
    expected = (raw - enc.embedding_center_) / enc.embedding_scale_
    np.testing.assert_allclose(enc.transform(X), expected, rtol=1e-5, atol=1e-5)


def test_shipped_architecture_is_the_default_encoders():
    """The defaults and the weights stay in step: the recipe builds the
    default encoder's DeepSet, which is what the shipped file holds."""
    from benchmarks.pretrain import _architecture

    for name in SHIPPED:
        assert available_weights()[name]["architecture"] == _architecture()


def test_each_shipped_recipe_is_kept_in_the_script():
    """``python -m benchmarks.pretrain --recipe NAME`` reruns the recipe that
    made the shipped weights NAME (keys added later take the value that
    reproduces it)."""
    from benchmarks.pretrain import RECIPES

    for name in (n for n in available_weights() if n != "pretrained"):
        recipe = json.load(open(os.path.join(_weights._DIR, f"{name}.json")))["recipe"]
        script = RECIPES[name]
        assert {k: script[k] for k in recipe} == recipe
        assert script.get("trained_share", 0.0) == recipe.get("trained_share", 0.0)


def test_import_reads_no_weights():
    code = ("import skfingerprint, skfingerprint.encoder._weights as w, sys; "
            "sys.exit(w._read_meta.cache_info().currsize)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_zero_shot_uses_the_shipped_space_as_is(bags):
    X, y = bags
    enc = SetFingerprintEncoder(weights="pretrained", max_epochs=0, random_state=0).fit(X, y)
    assert enc.weights_ == NEWEST
    assert len(enc.net_.history) == 0
    with torch.inference_mode():
        raw = _shipped_deepset()(torch.from_numpy(X)).numpy()
    expected = (raw - enc.embedding_center_) / enc.embedding_scale_
    np.testing.assert_allclose(enc.transform(X), expected, rtol=1e-5, atol=1e-5)
    # the same for any random_state: nothing random happens
    other = SetFingerprintEncoder(weights="pretrained", max_epochs=0, random_state=7)
    np.testing.assert_array_equal(other.fit(X, y).transform(X), enc.transform(X))


def test_fine_tuning_starts_from_the_weights(bags):
    from skorch.callbacks import Callback

    class Grab(Callback):
        def on_train_begin(self, net, **kwargs):
            self.state = {k: v.clone() for k, v in net.module_.state_dict().items()}

    X, y = bags
    grab = Grab()
    enc = SetFingerprintEncoder(weights="pretrained", max_epochs=1, random_state=0,
                                phi_training="bags", callbacks=[grab]).fit(X, y)
    shipped = _shipped_deepset().state_dict()
    for k, v in shipped.items():
        torch.testing.assert_close(grab.state[k], v)
    moved = [k for k, v in enc._module.state_dict().items()
             if v.dtype.is_floating_point and not torch.equal(v, shipped[k])]
    assert moved  # and then it trains


def test_fine_tuning_image_by_image_starts_phi_from_the_weights(bags, monkeypatch):
    from skfingerprint.encoder import _estimator

    seen = []
    original = _estimator.SetFingerprintEncoder._train_phi_on_images

    def spy(self, module, *args, **kwargs):
        seen.append({k: v.clone() for k, v in module.state_dict().items()})
        original(self, module, *args, **kwargs)

    monkeypatch.setattr(_estimator.SetFingerprintEncoder, "_train_phi_on_images", spy)
    X, y = bags
    enc = SetFingerprintEncoder(weights="pretrained", max_epochs=1, random_state=0).fit(X, y)
    shipped = _shipped_deepset().state_dict()
    assert len(seen) == 1
    for k, v in shipped.items():
        torch.testing.assert_close(seen[0][k], v)
    assert not torch.equal(enc._module.phi.features[0].weight,
                           shipped["phi.features.0.weight"])


def test_zero_shot_works_wherever_an_encoder_does(bags):
    X, y = bags
    pipe = make_pipeline(SetFingerprintEncoder(weights="pretrained", max_epochs=0),
                         NearestFingerprintClassifier()).fit(X, y)
    assert pipe.predict(X).shape == y.shape
    rel = NearestRelatives(SetFingerprintEncoder(weights="pretrained", max_epochs=0),
                           metric="euclidean").fit(X, y)
    assert rel.pairwise_source_distances_.shape == (3, 3)


def test_round_trips_keep_the_outputs(bags, tmp_path):
    X, y = bags
    enc = SetFingerprintEncoder(weights="pretrained", max_epochs=0).fit(X, y)
    assert clone(enc).get_params()["weights"] == "pretrained"
    Z = enc.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).transform(X), Z)
    save(enc, tmp_path / "m.skfp")
    again = load(tmp_path / "m.skfp")
    np.testing.assert_array_equal(again.transform(X), Z)
    assert again.weights_ == NEWEST


def test_unknown_weights_name_lists_what_exists(bags):
    X, y = bags
    with pytest.raises(ValueError, match=r"'imagenet'.*artifacts-v1.*artifacts-v2.*pretrained"):
        SetFingerprintEncoder(weights="imagenet", max_epochs=0).fit(X, y)
    with pytest.raises(TypeError, match="weights"):
        SetFingerprintEncoder(weights=3).fit(X, y)


@pytest.mark.parametrize("params, message", [
    ({"embedding_dim": 16}, "embedding_dim=16"),
    ({"channels": (8, 16)}, r"channels=\[8, 16\]"),
    ({"pooling": "mean_std"}, "pooling='mean_std'"),
    ({"embedding_radius": None}, "embedding_radius=None"),
    ({"front_end": "image_and_residual"}, "front_end='image_and_residual'"),
])
def test_weights_that_do_not_fit_the_architecture_are_refused(bags, params, message):
    X, y = bags
    with pytest.raises(ValueError, match=message):
        SetFingerprintEncoder(weights="pretrained", max_epochs=0, **params).fit(X, y)


def test_grey_images_are_refused_with_the_fix(bags):
    X, y = bags
    with pytest.raises(ValueError, match="channel.*RGB"):
        SetFingerprintEncoder(weights="pretrained", max_epochs=0).fit(X[..., :1], y)


def test_max_epochs_zero_without_weights_keeps_the_initial_weights(bags):
    X, y = bags
    a = SetFingerprintEncoder(max_epochs=0, random_state=0).fit(X, y)
    b = SetFingerprintEncoder(max_epochs=1, random_state=0, lr=1e-12,
                              image_lr=1e-12).fit(X, y)
    assert len(a.net_.history) == 0 and a.weights_ is None
    for (k, v), w in zip(a._module.state_dict().items(), b._module.state_dict().values()):
        if v.dtype.is_floating_point and "running" not in k:
            torch.testing.assert_close(v, w)


def test_cli_fit_pretrained_zero_epochs(tmp_path, capsys):
    root = make_tree(tmp_path / "tree", n=6, size=16)
    model = str(tmp_path / "model.skfp")
    at = FIT.index("--epochs")
    argv = FIT[:at] + FIT[at + 2:]
    assert main(["fit", root, *argv, "--pretrained", "--epochs", "0", "-o", model]) == 0
    enc = load(model).steps[0][1]
    assert enc.weights_ == NEWEST and len(enc.net_.history) == 0
    assert main(["fit", root, *argv, "--weights", "nope", "-o", model, "--force"]) == 2
    assert NEWEST in last_error(capsys)
    assert main(["fit", root, *argv, "--epochs", "0", "-o", model, "--force"]) == 2
    assert "--pretrained" in last_error(capsys)


def test_the_pretraining_script_runs_in_a_tiny_configuration(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.pretrain", "--tiny",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr[-2000:]
    meta = json.load(open(tmp_path / "tiny.json"))
    module = DeepSet(**meta["architecture"])
    with np.load(tmp_path / "tiny.npz", allow_pickle=False) as z:
        state = {k: torch.from_numpy(z[k]) for k in z.files}
    module.load_state_dict(state)  # the layout of the library's DeepSet
    assert meta["loss_curve"][-1][0] == meta["recipe"]["steps"]
    assert 0.0 <= meta["heldout_accuracy"]["accuracy"] <= 1.0


def test_model_saved_before_weights_existed_loads_and_predicts_the_same(bags, tmp_path):
    X, y = bags
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y)
    expected = enc.transform(X)
    state = enc.__getstate__()
    del state["weights"], state["weights_"]  # what a file saved before they existed holds
    old = SetFingerprintEncoder.__new__(SetFingerprintEncoder)
    old.__setstate__(state)
    assert old.get_params()["weights"] is None and old.weights_ is None
    np.testing.assert_array_equal(old.transform(X), expected)
    save(old, tmp_path / "old.skfp")
    np.testing.assert_array_equal(load(tmp_path / "old.skfp").transform(X), expected)
