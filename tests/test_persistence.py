"""Safe persistence: skfingerprint._persistence.save / load."""

import hashlib
import importlib
import inspect
import io
import json
import os
import pickle
import pkgutil
import stat
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

import skfingerprint
from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint import _persistence
from skfingerprint._persistence import load, save, trusted_types
from skfingerprint.datasets import make_fingerprinted_images

pytest.importorskip("skops")

FAST = dict(
    embedding_dim=4, channels=(4,), full_res_layers=1, rho_hidden=8,
    max_epochs=1, batch_size=4, device="cpu", random_state=0,
)


@pytest.fixture(scope="module")
def tiny():
    data = make_fingerprinted_images(
        n_models=2, n_images_per_model=16, image_size=8, random_state=0
    )
    X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
    X.setflags(write=False)
    enc = SetFingerprintEncoder(**FAST).fit(X, y)
    return X, y, enc


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _read_members(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("meta.json")), zf.read("model.skops")


def _write_members(path, meta, payload, *, fix_digest=True):
    meta = dict(meta)
    if fix_digest:
        meta["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    with open(path, "wb") as f:
        _persistence._write_envelope(f, json.dumps(meta).encode(), payload)


class _MarkerOnUnpickle:
    """Unpickling it creates a folder: the stand-in for an attacker's code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


class _PickleInDisguise:
    """Mimics skorch: its state is a pickle that ``__setstate__`` unpickles."""

    def __init__(self, marker=None):
        self.module_ = pickle.dumps(_MarkerOnUnpickle(marker))

    def __getstate__(self):
        return {"module_": self.module_}

    def __setstate__(self, state):
        self.module_ = pickle.loads(state["module_"])


class _AddOne(TransformerMixin, BaseEstimator):
    """A user's own (plain-data) transformer, not trusted by default."""

    def fit(self, X, y=None):
        self.offset_ = np.ones(np.shape(X)[1])
        return self

    def transform(self, X):
        return np.asarray(X) + self.offset_


# ---------------------------------------------------------------- round trips
def test_encoder_round_trip(tiny, tmp_path):
    X, y, enc = tiny
    path = tmp_path / "enc.skfp"
    before = enc.transform(X)
    save(enc, path)
    # saving neither changes the model nor its output
    np.testing.assert_array_equal(enc.transform(X), before)
    again = load(path)
    assert type(again) is SetFingerprintEncoder
    np.testing.assert_array_equal(again.transform(X), before)
    np.testing.assert_array_equal(again.classes_, enc.classes_)
    np.testing.assert_array_equal(again.fingerprints_, enc.fingerprints_)
    assert again.get_params() == enc.get_params()
    assert len(again.net_.history) == len(enc.net_.history) == 1
    # loading does not touch the file
    digest, mtime = _sha(path), os.stat(path).st_mtime_ns
    load(str(path))
    assert _sha(path) == digest and os.stat(path).st_mtime_ns == mtime


def test_unfitted_encoder_round_trip(tmp_path):
    enc = SetFingerprintEncoder(embedding_dim=3, channels=(2, 4))
    save(enc, tmp_path / "unfitted.skfp")
    again = load(tmp_path / "unfitted.skfp")
    assert again.get_params() == enc.get_params()
    assert not hasattr(again, "net_")


def _nearest_fingerprint():
    from skfingerprint.classifiers import NearestFingerprintClassifier

    return NearestFingerprintClassifier()


@pytest.mark.parametrize(
    "clf",
    [_nearest_fingerprint(),
     MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0),
     NearestCentroid(), LogisticRegression()],
    ids=["nearest-fingerprint", "mlp", "nearest-centroid", "logistic"],
)
def test_pipeline_round_trip(tiny, tmp_path, clf):
    X, y, enc = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence on 8 samples
        clf.fit(enc.transform(X), y)
    pipe = Pipeline([("fp", enc), ("clf", clf)])
    path = tmp_path / "pipe.skfp"
    save(pipe, path)
    again = load(path)
    assert isinstance(again, Pipeline)
    np.testing.assert_array_equal(again.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(again.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize(
    "name, params",
    [("AttributionCNN", dict(feature_dim=4, channels=(4,), max_epochs=1,
                             batch_size=16, device="cpu", random_state=0)),
     ("SpectrumFingerprint", {}),
     ("PRNUFingerprint", {})],
)
def test_baseline_round_trip(tiny, tmp_path, name, params):
    baselines = pytest.importorskip("skfingerprint.baselines")
    X, y, _ = tiny
    est = getattr(baselines, name)(**params)
    try:
        est.fit(X, y)
    except ImportError as exc:  # e.g. PyWavelets for the wavelet residual
        pytest.skip(f"{name} needs an optional dependency: {exc}")
    save(est, tmp_path / "est.skfp")
    again = load(tmp_path / "est.skfp")
    assert type(again) is type(est)
    np.testing.assert_array_equal(again.transform(X), est.transform(X))


def test_save_overwrites_and_keeps_file_mode(tiny, tmp_path):
    path = tmp_path / "m.skfp"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    save(LogisticRegression(), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert isinstance(load(path), LogisticRegression)
    fresh = tmp_path / "fresh.skfp"
    save(LogisticRegression(), fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o666 & ~umask


def test_file_layout(tiny, tmp_path):
    path = tmp_path / "enc.skfp"
    save(tiny[2], path)
    meta, payload = _read_members(path)
    assert meta["format"] == "skfingerprint-model"
    assert meta["format_version"] == _persistence.FORMAT_VERSION
    assert meta["library_version"] == skfingerprint.__version__
    assert meta["model_type"] == (
        "skfingerprint.encoder._estimator.SetFingerprintEncoder"
    )
    assert meta["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    # the payload is a skops file: no pickle opcodes, plain arrays
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        assert "schema.json" in zf.namelist()


# ------------------------------------------------------------------- safety
def test_raw_pickle_is_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.skfp"
    path.write_bytes(pickle.dumps(_MarkerOnUnpickle(marker)))
    with pytest.raises(ValueError, match="not a skfingerprint model file"):
        load(path)
    joblib.dump(_MarkerOnUnpickle(marker), tmp_path / "model.joblib")
    with pytest.raises(ValueError, match="pickle or joblib"):
        load(tmp_path / "model.joblib")
    assert not marker.exists()


def test_pickle_inside_envelope_is_refused_not_executed(tiny, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "m.skfp"
    save(tiny[2], path)
    meta, _ = _read_members(path)
    # a valid envelope (right digest) around a pickle instead of a skops file
    _write_members(path, meta, pickle.dumps(_MarkerOnUnpickle(marker)))
    with pytest.raises(ValueError, match="modified or is corrupt"):
        load(path)
    assert not marker.exists()


def test_untrusted_type_with_pickled_state_is_refused(tmp_path):
    # What skops on a skorch net amounts to: a class whose __setstate__
    # unpickles its state.  It is refused before anything is built.
    marker = tmp_path / "pwned"
    path = tmp_path / "m.skfp"
    with pytest.warns(UserWarning, match="does not trust by default"):
        save(_PickleInDisguise(marker), path)
    with pytest.raises(ValueError, match="not trusted") as info:
        load(path)
    assert "_PickleInDisguise" in str(info.value)
    assert not marker.exists()
    # the payload is real: trusting the type explicitly runs it
    name = f"{_PickleInDisguise.__module__}._PickleInDisguise"
    load(path, trusted=[name])
    assert marker.exists()


def test_skorch_net_cannot_be_saved(tmp_path):
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    net = skorch.NeuralNet(
        module=torch.nn.Linear(2, 2), criterion=torch.nn.MSELoss
    ).initialize()
    with pytest.raises(TypeError, match="skorch nets, are not supported"):
        save(net, tmp_path / "net.skfp")
    assert os.listdir(tmp_path) == []


def test_user_type_needs_explicit_trust(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    pipe = Pipeline([("add", _AddOne()), ("clf", LogisticRegression())])
    pipe.fit(X, [0, 1, 1])
    path = tmp_path / "user.skfp"
    with pytest.warns(UserWarning, match="_AddOne"):
        save(pipe, path)
    with pytest.raises(ValueError, match="_AddOne.*not trusted|not trusted.*_AddOne"):
        load(path)
    again = load(path, trusted=[_AddOne])
    np.testing.assert_array_equal(again.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize("trusted", [True, False, "a.B", 3, [3]])
def test_bad_trusted_is_a_type_error(tmp_path, trusted):
    save(LogisticRegression(), tmp_path / "m.skfp")
    with pytest.raises(TypeError, match="trusted"):
        load(tmp_path / "m.skfp", trusted=trusted)


def _payload_offsets(path):
    """Byte ranges of the stored data of each member of the envelope."""
    data = path.read_bytes()
    ranges = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            start = info.header_offset
            name_len, extra_len = np.frombuffer(
                data[start + 26:start + 30], dtype="<u2"
            )
            begin = start + 30 + int(name_len) + int(extra_len)
            ranges[info.filename] = (begin, begin + info.compress_size)
    return data, ranges


@pytest.mark.parametrize("member", ["meta.json", "model.skops"])
@pytest.mark.parametrize("where", [0.0, 0.3, 0.7, 0.999])
def test_flipped_bytes_are_refused(tiny, tmp_path, member, where):
    path = tmp_path / "m.skfp"
    save(tiny[2], path)
    data, ranges = _payload_offsets(path)
    begin, end = ranges[member]
    pos = begin + int(where * (end - begin - 1))
    tampered = bytearray(data)
    tampered[pos] ^= 0xFF
    path.write_bytes(bytes(tampered))
    with pytest.raises(ValueError, match="modified or is corrupt"):
        load(path)


def test_rewritten_payload_with_stale_digest_is_refused(tmp_path):
    path = tmp_path / "m.skfp"
    save(LogisticRegression(C=1.0), path)
    meta, _ = _read_members(path)
    sio = pytest.importorskip("skops.io")
    # a valid zip whose payload was swapped: only the digest can tell
    _write_members(path, meta, sio.dumps(LogisticRegression(C=5.0)),
                   fix_digest=False)
    with pytest.raises(ValueError, match="modified or is corrupt.*SHA-256"):
        load(path)


def test_truncated_file_is_refused(tiny, tmp_path):
    path = tmp_path / "m.skfp"
    save(tiny[2], path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load(path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"format_version": 999}, "newer than the format version 1"),
        ({"format_version": 0}, "not supported"),
        ({"format_version": "1"}, "not valid"),
        ({"format": "something-else"}, "not a skfingerprint model file"),
    ],
)
def test_incompatible_format_is_refused(tmp_path, change, match):
    path = tmp_path / "m.skfp"
    save(LogisticRegression(), path)
    meta, payload = _read_members(path)
    _write_members(path, {**meta, **change}, payload)
    with pytest.raises(ValueError, match=match):
        load(path)


def test_other_library_version_warns(tmp_path):
    path = tmp_path / "m.skfp"
    save(LogisticRegression(), path)
    meta, payload = _read_members(path)
    _write_members(path, {**meta, "library_version": "0.0.1"}, payload)
    with pytest.warns(UserWarning, match="saved with skfingerprint 0.0.1"):
        assert isinstance(load(path), LogisticRegression)


def test_extra_member_is_refused(tmp_path):
    path = tmp_path / "m.skfp"
    save(LogisticRegression(), path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("extra.py", "print('hi')")
    with pytest.raises(ValueError, match="extra.py"):
        load(path)


# --------------------------------------------------------------- bad paths
@pytest.mark.parametrize("bad", [None, 3, b"m.skfp", ["m.skfp"]])
def test_bad_path_type(bad):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        save(LogisticRegression(), bad)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load(bad)


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "absent.skfp")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(LogisticRegression(), tmp_path / "no" / "m.skfp")
    with pytest.raises(IsADirectoryError, match="folder"):
        save(LogisticRegression(), tmp_path)
    with pytest.raises(IsADirectoryError, match="folder"):
        load(tmp_path)


# ------------------------------------------------------------ atomic writes
def _failing_writer(fileobj, meta_bytes, payload):
    fileobj.write(b"PK\x03\x04 half a file")
    raise RuntimeError("disk full")


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(_persistence, "_write_envelope", _failing_writer)
    with pytest.raises(RuntimeError, match="disk full"):
        save(LogisticRegression(), tmp_path / "m.skfp")
    assert os.listdir(tmp_path) == []  # no target, no temporary file


def test_failed_write_keeps_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "m.skfp"
    save(LogisticRegression(C=2.0), path)
    digest = _sha(path)
    monkeypatch.setattr(_persistence, "_write_envelope", _failing_writer)
    with pytest.raises(RuntimeError, match="disk full"):
        save(LogisticRegression(C=3.0), path)
    assert os.listdir(tmp_path) == ["m.skfp"]
    assert _sha(path) == digest
    monkeypatch.undo()
    assert load(path).C == 2.0


# ----------------------------------------------------- pickle/joblib still work
def test_pickle_and_joblib_still_work(tiny, tmp_path):
    X, y, enc = tiny
    pipe = Pipeline([("fp", enc), ("clf", NearestCentroid().fit(enc.transform(X), y))])
    expected = pipe.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pipe)).predict(X), expected)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    loaded = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(loaded.predict(X), expected)


# ---------------------------------------------------------- trusted registry
def test_trusted_types_resolve_to_classes():
    for name in trusted_types():
        module, _, cls = name.rpartition(".")
        obj = getattr(importlib.import_module(module), cls)
        assert inspect.isclass(obj), name


def test_every_library_estimator_is_trusted():
    """A new estimator must be added to _persistence._TRUSTED_TYPES."""
    found = set()
    for info in pkgutil.walk_packages(skfingerprint.__path__, "skfingerprint."):
        module = importlib.import_module(info.name)
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (obj.__module__ == module.__name__ and not name.startswith("_")
                    and issubclass(obj, BaseEstimator)):
                found.add(f"{obj.__module__}.{obj.__name__}")
    missing = sorted(found - set(trusted_types()))
    assert not missing, (
        f"Estimators missing from skfingerprint._persistence._TRUSTED_TYPES: "
        f"{missing}. Add them (their saved state must hold only plain data)."
    )
