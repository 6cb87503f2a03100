"""GPU benchmark of SetFingerprintEncoder (one call of the device tool, < 5 min).

For images (patches) of 32, 64, 128 and 256 px, float32 vs bfloat16
autocast, it measures:

* ``fit`` images/s (median training epoch after a warm-up epoch, skorch's
  epoch time) and ``transform`` images/s (one pass, synchronised);
* a **plain PyTorch loop** on the same module (same ``DeepSet``, Adam, the
  set contrastive loss, P x K batches of the same size, data copied from
  host memory each step like the DataLoader does):
  ratio fit / plain (target >= 0.95);
* the FLOPs of one training step (forward + backward,
  ``FlopCounterMode``, through ``benchmarks.speed.flops``) times the
  steps per second of ``fit``, against the **measured** dense bfloat16
  matmul rate of the device (``torch.matmul`` of two 8192 x 8192 matrices):
  share of the matmul rate (target >= 25% at 128 px).

The network input is the patch itself (uint8 arrays of that size; no files
are decoded here: on a GPU the network, not Pillow, is what is measured).

    python -m benchmarks.speed.gpu                  # CUDA, full (< 5 min)
    python -m benchmarks.speed.gpu --device cpu --tiny   # a seconds-long check

Prints a markdown table and writes speed_gpu[_tiny].md/.json to $OUT when
set (the device tool brings it back), else to benchmarks/results/.
"""

import argparse
import json
import os
import time

import numpy as np
import torch

from benchmarks._common import env_markdown, environment, results_dir
from benchmarks.speed.flops import count_flops, matmul_flops
from benchmarks.speed.train_throughput import plain_epoch
from skfingerprint import SetFingerprintEncoder
from skfingerprint.encoder import DeepSet, set_contrastive_loss

FULL = dict(sizes=(32, 64, 128, 256), sources=16, bag=16, batch=32, epochs=3, matmul_n=8192,
            images={32: 16384, 64: 8192, 128: 4096, 256: 2048})
TINY = dict(sizes=(8,), sources=4, bag=4, batch=8, epochs=2, matmul_n=128,
            images={8: 96})


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def make_data(size, n_images, bag, sources, seed=0):
    rng = np.random.RandomState(seed)
    n_bags = n_images // bag
    X = rng.randint(0, 256, size=(n_bags, bag, size, size, 3)).astype(np.uint8)
    y = np.arange(n_bags) % sources
    return X, y


def bench_fit_transform(X, y, *, precision, batch, epochs, device):
    enc = SetFingerprintEncoder(max_epochs=epochs, batch_size=batch, precision=precision,
                                random_state=0, device=device)
    enc.fit(X, y)
    dur = float(np.median(enc.net_.history[:, "dur"][1:]))
    fit_rate = X.shape[0] * X.shape[1] / dur
    _sync(device)
    start = time.perf_counter()
    enc.transform(X)
    _sync(device)
    return fit_rate, X.shape[0] * X.shape[1] / (time.perf_counter() - start)


def _module(precision, device):
    torch.manual_seed(0)
    return DeepSet(in_channels=3, embedding_dim=32, channels=(16, 32, 64), n_full_res=1,
                   radius=1.5, precision=precision).to(device)


def bench_plain(X, y, *, precision, batch, epochs, device):
    """Images/s of a hand-written loop on the same module, median epoch after warm-up."""
    module = _module(precision, device)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    rng = np.random.RandomState(0)
    times, n = [], 0
    for _ in range(epochs):
        start = time.perf_counter()
        n = plain_epoch(module, opt, X, y, batch, rng, device)
        _sync(device)
        times.append(time.perf_counter() - start)
    return n / float(np.median(times[1:]))


