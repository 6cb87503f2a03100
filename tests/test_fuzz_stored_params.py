"""Stored parameters and fitted attributes of model files are bounded (issue 40).

A model file is untrusted input: whatever numbers it stores, ``load`` either
refuses it with a ValueError naming the value, or returns a model that reads
an image into a bounded number of values (the bounds of
docs/guide/persistence.md) and whose answers are finite.  The files are
crafted by setting attributes of fitted models of every kind the command
line saves (a Pipeline of a SetFingerprintEncoder, in patch mode or on whole
images, with its augmentation, and a NearestFingerprintClassifier, closed or
open set) to random values, huge, negative, zero, NaN, infinite or of the
wrong type, and saving them.

The default suite runs a bounded number of examples; set
``SKFINGERPRINT_FUZZ_EXAMPLES`` (and optionally ``SKFINGERPRINT_FUZZ_SEED``)
for a longer run.
"""

import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from skfingerprint import SetFingerprintEncoder, load, make_bags, save
from skfingerprint._persistence import (
    MAX_CHUNK_SIZE,
    MAX_PATCHES_PER_IMAGE,
    MAX_PIXELS_PER_IMAGE,
)
from skfingerprint.augment import RandomPostProcessing
from skfingerprint.baselines import SpectrumFingerprint
from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.datasets import make_fingerprinted_images

pytest.importorskip("skops")

