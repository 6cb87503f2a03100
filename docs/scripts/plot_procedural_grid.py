"""Plot a grid of procedural generators' images on the same real content.

Writes ``docs/images/procedural_grid.png``: the first row is real photo crops;
each further row is one procedural generator (one of each relation of the
family tree) rendering the same crops, followed by its residuals (image minus
content, mean over the colour channels, amplified) on the right, so that the traces are visible.

Run from the repository root::

    python docs/scripts/plot_procedural_grid.py

It takes seconds on a CPU.  The script refuses a generator whose images are
constant or equal to the content.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))  # run from a checkout, installed or not

from skfingerprint.datasets import (  # noqa: E402
    make_procedural_generators,
    render_procedural_images,
)
from skfingerprint.datasets._photos import random_crops  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "..", "images", "procedural_grid.png")


def pick_generators(tree):
    """The first generator of each relation, then the first of each kind."""
    chosen, seen = [], set()
    for i, relation in enumerate(tree.relations.tolist()):
        if relation not in seen:
            seen.add(relation)
            chosen.append(i)
    for i, kind in enumerate(tree.kinds.tolist()):
        if kind not in {tree.kinds[j] for j in chosen}:
            chosen.append(i)
    return sorted(chosen)


def tile(rows, pad=2):
    """Rows of images (each an array (n, s, s, 3)) into one RGB array."""
    n, s = rows[0].shape[:2]
    grid = np.full((len(rows) * (s + pad) + pad, n * (s + pad) + pad, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            top, left = pad + r * (s + pad), pad + c * (s + pad)
            grid[top:top + s, left:left + s] = img
    return grid


def save_labelled(grid, names, args, scale=2, margin=150, header=16):
    """The grid at ``scale`` x (pixels as blocks), labels on the left; PNG.

    Drawn with Pillow at integer scale, so that no resampling blurs the
    traces (and the file stays small)."""
    from PIL import Image, ImageDraw

    big = np.kron(grid, np.ones((scale, scale, 1), np.uint8))
    canvas = Image.new("RGB", (big.shape[1] + margin, big.shape[0] + header), "white")
    canvas.paste(Image.fromarray(big), (margin, header))
    draw = ImageDraw.Draw(canvas)
    step = (args.image_size + 2) * scale
    for r, name in enumerate(names):
        draw.multiline_text((4, header + r * step + step // 2 - 10), name, fill="black")
    half = big.shape[1] // 2
    draw.text((margin + 4, 2), "images (the same real crops in every row)", fill="black")
    draw.text((margin + half + 4, 2), f"image - crop, x{args.gain:g}", fill="black")
    canvas.save(args.out, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--n-cols", type=int, default=3)
    parser.add_argument("--gain", type=float, default=6.0,
                        help="amplification of the residuals")
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    tree = make_procedural_generators(24, random_state=4)
    content = random_crops(args.n_cols, args.image_size, random_state=7)
    rows, residuals, names = [content], [np.full_like(content, 128)], ["real"]
    for i in pick_generators(tree):
        images = render_procedural_images(tree.specs[i], content, random_state=0)
        diff = images.astype(float) - content
        if images.std() == 0 or not diff.any():
            raise SystemExit(f"{tree.names[i]}: constant images or no trace")
        rows.append(images)
        grey = np.clip(128 + args.gain * diff.mean(axis=-1), 0, 255).astype(np.uint8)
        residuals.append(np.repeat(grey[..., None], 3, axis=-1))
        parent = f" of {tree.names[tree.parents[i]]}" if tree.parents[i] >= 0 else ""
        names.append(f"{tree.names[i]} {tree.kinds[i]}\n{tree.relations[i]}{parent}")
    grid = np.concatenate([tile(rows), tile(residuals)], axis=1)
    save_labelled(grid, names, args)
    print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} KB)")


if __name__ == "__main__":
    main()
