"""What the default post-processing augmentation costs in fit time.

Fits ``SetFingerprintEncoder`` at its defaults (``augmentation="auto"``:
random JPEG and noise of every training image) and with
``augmentation=None`` on the same training bags, alternately, ``--repeats``
times, and reports the fit seconds and their ratio.  Data: the default zoo
(32x32 images, where the augmentation weighs most against the network), the
first 2000 images of each of its 22 sources, bags of 32, the training half
of one stratified split (the protocol of ``benchmarks.robustness --bag-size
32``)::

    python -m benchmarks.speed.augmentation_cost [--repeats 2] [--epochs N]

Writes ``benchmarks/results/speed_augmentation_cost.md`` and ``.json``.
"""

import argparse
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, stratified_halves, write_results, zoo_bags)

SEED = 0
SETTINGS = {"augmentation=None": None, 'augmentation="auto" (default)': "auto"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None,
                        help="encoder epochs (default: the library's)")
    parser.add_argument("--images-per-source", type=int, default=2000)
    args = parser.parse_args(argv)
    zoo, X, y = zoo_bags("default", args.images_per_source, 32, SEED)
    train, _ = stratified_halves(y, SEED)
    seconds = {name: [] for name in SETTINGS}
    for rep in range(args.repeats):
        for name, aug in SETTINGS.items():
            start = time.perf_counter()
            encoder(args.epochs, SEED, augmentation=aug).fit(X[train], y[train])
            seconds[name].append(time.perf_counter() - start)
            print(rep, name, f"{seconds[name][-1]:.1f} s", flush=True)
    means = {name: float(np.mean(v)) for name, v in seconds.items()}
    ratio = means['augmentation="auto" (default)'] / means["augmentation=None"]
    n_images = int(np.prod(X[train].shape[:2]))
    md = ["# Fit time of the default augmentation\n",
          f"`SetFingerprintEncoder` at its defaults"
          f"{'' if args.epochs is None else f' but max_epochs={args.epochs}'}, "
          f"fitted on {len(train)} bags of 32 images of 32x32 px ({n_images} images, "
          f"zoo `default`, {len(zoo.sources)} sources), {args.repeats} alternating "
          "repeats.\n",
          "| setting | fit seconds (each repeat) | mean |", "|---|---|---|"]
    md += [f"| {name} | {', '.join(f'{s:.1f}' for s in v)} | {means[name]:.1f} |"
           for name, v in seconds.items()]
    md += ["", f"Ratio of the means: **{ratio:.2f}x**.", "", env_markdown(environment()),
           "Reproduce: `python -m benchmarks.speed.augmentation_cost`\n"]
    write_results("speed_augmentation_cost", "\n".join(md), {
        "env": environment(), "seconds": seconds, "ratio": ratio,
        "n_train_bags": len(train), "n_images": n_images, "epochs": args.epochs})


if __name__ == "__main__":
    main()
