"""How the embedding radius shapes the fingerprints (the default of SetFingerprintEncoder).

Synthetic data: 12 models in 4 families, 20 bags of 16 images of 16x16 per
model, half the bags for training, half held out.  For each
``embedding_radius`` (None = unbounded embeddings, as the paper's loss is
literally written) the encoder is trained with the defaults otherwise, and
the held-out bags are scored: nearest-centroid accuracy, the decorrelation
score against the training fingerprints, and the share of variance of the
top principal component (1.0 = all sources strung along one line).

    python -m benchmarks.encoder_defaults [--zoo]

Writes benchmarks/results/encoder_defaults.md/.json (``_zoo`` with --zoo, on
the small model zoo instead of the synthetic set).
"""

import argparse
import time

import numpy as np
from sklearn.neighbors import NearestCentroid

from benchmarks._common import env_markdown, environment, load_zoo, write_results
from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.metrics import decorrelation_score

RADII = [None, 4.0, 2.0, 1.5, 1.0]


def load(zoo):
    if zoo:
        data = load_zoo("small", 0)
        desc = "small model zoo (`make_model_zoo('small', random_state=0)`)"
    else:
        from skfingerprint.datasets import make_fingerprinted_images

        data = make_fingerprinted_images(n_models=12, n_families=4,
                                         n_images_per_model=320, image_size=16,
                                         random_state=0)
        desc = ("synthetic: `make_fingerprinted_images(n_models=12, n_families=4, "
                "n_images_per_model=320, image_size=16, random_state=0)`")
    X, y = make_bags(data.images, data.labels, bag_size=16, random_state=0)
    return X, y, desc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", action="store_true")
    args = parser.parse_args(argv)
    X, y, desc = load(args.zoo)
    train = np.arange(len(y)) % 2 == 0
    rows = []
    for radius in RADII:
        start = time.perf_counter()
        enc = SetFingerprintEncoder(embedding_radius=radius, random_state=0)
        enc.fit(X[train], y[train])
        fit_s = time.perf_counter() - start
        Zt, Zv = enc.transform(X[train]), enc.transform(X[~train])
        acc = NearestCentroid().fit(Zt, y[train]).score(Zv, y[~train])
        dec = decorrelation_score(Zv, y[~train], fingerprints=enc.fingerprints_)
        sv = np.linalg.svd(Zv - Zv.mean(0), compute_uv=False) ** 2
        top = float(sv[0] / sv.sum())
        rows.append({"radius": radius, "accuracy": acc, "decorrelation": dec,
                     "top_pc_share": top, "fit_seconds": fit_s})
        print(rows[-1])
    env = environment()
    md = ["# Embedding radius of SetFingerprintEncoder\n",
          f"Data: {desc}; bags of 16, {train.sum()} training and {(~train).sum()} "
          "held-out bags. Defaults otherwise (random_state=0).\n",
          "| embedding_radius | nearest-centroid accuracy | decorrelation (contrast) | "
          "top PC variance share | fit seconds |", "|---|---|---|---|---|"]
    md += [f"| {r['radius']} | {r['accuracy']:.3f} | {r['decorrelation']:.3f} | "
           f"{r['top_pc_share']:.2f} | {r['fit_seconds']:.0f} |" for r in rows]
    md += ["", env_markdown(env),
           f"Reproduce: `python -m benchmarks.encoder_defaults{' --zoo' if args.zoo else ''}`\n"]
    write_results("encoder_defaults" + ("_zoo" if args.zoo else ""), "\n".join(md),
                  {"env": env, "rows": rows})


if __name__ == "__main__":
    main()
