"""GPU benchmark of SetFingerprintEncoder (one call of the device tool, < 5 min).

Images/s of ``fit`` (training epochs) and ``transform`` at 32x32 and 64x64,
float32 vs bfloat16 autocast, and a sweep over the batch size (bags per
step).  Prints a markdown table and writes it to $OUT (or
benchmarks/results/) as speed_gpu.md.

    python benchmarks/speed/gpu.py
"""

import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _common import env_markdown, environment  # noqa: E402

from skfingerprint import SetFingerprintEncoder  # noqa: E402


def bench(X, y, *, precision, batch_size, epochs=3):
    enc = SetFingerprintEncoder(max_epochs=epochs, batch_size=batch_size,
                                precision=precision, random_state=0, device="cuda")
    enc.fit(X, y)
    dur = float(np.median(enc.net_.history[:, "dur"][1:]))
    fit_rate = X.shape[0] * X.shape[1] / dur
    torch.cuda.synchronize()
    start = time.perf_counter()
    enc.transform(X)
    torch.cuda.synchronize()
    tr_rate = X.shape[0] * X.shape[1] / (time.perf_counter() - start)
    return fit_rate, tr_rate


def main():
    assert torch.cuda.is_available(), "this benchmark needs a CUDA device"
    rows = []
    t0 = time.perf_counter()
    for size, n_bags in ((32, 512), (64, 256)):
        rng = np.random.RandomState(0)
        X = rng.randint(0, 256, size=(n_bags, 32, size, size, 3)).astype(np.uint8)
        y = np.repeat(np.arange(16), n_bags // 16)
        for precision in ("float32", "bfloat16"):
            for bs in (32, 64, 128):
                fit_rate, tr_rate = bench(X, y, precision=precision, batch_size=bs)
                rows.append((size, precision, bs, fit_rate, tr_rate))
                print(f"{size}px {precision} batch {bs}: fit {fit_rate:.0f} img/s, "
                      f"transform {tr_rate:.0f} img/s ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
    env = environment()
    md = ["# GPU throughput of SetFingerprintEncoder\n",
          f"Device: {torch.cuda.get_device_name(0)}. Bags of 32 images, 16 sources, "
          "default architecture; fit = median training epoch after warm-up; transform "
          "= one pass over all bags (chunk_size 1024 images).\n",
          "| image size | precision | bags per step | fit images/s | transform images/s |",
          "|---|---|---|---|---|"]
    md += [f"| {s} | {p} | {b} | {f:.0f} | {t:.0f} |" for s, p, b, f, t in rows]
    md += ["", env_markdown(env), "Reproduce: `python benchmarks/speed/gpu.py` on a CUDA machine\n"]
    text = "\n".join(md)
    print(text)
    out = os.environ.get("OUT") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")
    with open(os.path.join(out, "speed_gpu.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
