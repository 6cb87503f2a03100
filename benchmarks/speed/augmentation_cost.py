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
    python -m benchmarks.speed.augmentation_cost --against end-to-end

``--against end-to-end`` compares the defaults with
``phi_training="bags"`` instead (phi and rho trained end to end with the
default augmentation: the defaults of 2026-12-06, the reference of issue
37's bound on fit time), written as ``..._vs_end_to_end``.

``--bag-size 10 --images-per-source 1000`` gives the bags of the paper's
Table 3 protocol (bags of 10; the training half of 1000 images per source
holds about the 450 of a fold of its 10-fold cross-validation of 500).

Writes ``benchmarks/results/speed_augmentation_cost.md`` and ``.json``
(``speed_augmentation_cost_bagK`` for another bag size).
"""

import argparse
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, stratified_halves, write_results, zoo_bags)

SEED = 0
DEFAULT = 'augmentation="auto" (default)'
# --against: the name and parameters of the setting the defaults are compared with
AGAINST = {"none": ("augmentation=None", {"augmentation": None}),
           "end-to-end": ('phi_training="bags" (end to end)', {"phi_training": "bags"})}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None,
                        help="encoder epochs (default: the library's)")
    parser.add_argument("--images-per-source", type=int, default=2000)
    parser.add_argument("--bag-size", type=int, default=32)
    parser.add_argument("--against", choices=sorted(AGAINST), default="none",
                        help="the setting the defaults are compared with")
    args = parser.parse_args(argv)
    other, other_params = AGAINST[args.against]
    settings = {other: other_params, DEFAULT: {}}
    zoo, X, y = zoo_bags("default", args.images_per_source, args.bag_size, SEED)
    train, _ = stratified_halves(y, SEED)
    seconds = {name: [] for name in settings}
    for rep in range(args.repeats):
        for name, params in settings.items():
            start = time.perf_counter()
            encoder(args.epochs, SEED, **params).fit(X[train], y[train])
            seconds[name].append(time.perf_counter() - start)
            print(rep, name, f"{seconds[name][-1]:.1f} s", flush=True)
    means = {name: float(np.mean(v)) for name, v in seconds.items()}
    ratio = means[DEFAULT] / means[other]
    n_images = int(np.prod(X[train].shape[:2]))
    extra = "" if args.bag_size == 32 else f" --bag-size {args.bag_size}"
    if args.images_per_source != 2000:
        extra += f" --images-per-source {args.images_per_source}"
    if args.repeats != 2:
        extra += f" --repeats {args.repeats}"
    if args.against != "none":
        extra += f" --against {args.against}"
    md = ["# Fit time of the defaults against " + other + "\n",
          f"`SetFingerprintEncoder` at its defaults"
          f"{'' if args.epochs is None else f' but max_epochs={args.epochs}'}, "
          f"fitted on {len(train)} bags of {args.bag_size} images of 32x32 px ({n_images} images, "
          f"zoo `default`, {len(zoo.sources)} sources), {args.repeats} alternating "
          "repeats.\n",
          "| setting | fit seconds (each repeat) | mean |", "|---|---|---|"]
    md += [f"| {name} | {', '.join(f'{s:.1f}' for s in v)} | {means[name]:.1f} |"
           for name, v in seconds.items()]
    md += ["", f"Ratio of the means (defaults / {other}): **{ratio:.2f}x**.", "", env_markdown(environment()),
           f"Reproduce: `python -m benchmarks.speed.augmentation_cost{extra}`\n"]
    name = "speed_augmentation_cost" + (
        "" if args.bag_size == 32 else f"_bag{args.bag_size}") + (
        "" if args.against == "none" else "_vs_" + args.against.replace("-", "_"))
    write_results(name, "\n".join(md), {
        "env": environment(), "seconds": seconds, "ratio": ratio,
        "n_train_bags": len(train), "n_images": n_images, "epochs": args.epochs,
        "bag_size": args.bag_size, "images_per_source": args.images_per_source,
        "against": args.against})


if __name__ == "__main__":
    main()