def step_flops(X, y, *, precision, batch, device):
    """FLOPs of one training step of ``batch`` bags (forward + backward)."""
    module = _module(precision, device)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    xb = torch.from_numpy(X[:batch]).to(device)
    yb = torch.from_numpy(y[:batch]).to(device)

    def step():
        opt.zero_grad()
        set_contrastive_loss(module(xb), yb).backward()
        opt.step()

    return count_flops(step)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true",
                        help="8 px, a few bags: checks the script in seconds")
    args = parser.parse_args(argv)
    device = args.device
    if device.startswith("cuda"):
        assert torch.cuda.is_available(), "this benchmark needs a CUDA device (or --device cpu --tiny)"
    cfg = TINY if args.tiny else FULL
    t0 = time.perf_counter()
    matmul = {"float32": matmul_flops(device, cfg["matmul_n"], dtype=torch.float32),
              "bfloat16": matmul_flops(device, cfg["matmul_n"], dtype=torch.bfloat16)}
    print(f"matmul {cfg['matmul_n']}^2: float32 {matmul['float32'] / 1e12:.2f} TFLOP/s, "
          f"bfloat16 {matmul['bfloat16'] / 1e12:.2f} TFLOP/s", flush=True)
    rows = []
    for size in cfg["sizes"]:
        # plain_epoch takes max(2, batch // sources) bags of every source
        assert cfg["batch"] == cfg["sources"] * max(2, cfg["batch"] // cfg["sources"])
        X, y = make_data(size, cfg["images"][size], cfg["bag"], cfg["sources"])
        for precision in ("float32", "bfloat16"):
            kw = dict(precision=precision, batch=cfg["batch"], device=device)
            fit_rate, tr_rate = bench_fit_transform(X, y, epochs=cfg["epochs"], **kw)
            plain_rate = bench_plain(X, y, epochs=cfg["epochs"], **kw)
            flops = step_flops(X, y, **kw)
            images_per_step = cfg["batch"] * cfg["bag"]
            achieved = flops * fit_rate / images_per_step
            row = dict(size=size, precision=precision, fit=fit_rate, transform=tr_rate,
                       plain=plain_rate, fit_over_plain=fit_rate / plain_rate,
                       flops_per_step=flops, achieved_flops=achieved,
                       share_bf16_matmul=achieved / matmul["bfloat16"])
            rows.append(row)
            print(f"{size}px {precision}: fit {fit_rate:.0f} img/s, plain {plain_rate:.0f} "
                  f"img/s ({row['fit_over_plain']:.2f}), transform {tr_rate:.0f} img/s, "
                  f"{achieved / 1e12:.2f} TFLOP/s = {row['share_bf16_matmul']:.1%} of bf16 "
                  f"matmul ({time.perf_counter() - t0:.0f} s)", flush=True)
    env = environment()
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else device
    md = ["# GPU throughput of SetFingerprintEncoder\n",
          f"Device: {name}{' (tiny check of the script, not a measurement)' if args.tiny else ''}. "
          f"Bags of {cfg['bag']} images, {cfg['sources']} sources, {cfg['batch']} bags per "
          "step, default architecture; fit = median training epoch after warm-up; "
          "plain = a hand-written loop on the same module (same batch, loss, Adam); "
          "transform = one pass over all bags; TFLOP/s = FLOPs of a training step "
          "(FlopCounterMode) x fit steps/s; share = of the measured bfloat16 matmul rate "
          f"({cfg['matmul_n']}^2: {matmul['bfloat16'] / 1e12:.1f} TFLOP/s; float32 "
          f"{matmul['float32'] / 1e12:.1f}). Targets: fit / plain >= 0.95; share >= 25% "
          "at 128 px.\n",
          "| patch px | precision | fit img/s | plain loop img/s | fit / plain | "
          "transform img/s | GFLOP / step | TFLOP/s (fit) | share of bf16 matmul |",
          "|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['size']} | {r['precision']} | {r['fit']:.0f} | {r['plain']:.0f} | "
           f"**{r['fit_over_plain']:.2f}** | {r['transform']:.0f} | "
           f"{r['flops_per_step'] / 1e9:.1f} | {r['achieved_flops'] / 1e12:.2f} | "
           f"**{r['share_bf16_matmul']:.1%}** |" for r in rows]
    md += ["", env_markdown(env), f"Run time: {time.perf_counter() - t0:.0f} s\n",
           "Reproduce: `python -m benchmarks.speed.gpu` on a CUDA machine "
           "(`--device cpu --tiny` checks the script)\n"]
    text = "\n".join(md)
    print(text)
    out = os.environ.get("OUT") or results_dir()
    os.makedirs(out, exist_ok=True)
    stem = os.path.join(out, "speed_gpu" + ("_tiny" if args.tiny else ""))
    with open(stem + ".md", "w") as fh:
        fh.write(text)
    with open(stem + ".json", "w") as fh:
        json.dump({"env": env, "device": name, "config": cfg, "matmul": matmul,
                   "rows": rows}, fh, indent=2, default=str)
    print(f"wrote {stem}.md/.json")


if __name__ == "__main__":
    main()
