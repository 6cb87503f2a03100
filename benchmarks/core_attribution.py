"""Acceptance benchmark of the core encoder (issue 2).

Synthetic data (make_fingerprinted_images): 8 models in 2 families, 20 bags
of 16 images of 32x32 per model.  The user's Pipeline as written,
``Pipeline([("fp", SetFingerprintEncoder()), ("clf", MLPClassifier())])``,
scored by 10-fold stratified cross-validation, for DSF+ (bags of 16) and
DSF- (``bag_size=1``: one image per bag, trained on every image of each
source per epoch); plus the wall time of one encoder fit on all bags.

    python -m benchmarks.core_attribution [--quick]

Writes benchmarks/results/core_attribution.md and .json.
"""

import argparse
import time

from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

from benchmarks._common import env_markdown, environment, format_mean_sd, write_results
from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.datasets import make_fingerprinted_images

SEED = 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 folds and 5 bags per model: a smoke run")
    parser.add_argument("--only", choices=["DSF+", "DSF-"],
                        help="run one variant only")
    args = parser.parse_args(argv)
    n_bags, folds = (5, 3) if args.quick else (20, 10)
    data = make_fingerprinted_images(
        n_models=8, n_families=2, n_images_per_model=16 * n_bags, image_size=32,
        random_state=SEED,
    )
    X, y = make_bags(data.images, data.labels, bag_size=16, random_state=SEED)
    env = environment()
    rows, payload = [], {"env": env, "seed": SEED, "n_bags": len(y), "folds": folds}

    start = time.perf_counter()
    SetFingerprintEncoder(random_state=SEED).fit(X, y)
    fit_s = time.perf_counter() - start
    payload["encoder_fit_seconds_all_bags"] = fit_s

    variants = {
        "DSF+ (bag_size=16)": SetFingerprintEncoder(random_state=SEED),
        # DSF-: one image per bag; training draws a fresh image of each bag
        # every epoch, transform uses the first image of each bag.
        "DSF- (bag_size=1)": SetFingerprintEncoder(bag_size=1, random_state=SEED),
    }
    if args.only:
        variants = {k: v for k, v in variants.items() if k.startswith(args.only)}
    cv = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    for name, encoder in variants.items():
        pipe = Pipeline([("fp", encoder), ("clf", MLPClassifier(random_state=SEED))])
        start = time.perf_counter()
        scores = cross_val_score(pipe, X, y, cv=cv)
        wall = time.perf_counter() - start
        rows.append((name, scores.mean(), scores.std(), wall / folds))
        payload[name] = {"scores": scores.tolist(), "seconds_per_fold": wall / folds}
        print(f"{name}: {format_mean_sd(scores.mean(), scores.std())} "
              f"({wall / folds:.1f} s per fold)")

    md = [
        "# Core attribution benchmark (issue 2)\n",
        "Synthetic data: `make_fingerprinted_images(n_models=8, n_families=2, "
        f"n_images_per_model={16 * n_bags}, image_size=32, random_state={SEED})`, "
        f"bags of 16 (`make_bags`, disjoint), {len(y)} bags. "
        f"`Pipeline([('fp', SetFingerprintEncoder(...)), ('clf', MLPClassifier())])`, "
        f"{folds}-fold stratified CV (chance = 0.125).\n",
        f"One encoder fit on all {len(y)} bags (defaults): **{fit_s:.1f} s**.\n",
        "| method | accuracy (mean ± std) | seconds per fold (fit + predict) |",
        "|---|---|---|",
    ]
    md += [f"| {n} | {format_mean_sd(m, s)} | {t:.1f} |" for n, m, s, t in rows]
    md += ["", env_markdown(env), "Reproduce: `python -m benchmarks.core_attribution`\n"]
    suffix = ("_quick" if args.quick else "") + (
        "_" + args.only.replace("+", "plus").replace("-", "minus") if args.only else "")
    write_results("core_attribution" + suffix, "\n".join(md),
                  payload)


if __name__ == "__main__":
    main()
