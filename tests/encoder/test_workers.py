"""num_workers: "auto" (the default), and results that do not depend on it."""

import numpy as np
import pytest

from skfingerprint import SetFingerprintEncoder
from skfingerprint._bags import check_bags, check_patch_settings
from skfingerprint.encoder import _estimator
from skfingerprint.encoder._estimator import _BagBatches, _resolve_workers

TINY = dict(embedding_dim=4, channels=(4, 8), rho_hidden=8, random_state=0)


def test_default_is_auto_and_its_resolution(file_bags, monkeypatch):
    X, _ = file_bags
    assert SetFingerprintEncoder().num_workers == "auto"
    patch = check_patch_settings(16, 2)
    paths = check_bags(X, patch=patch)
    arrays = check_bags(np.zeros((36, 2, 16, 16, 3), dtype=np.uint8))
    monkeypatch.setattr(_estimator, "_available_cpus", lambda: 8)
    assert _resolve_workers("auto", paths, paths.n_bags) == 2
    assert _resolve_workers("auto", arrays, arrays.n_bags) == 0  # nothing to decode
    assert _resolve_workers("auto", paths, 1) == 0  # one item: nothing in parallel
    assert _resolve_workers("auto", check_bags(X[:8], patch=patch), 8) == 0  # 16 files
    assert _resolve_workers(3, arrays, 1) == 3  # an int is used as given
    for cpus in (1, 2, 3):  # the workers would take a core from the network
        monkeypatch.setattr(_estimator, "_available_cpus", lambda c=cpus: c)
        assert _resolve_workers("auto", paths, paths.n_bags) == 0
    monkeypatch.setattr(_estimator, "_available_cpus", lambda: 8)
    monkeypatch.setattr(_estimator.multiprocessing, "parent_process", lambda: object())
    assert _resolve_workers("auto", paths, paths.n_bags) == 0  # inside a worker


def test_batches_split_in_parts_cover_every_bag_once(file_bags):
    X, _ = file_bags
    bags = check_bags(X, patch=check_patch_settings(16, 2))
    whole = _BagBatches(bags, 2, 10)
    parts = _BagBatches(bags, 2, 10, parts=8)
    assert [u[2] for u in whole.units] == [10, 20, 30, 36]
    starts = [u[0] for u in parts.units]
    stops = [u[1] for u in parts.units]
    assert starts[0] == 0 and stops[-1] == 36 and starts[1:] == stops[:-1]
    assert {u[2] for u in parts.units} == {10, 20, 30, 36}
    assert all(u[0] < u[1] <= u[2] for u in parts.units)
    np.testing.assert_array_equal(
        np.concatenate([parts[i][1].numpy() for i in range(len(parts))]),
        np.concatenate([whole[i][1].numpy() for i in range(len(whole))]))


@pytest.mark.parametrize("mode", [dict(patch_size=16, patches_per_image=3),
                                  dict(image_size=24)])
def test_results_identical_for_any_num_workers(file_bags, mode, monkeypatch):
    X, y = file_bags
    # chunks of 2 bags: several batches, each decoded in parts by the workers
    params = dict(TINY, max_epochs=2, batch_size=8, chunk_size=2 * 2 * 3, **mode)
    monkeypatch.setattr(_estimator, "_available_cpus", lambda: 2)
    ref = SetFingerprintEncoder(num_workers=0, **params)
    Z0 = ref.fit_transform(X, y)
    for workers in (1, 2, "auto"):
        enc = SetFingerprintEncoder(num_workers=workers, **params)
        np.testing.assert_array_equal(enc.fit_transform(X, y), Z0)
        np.testing.assert_array_equal(enc.transform(X), ref.transform(X))
        np.testing.assert_array_equal(enc.fingerprints_, ref.fingerprints_)
    # a fitted encoder gives the same fingerprints with other workers
    np.testing.assert_array_equal(ref.set_params(num_workers=2).transform(X),
                                  enc.transform(X))


def test_cpu_sub_chunks_of_phi_match_one_call(monkeypatch):
    import torch

    from skfingerprint.encoder import DeepSet, _modules

    torch.manual_seed(0)
    module = DeepSet(in_channels=3, embedding_dim=4, channels=(4, 8), rho_hidden=8)
    x = torch.rand(10, 3, 16, 16)
    whole = module.phi(x)
    monkeypatch.setattr(_modules, "_CPU_SUBCHUNK_PIXELS", 3 * 16 * 16)  # 3 images
    with torch.no_grad():
        np.testing.assert_allclose(module._phi(x).numpy(), whole.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    parts = module._phi(x)  # and gradients flow through the sub-chunks
    parts.sum().backward()
    assert all(p.grad is not None for p in module.phi.parameters())
