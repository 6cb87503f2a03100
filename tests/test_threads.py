"""Reading files in threads: order, bounded read-ahead, errors, and results
that do not depend on the number of threads."""

import threading

import numpy as np
import pytest
import torch

from skfingerprint import SetFingerprintEncoder, SpectrumFingerprint
from skfingerprint import _threads
from skfingerprint._bags import check_bags, check_patch_settings
from skfingerprint._threads import decode_threads, map_in_threads, read_ahead
from skfingerprint.baselines import _common
from skfingerprint.encoder import _estimator


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_read_ahead_yields_in_order_and_reads_at_most_ahead(threads):
    started = []
    lock = threading.Lock()

    def get(i):
        with lock:
            started.append(i)
        return i * i

    consumed = 0
    for consumed, value in enumerate(read_ahead(get, 20, threads, ahead=3), start=1):
        assert value == (consumed - 1) ** 2
        with lock:  # never more than `ahead` items beyond the consumed ones
            assert len(started) <= consumed + 3
    assert consumed == 20 and sorted(started) == list(range(20))


def test_read_ahead_raises_the_error_of_its_item_and_stops():
    started = []

    def get(i):
        started.append(i)
        if i == 4:
            raise ValueError("Image 'x.png' is truncated")
        return i

    got = []
    with pytest.raises(ValueError, match="x.png"):
        for value in read_ahead(get, 100, 2, ahead=4):
            got.append(value)
    assert got == [0, 1, 2, 3]
    assert max(started) < 4 + 4 + 2  # the rest was cancelled, not read


def test_map_in_threads_keeps_order():
    assert map_in_threads(lambda v: -v, range(7), 3) == [0, -1, -2, -3, -4, -5, -6]
    assert map_in_threads(lambda v: -v, [], 3) == []


def test_map_in_threads_gives_each_thread_one_contiguous_share():
    import threading

    seen = {}

    def record(v):
        seen[v] = threading.get_ident()
        return v

    assert map_in_threads(record, range(10), 3) == list(range(10))
    # three tasks, not ten: the items of one share ran in one thread, in order
    shares = [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    for share in shares:
        assert len({seen[v] for v in share}) == 1


def test_decode_threads_follow_the_kind_and_torch_threads(file_bags, monkeypatch):
    X, _ = file_bags
    paths = check_bags(X, patch=check_patch_settings(16, 2))
    arrays = check_bags(np.zeros((4, 2, 8, 8, 3), dtype=np.uint8))
    monkeypatch.setattr(_threads, "available_cpus", lambda: 8)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    assert decode_threads(paths) == 3
    assert decode_threads(arrays) == 1  # nothing to decode
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)  # e.g. a CV fold process
    assert decode_threads(paths) == 1
    monkeypatch.setattr(torch, "get_num_threads", lambda: 16)
    assert decode_threads(paths) == 8  # at most the CPUs usable


@pytest.mark.parametrize("threads", [2, 3])
def test_results_identical_for_any_number_of_threads(file_bags, threads, monkeypatch):
    X, y = file_bags
    params = dict(embedding_dim=4, channels=(4, 8), rho_hidden=8, random_state=0,
                  max_epochs=2, batch_size=8, num_workers=0, patch_size=16,
                  patches_per_image=3, chunk_size=3 * 2 * 3)  # 12 batches of 3 bags
    monkeypatch.setattr(_estimator, "decode_threads", lambda bags: 1)
    monkeypatch.setattr(_common, "decode_threads", lambda bags: 1)
    ref = SetFingerprintEncoder(**params).fit(X, y)
    Z_ref = ref.transform(X)
    S_ref = SpectrumFingerprint(patch_size=16, patches_per_image=3, batch_size=5).fit(X, y)
    F_ref = S_ref.transform(X)
    calls = []

    def many(bags):
        calls.append(bags.kind)
        return threads

    monkeypatch.setattr(_estimator, "decode_threads", many)
    monkeypatch.setattr(_common, "decode_threads", many)
    enc = SetFingerprintEncoder(**params).fit(X, y)
    np.testing.assert_array_equal(enc.transform(X), Z_ref)
    np.testing.assert_array_equal(enc.fingerprints_, ref.fingerprints_)
    spec = SpectrumFingerprint(patch_size=16, patches_per_image=3, batch_size=5).fit(X, y)
    np.testing.assert_array_equal(spec.transform(X), F_ref)
    assert calls and set(calls) == {"paths"}
