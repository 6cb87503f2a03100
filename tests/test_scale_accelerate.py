"""Data-parallel training through skorch's Accelerate integration (on CPU)."""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.datasets import make_fingerprinted_images
from skfingerprint.encoder import SetContrastiveLoss, set_contrastive_loss

pytestmark = pytest.mark.integration

accelerate = pytest.importorskip("accelerate")


def _loopback_env(env):
    """Keep gloo on the loopback interface (Linux names it ``lo``)."""
    if sys.platform.startswith("linux"):
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.fixture
def accelerator():
    from accelerate.state import AcceleratorState

    yield accelerate.Accelerator(cpu=True)
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def tiny_bags():
    data = make_fingerprinted_images(
        n_models=3, n_images_per_model=32, image_size=8, random_state=0
    )
    return make_bags(data.images, data.labels, bag_size=4, random_state=0)


PARAMS = dict(
    max_epochs=3, batch_size=6, bag_size=2, embedding_dim=8, channels=(8, 16),
    rho_hidden=16, device="cpu", random_state=0,
)


def test_single_process_accelerate_equals_plain(accelerator, tiny_bags, capsys):
    X, y = tiny_bags
    plain = SetFingerprintEncoder(**PARAMS).fit(X, y)
    accel = SetFingerprintEncoder(**PARAMS, accelerator=accelerator).fit(X, y)

    assert type(accel.net_).__name__ == "_AcceleratedNet"
    assert accel.device_ == "cpu"
    assert [h["train_loss"] for h in accel.net_.history] == [
        h["train_loss"] for h in plain.net_.history
    ]
    assert_array_equal(accel.fingerprints_, plain.fingerprints_)
    assert_array_equal(accel.transform(X), plain.transform(X))
    # verbose=0 prints nothing (skorch's accelerate log sink would ignore it)
    assert capsys.readouterr().out == ""


def test_accelerator_is_a_shared_parameter(accelerator, tiny_bags):
    enc = SetFingerprintEncoder(**PARAMS, accelerator=accelerator)
    assert enc.get_params()["accelerator"] is accelerator
    # Accelerator.__deepcopy__ returns itself: clone shares it
    assert clone(enc).accelerator is accelerator
    X, y = tiny_bags
    enc.set_params(max_epochs=1).fit(X, y)
    again = pickle.loads(pickle.dumps(enc))
    assert_array_equal(again.transform(X), enc.transform(X))


def _gather_worker(rank, world, init_file, out_dir, x, y, bounds):
    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    try:
        torch.manual_seed(0)
        model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 3))
        lo, hi = bounds[rank], bounds[rank + 1]
        loss = SetContrastiveLoss()(model(x[lo:hi]), y[lo:hi])
        loss.backward()
        torch.save(
            {
                "loss": loss.detach(),
                "grads": [p.grad for p in model.module.parameters()],
            },
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


def test_gathered_loss_gives_the_global_batch_gradient(tmp_path, monkeypatch):
    """Two DDP processes with unequal batches (5 and 3 bags) match one process."""
    for key, value in _loopback_env({}).items():
        monkeypatch.setenv(key, value)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(8, 4, generator=gen)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])  # rank 1's anchors need rank 0
    torch.multiprocessing.start_processes(
        _gather_worker,
        args=(2, str(tmp_path / "store"), str(tmp_path), x, y, (0, 5, 8)),
        nprocs=2,
        start_method="spawn",
    )
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    loss = set_contrastive_loss(model(x), y)
    loss.backward()
    for rank in range(2):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        assert_allclose(got["loss"], loss.detach(), rtol=1e-6)
        for g, p in zip(got["grads"], model.parameters()):
            assert_allclose(g, p.grad, rtol=1e-5, atol=1e-7)


