"""Plot a grid of samples from every source of the model zoo.

Writes ``docs/images/zoo_samples.png``: one row per source (real photo crops,
then each generative model), ``--n-cols`` random samples per row, pixels
shown as blocks (nearest-neighbour), labelled with the source and its lineage.

Run from the repository root::

    python docs/scripts/plot_zoo_samples.py                 # default zoo, 32x32
    python docs/scripts/plot_zoo_samples.py --preset small  # quick look

The zoo is built on the first call (see docs/zoo.md for the build times) and
loaded from the cache afterwards.  The script refuses a source whose samples
are blank (constant) or a single repeated image.
"""

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))  # run from a checkout, installed or not

from skfingerprint.datasets import make_model_zoo  # noqa: E402
DEFAULT_OUT = os.path.join(HERE, "..", "images", "zoo_samples.png")


def sample_grid(images, labels, sources, n_cols, pad=2, seed=0):
    """Tile ``n_cols`` random images per source into one RGB array."""
    rng = np.random.RandomState(seed)
    s = images.shape[1]
    grid = np.full(
        (len(sources) * (s + pad) + pad, n_cols * (s + pad) + pad, 3), 255, np.uint8
    )
    for r, source in enumerate(sources):
        idx = rng.choice(np.flatnonzero(labels == source), n_cols, replace=False)
        for c, i in enumerate(idx):
            y, x = pad + r * (s + pad), pad + c * (s + pad)
            grid[y : y + s, x : x + s] = images[i]
    return grid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="default", choices=["small", "default"])
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--n-cols", type=int, default=12)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    zoo = make_model_zoo(args.preset, random_state=args.random_state)
    for source in zoo.sources:
        imgs = zoo.images[zoo.labels == source].astype(np.float64)
        if imgs.std() < 2 or imgs.std(axis=0).mean() < 2:
            raise SystemExit(f"the samples of {source!r} are blank or all alike")
        saturated = np.mean((imgs == 0) | (imgs == 255))
        if saturated > 0.5:
            raise SystemExit(f"{saturated:.0%} of the pixels of {source!r} are 0 or 255")
    grid = sample_grid(zoo.images, zoo.labels, zoo.sources, args.n_cols)
    s = zoo.sample_size
    n_rows = len(zoo.sources)
    cell = 0.55  # inches per image
    fig, ax = plt.subplots(figsize=(4.0 + cell * args.n_cols, 0.6 + cell * n_rows), dpi=150)
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([2 + r * (s + 2) + s / 2 for r in range(n_rows)])
    ax.set_yticklabels([f"{src}  ({' > '.join(zoo.lineage[src][:-1]) or 'real'})"
                        for src in zoo.sources], fontsize=7)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    ax.set_title(
        f"Model zoo, preset {zoo.preset!r}: {s}x{s} samples, random_state={zoo.random_state}",
        fontsize=9,
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, bbox_inches="tight")
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
