"""Training budget of SetFingerprintEncoder's defaults: quality against fit time.

The user's one-liner trains ``SetFingerprintEncoder()`` with its defaults, so
they must be good *and* affordable: issue 5 asks for a default fit on about
20,000 images of 32x32 (bags of 32) in at most 2 minutes on a 2-core CPU.
This benchmark trains on exactly that (the default model zoo, 48 bags of 32
per source = 19,968 images) with a few candidate settings and scores the
held-out zoo images (the other 464 per source): nearest-centroid accuracy
per single image (bags of 1) and per bag of 10, and the decorrelation score
of held-out bags of 10 against the training fingerprints.

    python -m benchmarks.encoder_budget [--configs NAME ...]

Writes benchmarks/results/encoder_budget.md and .json.
"""

import argparse
import json
import os
import time

from sklearn.neighbors import NearestCentroid

from benchmarks._common import (
    env_markdown, environment, first_per_source_mask, load_zoo, results_dir, write_results)
from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.metrics import decorrelation_score

SEED = 0
CONFIGS = {
    "epochs20_fullres2": dict(max_epochs=20, full_res_layers=2),
    "epochs10_fullres2": dict(max_epochs=10, full_res_layers=2),
    "epochs10_fullres1": dict(max_epochs=10, full_res_layers=1),
    "epochs5_fullres2": dict(max_epochs=5, full_res_layers=2),
}


def merge_previous(rows):
    """Keep the rows of settings not rerun now from the last results file."""
    path = os.path.join(results_dir(), "encoder_budget.json")
    if not os.path.exists(path):
        return rows
    with open(path) as fh:
        old = json.load(fh).get("rows", [])
    now = {r["config"] for r in rows}
    kept = [r for r in old if r["config"] not in now]
    order = list(CONFIGS) + ["shipped defaults"]
    return sorted(kept + rows, key=lambda r: order.index(r["config"])
                  if r["config"] in order else len(order))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS),
                        default=list(CONFIGS))
    parser.add_argument("--defaults", action="store_true",
                        help="also run SetFingerprintEncoder() as shipped")
    args = parser.parse_args(argv)
    zoo = load_zoo("default", SEED)
    train = first_per_source_mask(zoo.labels, 1536)  # the rest is held out
    Xtr, ytr = make_bags(zoo.images[train], zoo.labels[train], bag_size=32,
                         random_state=SEED)
    X10, y10 = make_bags(zoo.images[~train], zoo.labels[~train], bag_size=10,
                         random_state=SEED)
    X1, y1 = zoo.images[~train][:, None], zoo.labels[~train]
    configs = {k: CONFIGS[k] for k in args.configs}
    if args.defaults:
        configs["shipped defaults"] = {}
    rows = []
    for name, params in configs.items():
        load = os.getloadavg()[0]
        start = time.perf_counter()
        enc = SetFingerprintEncoder(random_state=SEED, **params).fit(Xtr, ytr)
        fit_s = time.perf_counter() - start
        Ztr = enc.transform(Xtr)
        nc = NearestCentroid().fit(Ztr, ytr)
        Z10 = enc.transform(X10)
        row = {
            "config": name, "params": params, "fit_seconds": fit_s,
            "date": time.strftime("%Y-%m-%d %H:%M"), "load_average_1min": load,
            "train_images": int(Xtr.shape[0] * Xtr.shape[1]),
            "final_loss": float(enc.net_.history[-1, "train_loss"]),
            "accuracy_bag1": float(nc.score(enc.transform(X1), y1)),
            "accuracy_bag10": float(nc.score(Z10, y10)),
            "decorrelation_bag10": float(decorrelation_score(
                Z10, y10, fingerprints=enc.fingerprints_, labels=enc.classes_)),
        }
        rows.append(row)
        print(row, flush=True)
    rows = merge_previous(rows)
    env = environment()
    md = ["# Training budget of the encoder's defaults\n",
          f"Training: default zoo (13 sources, 32x32), {Xtr.shape[0]} bags of 32 "
          f"({Xtr.shape[0] * 32} images); held out: {len(y1)} images (bags of 1) and "
          f"{len(y10)} bags of 10. Nearest-centroid accuracy on the encoder's "
          "fingerprints; decorrelation (contrast) of held-out bags of 10 against the "
          "training fingerprints. Fit time includes the final encoding of the "
          "training bags. Each row keeps the date of its own run (`encoder_budget.json`); "
          "the 1-minute load average at the start of each fit tells whether other jobs "
          "shared the 2 cores (about 0-1: quiet; n/a: an earlier run that did not record "
          "it, taken beside other jobs and before phi's std pooling was made faster, so "
          "compare its quality, not its time).\n",
          "| setting | fit seconds | load avg. | final loss | accuracy (1 image) | "
          "accuracy (bag of 10) | decorrelation (bag of 10) |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        load = r.get("load_average_1min")
        md.append(
            f"| {r['config']} `{r['params']}` | {r['fit_seconds']:.0f} | "
            f"{'n/a' if load is None else f'{load:.1f}'} | {r['final_loss']:.3f} | "
            f"{r['accuracy_bag1']:.3f} | {r['accuracy_bag10']:.3f} | "
            f"{r['decorrelation_bag10']:.3f} |")
    md += ["", env_markdown(env), "Reproduce: `python -m benchmarks.encoder_budget`\n"]
    write_results("encoder_budget", "\n".join(md), {"env": env, "rows": rows})


if __name__ == "__main__":
    main()