N_EXAMPLES = int(os.environ.get("SKFINGERPRINT_FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("SKFINGERPRINT_FUZZ_SEED", "0"))
FAST = dict(embedding_dim=4, channels=(4,), rho_hidden=8, max_epochs=1, batch_size=4,
            device="cpu", random_state=0, num_workers=0)


def _bags(image_size):
    data = make_fingerprinted_images(n_models=2, n_images_per_model=12,
                                     image_size=image_size, random_state=0)
    return make_bags(data.images, data.labels, bag_size=2, random_state=0)


def _fit(tmp_path_factory, name, encoder, classifier, image_size):
    X, y = _bags(image_size)
    model = Pipeline([("fingerprint", encoder), ("classify", classifier)]).fit(X, y)
    path = tmp_path_factory.mktemp("stored") / f"{name}.skfp"
    save(model, path)
    return str(path), X


class _Saved(dict):
    def __repr__(self):  # keep Hypothesis' reports short
        return "<saved models>"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The kinds of model the command line saves, each fitted and saved once."""
    return _Saved({
        "whole": _fit(tmp_path_factory, "whole",
                      SetFingerprintEncoder(image_size=8, bag_size=2, **FAST,
                                            augmentation=RandomPostProcessing(
                                                resize_scale=None)),
                      NearestFingerprintClassifier(), 8),
        "patch": _fit(tmp_path_factory, "patch",
                      SetFingerprintEncoder(patch_size=8, patches_per_image=2, bag_size=2,
                                            **FAST, augmentation=None),
                      NearestFingerprintClassifier(
                          reject_threshold="auto", false_rejection_rate=0.2,
                          rejection_score="mahalanobis"), 16),
    })


def _targets(model):
    """(step, name) of every stored parameter and fitted attribute."""
    out = []
    steps = {"pipeline": model, **dict(model.steps)}
    aug = model.steps[0][1].augmentation
    if aug is not None:
        steps["augmentation"] = aug
    for step, est in steps.items():
        names = set(est.get_params(deep=False))
        names |= {k for k in vars(est) if k.endswith("_") and not k.startswith("_")
                  and k != "net_"}
        out += [(step, name) for name in sorted(names)]
    return out


def _step(model, step):
    if step == "pipeline":
        return model
    if step == "augmentation":
        return model.steps[0][1].augmentation
    return dict(model.steps)[step]


HOSTILE = st.one_of(
    st.sampled_from([0, -1, 1, 2, 20000, 10**9, 2**31, 2**63, 2**70, -(2**40),
                     0.0, -0.5, 1e-300, 1e300, math.nan, math.inf, -math.inf,
                     True, None, "x", "", (20000, 20000), (8, 8), [1, 2, 3],
                     (0, 8), (8, -8), (math.nan, 8), {"a": 1}]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _as_stored(value, current):
    """``value`` in the form of the current one (an array stays an array)."""
    if isinstance(current, np.ndarray) and not isinstance(value, (str, dict, type(None))):
        try:
            return np.full(current.shape, value, dtype=current.dtype)
        except (TypeError, ValueError, OverflowError):
            return value
    return value


def _pixels(size):
    if size is None:
        return 0
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    return int(h) * int(w)


def _assert_bounded(model):
    enc = model.steps[0][1]
    if enc.patch_size is not None:
        per_image = enc.patches_per_image * _pixels(enc.patch_size)
        assert 1 <= enc.patches_per_image <= MAX_PATCHES_PER_IMAGE
    else:
        per_image = _pixels(enc.image_size)
    assert per_image <= MAX_PIXELS_PER_IMAGE
    assert 1 <= enc.chunk_size <= MAX_CHUNK_SIZE
    for name in ("temperature_", "embedding_scale_"):
        for est in model.steps:
            value = getattr(est[1], name, 1.0)
            assert math.isfinite(value) and value > 0, (name, value)
    threshold = model.steps[-1][1].threshold_
    assert not math.isnan(threshold) and threshold > -math.inf


def _assert_answers(model, X):
    """Finite answers (or a ValueError/TypeError for input the model cannot read)."""
    try:
        proba = model.predict_proba(X)
        model.predict(X)
    except (ValueError, TypeError):
        return
    assert np.isfinite(proba).all()


@seed(SEED)
@settings(max_examples=N_EXAMPLES, deadline=None,
          derandomize="SKFINGERPRINT_FUZZ_SEED" not in os.environ
          and "SKFINGERPRINT_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(["whole", "patch"]), value=HOSTILE)
def test_stored_values_are_bounded_or_refused(saved, tmp_path, data, kind, value):
    source, X = saved[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load(source)
    step, name = data.draw(st.sampled_from(_targets(model)), label="target")
    est = _step(model, step)
    setattr(est, name, _as_stored(value, getattr(est, name, None)))
    path = tmp_path / "crafted.skfp"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save(model, path)
    except TypeError:  # skops cannot write it: no such file can be crafted this way
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = load(path)
    except (ValueError, TypeError) as exc:
        assert str(exc).startswith(f"Cannot load {str(path)!r}"), exc
        return
    _assert_bounded(again)
    _assert_answers(again, X)


@pytest.mark.parametrize("kind, step, name, value, match", [
    ("patch", "fingerprint", "patches_per_image", 20000,
     r"stores SetFingerprintEncoder\(patches_per_image=20000\); at most 4096"),
    ("patch", "fingerprint", "patches_per_image", 10**9, "patches_per_image"),
    ("whole", "fingerprint", "image_size", (20000, 20000), "image_size"),
    ("whole", "fingerprint", "image_size", 20000, "image_size"),
    ("patch", "fingerprint", "patch_size", 8000, "patch_size"),
    ("whole", "fingerprint", "chunk_size", 10**9, "chunk_size"),
    ("whole", "fingerprint", "embedding_scale_", math.nan, "embedding_scale_"),
    ("whole", "fingerprint", "embedding_scale_", 0.0, "embedding_scale_"),
    ("whole", "classify", "threshold_", -math.inf, "threshold_"),
    ("whole", "classify", "threshold_", math.nan, "threshold_"),
    ("whole", "classify", "temperature_", 0.0, "temperature_"),
    ("whole", "classify", "temperature_", math.nan, "temperature_"),
    ("whole", "classify", "temperature_", "hot", "temperature_"),
    ("patch", "classify", "fingerprints_", math.nan, "fingerprints_"),
])
def test_out_of_range_stored_values_are_refused(saved, tmp_path, kind, step, name, value,
                                                match):
    source, _ = saved[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load(source)
    est = _step(model, step)
    setattr(est, name, _as_stored(value, getattr(est, name)))
    path = tmp_path / "crafted.skfp"
    save(model, path)
    with pytest.raises(ValueError, match=match) as info:
        load(path)
    assert str(info.value).startswith(f"Cannot load {str(path)!r}")
    assert "Traceback" not in str(info.value)


def test_closed_set_threshold_of_infinity_still_loads(saved):
    model = load(saved["whole"][0])
    assert model.steps[-1][1].threshold_ == math.inf  # closed set: never unknown


def test_stored_nan_weights_are_refused(saved, tmp_path):
    model = load(saved["whole"][0])
    enc = model.steps[0][1]
    with np.errstate(invalid="ignore"):
        next(iter(enc._module.parameters())).data.fill_(float("nan"))
    path = tmp_path / "nan.skfp"
    save(model, path)
    with pytest.raises(ValueError, match="not finite"):
        load(path)


@pytest.mark.parametrize("make", [
    lambda: SetFingerprintEncoder(patch_size="auto", max_epochs=1, random_state=0),
    lambda: SpectrumFingerprint(patch_size="auto"),
], ids=["encoder", "spectrum"])
def test_models_with_auto_patches_load(tmp_path, make):
    """The bounds read ``patch_size="auto"`` as the patch fit chose (``patch_size_``):
    such models load, unfitted and fitted, and transform the same."""
    unfitted = make()
    save(unfitted, tmp_path / "unfitted.skfp")
    assert load(tmp_path / "unfitted.skfp").get_params() == unfitted.get_params()
    X, y = _bags(72)  # images over 64 pixels: "auto" takes patches
    fitted = make().fit(X, y)
    assert fitted.patch_size_ is not None
    save(fitted, tmp_path / "fitted.skfp")
    again = load(tmp_path / "fitted.skfp")
    assert again.patch_size_ == fitted.patch_size_
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
