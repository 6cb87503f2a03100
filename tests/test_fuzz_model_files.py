"""Fuzzing skfingerprint.load with mutated model files (issue #13).

A valid file (a Pipeline of a SetFingerprintEncoder and a
NearestFingerprintClassifier) is mutated at the level of bytes, archive
members, and JSON values of the skops schema (with the digest rewritten, so
that the mutation reaches the deeper checks).  ``load`` must either return a
model or raise the library's own "Cannot load ..." ValueError: never another
exception type, never a hang.

The default suite runs a bounded number of examples; set
``SKFINGERPRINT_FUZZ_EXAMPLES`` (and optionally ``SKFINGERPRINT_FUZZ_SEED``)
for a longer run, e.g. ``SKFINGERPRINT_FUZZ_EXAMPLES=3000``.
"""

import hashlib
import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from skfingerprint import SetFingerprintEncoder, load, make_bags, save
from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.datasets import make_fingerprinted_images

pytest.importorskip("skops")

N_EXAMPLES = int(os.environ.get("SKFINGERPRINT_FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("SKFINGERPRINT_FUZZ_SEED", "0"))


def _valid_file(path):
    data = make_fingerprinted_images(n_models=2, n_images_per_model=8, image_size=8,
                                     random_state=0)
    X, y = make_bags(data.images, data.labels, bag_size=2, random_state=0)
    model = Pipeline([
        ("fingerprint", SetFingerprintEncoder(embedding_dim=4, channels=(4,), rho_hidden=8,
                                              max_epochs=1, device="cpu", random_state=0)),
        ("classify", NearestFingerprintClassifier()),
    ]).fit(X, y)
    save(model, path)
    with open(path, "rb") as f:
        raw = f.read()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        meta = json.loads(zf.read("meta.json"))
        payload = zf.read("model.skops")
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    return raw, meta, members


class _Valid(tuple):
    def __repr__(self):  # keep Hypothesis' reports short
        return "<valid model file>"


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return _Valid(_valid_file(tmp_path_factory.mktemp("fuzz") / "model.skfp"))


def _envelope(meta, members, *, fix_digest=True):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    payload = out.getvalue()
    if fix_digest:
        meta = dict(meta, payload_sha256=hashlib.sha256(payload).hexdigest())
    env = io.BytesIO()
    with zipfile.ZipFile(env, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(meta))
        zf.writestr("model.skops", payload)
    return env.getvalue()


def _paths(node, prefix=()):
    """Every position in a JSON tree, as a tuple of keys/indices."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _replace(node, path, value):
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["builtins.eval", "subprocess.Popen", "numpy.ndarray", "x.npy",
                       "sklearn.linear_model._logistic.LogisticRegression"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)

MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**9), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**9)),
    st.tuples(st.just("member"), st.integers(0, 10**6),
              st.sampled_from(["drop", "empty", "garbage", "extra"]), st.binary(max_size=64)),
    st.tuples(st.just("json"), st.integers(0, 10**9), JSON_VALUES),
    st.tuples(st.just("meta"), st.sampled_from(["format", "format_version", "payload",
                                                "library_version", "model_type"]),
              JSON_VALUES),
    st.tuples(st.just("npy"), st.integers(0, 10**6), st.integers(0, 127), st.integers(1, 255)),
)


def _mutate(valid, mutation):
    raw, meta, members = valid
    kind = mutation[0]
    if kind == "flip":
        data = bytearray(raw)
        data[mutation[1] % len(data)] ^= mutation[2]
        return bytes(data)
    if kind == "truncate":
        return raw[: mutation[1] % len(raw)]
    members = dict(members)
    if kind == "member":
        names = sorted(members)
        name = names[mutation[1] % len(names)]
        if mutation[2] == "drop":
            del members[name]
        elif mutation[2] == "empty":
            members[name] = b""
        elif mutation[2] == "garbage":
            members[name] = mutation[3]
        else:
            members[f"extra{mutation[1]}.npy"] = mutation[3]
        return _envelope(meta, members)
    if kind == "json":
        schema = json.loads(members["schema.json"])
        paths = list(_paths(schema))
        schema = _replace(schema, paths[mutation[1] % len(paths)], mutation[2])
        members["schema.json"] = json.dumps(schema).encode()
        return _envelope(meta, members)
    if kind == "meta":
        return _envelope(dict(meta, **{mutation[1]: mutation[2]}), members)
    names = sorted(n for n in members if n.endswith(".npy"))
    name = names[mutation[1] % len(names)]
    data = bytearray(members[name])
    data[mutation[2] % len(data)] ^= mutation[3]
    members[name] = bytes(data)
    return _envelope(meta, members)


@seed(SEED)
@settings(max_examples=N_EXAMPLES, deadline=None, derandomize="SKFINGERPRINT_FUZZ_SEED"
          not in os.environ and "SKFINGERPRINT_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutation=MUTATIONS)
def test_mutated_model_files_give_only_the_librarys_errors(valid, tmp_path, mutation):
    path = tmp_path / "mutated.skfp"
    path.write_bytes(_mutate(valid, mutation))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "saved with skfingerprint X"
            load(path)
    except ValueError as exc:
        assert str(exc).startswith(f"Cannot load {str(path)!r}"), exc
