"""Achieved FLOP/s of the encoder's training step vs this machine's matmul FLOP/s.

Counts the forward+backward FLOPs of one training step with
``torch.utils.flop_counter.FlopCounterMode``, times steps, measures dense
float32 matmul FLOP/s (2048x2048), and prints the torch profiler's top
operators to show where the time goes.

    python -m benchmarks.speed.flops [--image-size 32]

Writes benchmarks/results/speed_flops_<device>.md/.json.
"""

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks._common import env_markdown, environment, write_results
from skfingerprint.encoder import DeepSet, set_contrastive_loss


def matmul_flops(device, n=2048, repeats=10, dtype=torch.float32):
    """Measured FLOP/s of ``n x n`` matrix products (``torch.matmul``)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def count_flops(fn):
    """FLOPs of one call of ``fn`` (forward and backward), FlopCounterMode."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--bags", type=int, default=32)
    parser.add_argument("--bag-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    module = DeepSet(in_channels=3, embedding_dim=32, channels=(16, 32, 64)).to(device)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    x = torch.randint(0, 256, (args.bags, args.bag_size, args.image_size,
                               args.image_size, 3), dtype=torch.uint8, device=device)
    y = torch.arange(args.bags, device=device) % 8

    def step():
        opt.zero_grad()
        loss = set_contrastive_loss(module(x), y)
        loss.backward()
        opt.step()

    flops_per_step = count_flops(step)
    step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    step_s = (time.perf_counter() - start) / args.steps
    achieved = flops_per_step / step_s
    peak = matmul_flops(device)
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(3):
            step()
    sort = "cuda_time_total" if device == "cuda" else "self_cpu_time_total"
    table = prof.key_averages().table(sort_by=sort, row_limit=12)
    print(table)
    n_img = args.bags * args.bag_size
    print(f"{flops_per_step / 1e9:.2f} GFLOP/step, {step_s * 1e3:.1f} ms/step, "
          f"{achieved / 1e9:.1f} GFLOP/s achieved, matmul {peak / 1e9:.1f} GFLOP/s, "
          f"fraction {achieved / peak:.2f}")
    env = environment()
    md = (
        "# Achieved FLOP/s of a training step\n\n"
        f"One step = {args.bags} bags x {args.bag_size} images of {args.image_size}x"
        f"{args.image_size}x3, default DeepSet, Adam, on {device}.\n\n"
        "| quantity | value |\n|---|---|\n"
        f"| FLOPs per step (forward + backward, FlopCounterMode) | {flops_per_step / 1e9:.2f} G |\n"
        f"| time per step | {step_s * 1e3:.1f} ms ({n_img / step_s:.0f} images/s) |\n"
        f"| achieved | {achieved / 1e9:.1f} GFLOP/s |\n"
        f"| dense float32 matmul 2048^2 | {peak / 1e9:.1f} GFLOP/s |\n"
        f"| **fraction** | **{achieved / peak:.2f}** |\n\n"
        "Where the time goes (torch profiler, 3 steps):\n\n```\n" + table + "\n```\n\n"
        + env_markdown(env) + "\nReproduce: `python -m benchmarks.speed.flops`\n"
    )
    write_results(f"speed_flops_{device}", md, {
        "env": env, "flops_per_step": flops_per_step, "step_seconds": step_s,
        "achieved": achieved, "matmul": peak})


if __name__ == "__main__":
    main()
