"""Training throughput of SetFingerprintEncoder.fit against a plain PyTorch loop.

Both train the same DeepSet module with the same optimizer, loss and batch
shapes on the same data; they are measured alternately in one run and the
median epoch time (after a warm-up epoch) is compared.  The ratio
``fit images/s / plain images/s`` should be >= 0.9.

    python -m benchmarks.speed.train_throughput [--image-size 32] [--repeats 3]

Writes benchmarks/results/speed_train_<device>.md/.json.
"""

import argparse
import time

import numpy as np
import torch

from benchmarks._common import env_markdown, environment, write_results
from skfingerprint import SetFingerprintEncoder
from skfingerprint.encoder import DeepSet, set_contrastive_loss


def make_data(n_classes, n_bags, bag_size, image_size, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=(n_classes * n_bags, bag_size, image_size,
                                  image_size, 3)).astype(np.uint8)
    y = np.repeat(np.arange(n_classes), n_bags)
    return X, y


def plain_epoch(module, opt, X, y, batch_size, rng, device):
    """One epoch of a hand-written loop: P x K batches, the same loss."""
    n_classes = int(y.max()) + 1
    K = max(2, batch_size // n_classes)
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(n_classes)]
    n_steps = len(y) // batch_size
    module.train()
    for step in range(n_steps):
        idx = np.concatenate([pc[(step * K) % len(pc):][:K] for pc in per_class])
        xb = torch.from_numpy(X[idx]).to(device)
        yb = torch.from_numpy(y[idx]).to(device)
        opt.zero_grad()
        loss = set_contrastive_loss(module(xb), yb)
        loss.backward()
        opt.step()
    return n_steps * batch_size * X.shape[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--bag-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    X, y = make_data(8, 32, args.bag_size, args.image_size)
    images_per_epoch = X.shape[0] * X.shape[1]
    fit_rates, plain_rates = [], []
    for rep in range(args.repeats):
        enc = SetFingerprintEncoder(max_epochs=args.epochs, random_state=rep,
                                    batch_size=32, device=device)
        enc.fit(X, y)
        durs = enc.net_.history[:, "dur"][1:]  # skip the warm-up epoch
        fit_rates.append(images_per_epoch / float(np.median(durs)))

        module = DeepSet(in_channels=3, embedding_dim=32, channels=(16, 32, 64),
                         n_full_res=1, radius=1.5).to(device)
        opt = torch.optim.Adam(module.parameters(), lr=1e-3)
        rng = np.random.RandomState(rep)
        times = []
        for _ in range(args.epochs):
            start = time.perf_counter()
            n = plain_epoch(module, opt, X, y, 32, rng, device)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        plain_rates.append(n / float(np.median(times[1:])))
        print(f"repeat {rep}: fit {fit_rates[-1]:.0f} img/s, plain {plain_rates[-1]:.0f} img/s")
    fit_med, plain_med = float(np.median(fit_rates)), float(np.median(plain_rates))
    ratio = fit_med / plain_med
    env = environment()
    md = (
        "# Training throughput: SetFingerprintEncoder.fit vs a plain PyTorch loop\n\n"
        f"Data: 8 sources x 32 bags x {args.bag_size} images of {args.image_size}x"
        f"{args.image_size}x3 (uint8), batch 32 bags, default architecture, device "
        f"{device}; {args.repeats} alternating repeats of {args.epochs} epochs, median "
        "epoch after warm-up.\n\n"
        "| loop | images/s (median) |\n|---|---|\n"
        f"| SetFingerprintEncoder.fit | {fit_med:.0f} |\n"
        f"| plain PyTorch loop | {plain_med:.0f} |\n\n"
        f"**Ratio fit / plain: {ratio:.2f}** (target >= 0.9)\n\n"
        + env_markdown(env)
        + "\nReproduce: `python -m benchmarks.speed.train_throughput`\n"
    )
    write_results(f"speed_train_{device.split(':')[0]}", md, {
        "env": env, "fit_rates": fit_rates, "plain_rates": plain_rates, "ratio": ratio,
        "args": vars(args)})


if __name__ == "__main__":
    main()