SCRIPT = textwrap.dedent(
    '''
    """Two-process training; each rank writes what it saw to rank<i>.json."""
    import json
    import sys

    import numpy as np
    from accelerate import Accelerator

    from skfingerprint import SetFingerprintEncoder, make_bags
    from skfingerprint.datasets import make_fingerprinted_images
    from skfingerprint.encoder import _loss, _sampling

    out_dir, max_epochs = sys.argv[1], int(sys.argv[2])
    steps, loaded = [], []
    gather, getitems = _loss._gather_for_loss, _sampling.BagSpecDataset.__getitems__

    def spy_gather(z, y):
        out = gather(z, y)
        steps.append({"local": y.tolist(), "gathered": out[1].tolist(),
                      "rows": int(out[0].shape[0])})
        return out

    def spy_getitems(self, specs):
        # every image of each bag (its given bag and place in it): the bags
        # are regrouped every epoch (n_bags_per_model="auto")
        loaded.append([[int(b), int(i)] for s in specs for b, i in zip(s[1], s[2])])
        return getitems(self, specs)

    _loss._gather_for_loss = spy_gather
    _sampling.BagSpecDataset.__getitems__ = spy_getitems

    if __name__ == "__main__":
        accelerator = Accelerator(cpu=True)
        data = make_fingerprinted_images(n_models=3, n_images_per_model=64,
                                         image_size=8, strength=0.05, random_state=0)
        X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
        train = np.arange(len(y)) % 2 == 0
        # random_state=None: the processes must agree on the seed by themselves
        enc = SetFingerprintEncoder(max_epochs=max_epochs, batch_size=6,
                                    accelerator=accelerator)
        enc.fit(X[train], y[train])
        Z = enc.transform(X[~train])
        d = ((Z[:, None] - enc.fingerprints_[None]) ** 2).sum(axis=-1)
        with open(f"{out_dir}/rank{accelerator.process_index}.json", "w") as f:
            json.dump({
                "world": accelerator.num_processes,
                "n_train": int(train.sum()),
                "steps": steps,
                "loaded": loaded,
                "loss": [h["train_loss"] for h in enc.net_.history],
                "Z": Z.tolist(),
                "accuracy": float(np.mean(enc.classes_[d.argmin(1)] == y[~train])),
            }, f)
    '''
)


def test_torchrun_two_processes_gather_global_batch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    max_epochs = 8
    env = _loopback_env(dict(os.environ))
    # CPU processes only: with GPUs visible, accelerate's barrier picks
    # cuda:<local rank> even for Accelerator(cpu=True), which fails when
    # there are fewer GPUs than processes
    env["CUDA_VISIBLE_DEVICES"] = ""
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         "--standalone", str(script), str(tmp_path), str(max_epochs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2))
    assert r0["world"] == r1["world"] == 2

    # every step, both ranks see the global batch: their local bags in rank order
    assert len(r0["steps"]) == len(r1["steps"]) > 0
    for s0, s1 in zip(r0["steps"], r1["steps"]):
        assert s0["rows"] == s1["rows"] == len(s0["local"]) + len(s1["local"])
        assert s0["gathered"] == s1["gathered"] == s0["local"] + s1["local"]
    assert all(s["rows"] == 2 * len(s["local"]) == 12 for s in r0["steps"])

    # the ranks train on different images, and each epoch on all of them
    per_epoch = len(r0["loaded"]) // max_epochs
    every_image = sorted((b, i) for b in range(r0["n_train"]) for i in range(4))
    for epoch in range(max_epochs):
        seen = []
        for step in range(epoch * per_epoch, (epoch + 1) * per_epoch):
            a, b = ({tuple(img) for img in r["loaded"][step]} for r in (r0, r1))
            assert not a & b
            seen += [tuple(img) for r in (r0, r1) for img in r["loaded"][step]]
        assert sorted(seen) == every_image

    # one model, one transform: identical on both ranks, and it separates sources
    assert r0["loss"] == r1["loss"]
    assert r0["Z"] == r1["Z"]
    assert r0["accuracy"] >= 0.7, r0["accuracy"]
