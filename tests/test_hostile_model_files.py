"""Hostile and broken model files (issue #13, points 3, 4, 6 and 7).

Every crafted file is refused with the library's one "not a valid model file"
ValueError, quickly and without allocating more than a bounded multiple of the
file's size.
"""

import io
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint import _net_state, _persistence
from skfingerprint._persistence import load, save
from skfingerprint.datasets import make_fingerprinted_images

from benchmarks._crafted_model_files import envelope as _envelope
from benchmarks._crafted_model_files import huge_npy, popen_schema
from benchmarks._crafted_model_files import members as _members
from benchmarks._crafted_model_files import rewrite_payload as _rewrite_payload

pytest.importorskip("skops")

INVALID = "not a valid model file"
FAST = dict(embedding_dim=4, channels=(4,), rho_hidden=8, max_epochs=1,
            batch_size=4, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def encoder():
    data = make_fingerprinted_images(n_models=2, n_images_per_model=16,
                                     image_size=8, random_state=0)
    X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
    return SetFingerprintEncoder(**FAST).fit(X, y), X


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=INVALID):
            fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_decompression_bomb_member_is_refused_before_expanding(tmp_path):
    path = tmp_path / "bomb.skfp"
    save(LogisticRegression(), path)
    meta, _ = _members(path)
    _envelope(path, meta, bytes(64 << 20))  # 64 MiB of zeros, ~64 KiB on disk
    assert path.stat().st_size < 1 << 20
    peak = _peak_bytes(lambda: load(path))
    assert peak < 8 << 20  # far below the 64 MiB the member expands to


def test_decompression_bomb_inside_the_skops_payload_is_refused(tmp_path):
    path = tmp_path / "bomb.skfp"
    save(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    meta, payload = _members(path)
    def bomb(name, data):
        return data[:128] + bytes(64 << 20) if name.endswith(".npy") else data

    _envelope(path, meta, _rewrite_payload(payload, bomb, zipfile.ZIP_DEFLATED),
              compression=zipfile.ZIP_STORED)
    peak = _peak_bytes(lambda: load(path))
    assert peak < 8 << 20


def test_too_many_members_are_refused(tmp_path):
    path = tmp_path / "many.skfp"
    save(LogisticRegression(), path)
    meta, payload = _members(path)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(payload)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        for i in range(_persistence._MAX_MEMBERS + 1):
            dst.writestr(f"x{i}.bin", b"")
    _envelope(path, meta, out.getvalue())
    with pytest.raises(ValueError, match=f"{INVALID}.*members"):
        load(path)


def test_npy_header_with_a_huge_shape_is_refused_before_allocating(encoder, tmp_path):
    path = tmp_path / "huge.skfp"
    save(encoder[0], path)
    meta, payload = _members(path)
    _envelope(path, meta, _rewrite_payload(payload, huge_npy((200000, 200000))))
    peak = _peak_bytes(lambda: load(path))
    assert peak < 64 << 20  # 200000**2 floats would be 160 GB


@pytest.mark.parametrize("change", [
    {"module_config": {"channels": [200000, 200000]}},
    {"module_config": {"n_full_res": 10**6}},
    {"module_config": {"channels": list(range(1, 100))}},
    {"module_config": {"not_a_parameter": 1}},
    {"module_config": {"channels": [{"a": 1}]}},
    {"weights": "shape"},
    {"weights": "missing"},
    {"weights": "extra"},
])
def test_stored_net_state_must_match_the_module(encoder, tmp_path, monkeypatch, change):
    dump = _net_state.dump_net_state

    def hostile_dump(module, history, version):
        state = dump(module, history, version)
        if "module_config" in change:
            state["module_config"].update(change["module_config"])
        elif change["weights"] == "shape":
            key = sorted(state["weights"])[0]
            state["weights"][key] = np.zeros(state["weights"][key].size + 1, np.float32)
        elif change["weights"] == "missing":
            state["weights"].pop(sorted(state["weights"])[0])
        else:
            state["weights"]["extra.weight"] = np.zeros(3, np.float32)
        return state

    monkeypatch.setattr(_net_state, "dump_net_state", hostile_dump)
    path = tmp_path / "net.skfp"
    save(encoder[0], path)
    monkeypatch.undo()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=INVALID) as info:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    assert "module" in str(info.value) or "weight" in str(info.value)


def test_stored_parameters_are_validated_with_the_estimators_constraints(tmp_path):
    path = tmp_path / "bad_param.skfp"
    save(LogisticRegression(C=-1.0), path)  # unfitted: save does not validate
    with pytest.raises(ValueError, match=f"{INVALID}.*'C' parameter"):
        load(path)


def test_stored_worker_count_is_bounded_by_this_machine(encoder, tmp_path):
    enc = encoder[0]
    path = tmp_path / "workers.skfp"
    old = enc.num_workers
    enc.num_workers = 10 * (os.cpu_count() or 1) + 64
    try:
        save(enc, path)
    finally:
        enc.num_workers = old
    with pytest.warns(UserWarning, match="num_workers"):
        again = load(path)
    assert again.num_workers == (os.cpu_count() or 1)
    np.testing.assert_array_equal(again.transform(encoder[1]), enc.transform(encoder[1]))


def test_deeply_nested_meta_json_is_a_value_error(tmp_path):
    path = tmp_path / "nested.skfp"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.json", "[" * 200000 + "]" * 200000)
        zf.writestr("model.skops", b"")
    with pytest.raises(ValueError, match=INVALID):
        load(path)


def test_deeply_nested_schema_is_a_value_error(tmp_path):
    path = tmp_path / "nested.skfp"
    save(LogisticRegression(), path)
    meta, payload = _members(path)
    deep = _rewrite_payload(payload, lambda name, data: (
        b'{"a": ' * 100000 + b"1" + b"}" * 100000 if name == "schema.json" else data))
    _envelope(path, meta, deep)
    with pytest.raises(ValueError, match=INVALID):
        load(path)


def _returns_within(fn, seconds):
    result = {}

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            result["exc"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "load() blocked"
    return result.get("exc")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.skfp"
    os.mkfifo(fifo)
    exc = _returns_within(lambda: load(fifo), 30)
    assert isinstance(exc, ValueError) and "regular file" in str(exc)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_device_file_is_refused_without_reading_it():
    exc = _returns_within(lambda: load("/dev/zero"), 30)
    assert isinstance(exc, ValueError) and "regular file" in str(exc)


def test_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.skfp"
    save(LogisticRegression(), path)
    monkeypatch.setattr(_persistence, "_MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(ValueError, match=f"{INVALID}.*larger than"):
        load(path)


def test_untrusted_type_message_never_suggests_trusting_it(tmp_path):
    """A file naming subprocess.Popen: the message names it, says it is not
    trusted and explains the risk, but never offers the trusted= that runs it."""
    path = tmp_path / "popen.skfp"
    save(LogisticRegression(), path)
    meta, payload = _members(path)

    _envelope(path, meta, _rewrite_payload(payload, popen_schema))
    with pytest.raises(ValueError, match="subprocess.Popen") as info:
        load(path)
    message = str(info.value)
    assert "not trusted" in message and "run code" in message
    assert "trusted=['subprocess" not in message and 'trusted=["subprocess' not in message


def test_untrusted_sklearn_estimator_may_be_suggested():
    message = _persistence._untrusted_message("m.skfp", ["sklearn.linear_model.LogisticRegression"])
    assert "trusted=['sklearn.linear_model.LogisticRegression']" in message
    message = _persistence._untrusted_message("m.skfp", ["sklearn.os.system"])
    assert "trusted=[" not in message.replace("The trusted= parameter", "")
