"""Make the figures and numbers of docs/fingerprint_analysis.md.

Trains a ``SetFingerprintEncoder`` on bags of the model zoo (or of the
synthetic set), embeds held-out bags and writes to ``docs/images/``:

- ``fingerprint_correlation_matrix.png``: the correlation matrix ``rho`` of
  the held-out bags, sources ordered by the dendrogram, known families
  outlined (paper Fig. 2/3);
- ``fingerprint_dendrogram.png``: the dendrogram of the sources, leaves
  coloured by known family;
- ``fingerprint_stability_bag_size.png``: the decorrelation score (both
  kinds) against the encoder's ``bag_size``, mean and std over CV folds, from
  ``GridSearchCV(..., scoring=DecorrelationScorer())`` (paper Fig. 4);
- ``fingerprint_analysis_results.json``: the numbers printed at the end.

It prints, for the encoder and for a no-learning baseline (the mean image of
each bag): the decorrelation scores of the held-out bags, the adjusted Rand
index between the clustering of the sources (average linkage on
``fingerprint_distances``, cut at the number of true families) and the true
families, and the accuracy of attributing each held-out bag to the nearest
training fingerprint (Euclidean).

Run from the repository root (with the package installed, ``pip install -e .``,
or with ``PYTHONPATH=.``)::

    python docs/scripts/plot_fingerprint_figures.py              # zoo (built if missing)
    python docs/scripts/plot_fingerprint_figures.py --synthetic  # synthetic set, fast

The zoo is used when ``skfingerprint.datasets.make_model_zoo`` exists, else
the synthetic set of ``make_fingerprinted_images``.
"""

import argparse
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    StratifiedKFold,
    train_test_split,
)
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

from skfingerprint import SetFingerprintEncoder, make_bags  # noqa: E402
from skfingerprint import datasets  # noqa: E402
from skfingerprint.cluster import cluster_families, model_fingerprints  # noqa: E402
from skfingerprint.metrics import DecorrelationScorer, decorrelation_score  # noqa: E402
from skfingerprint.visualization import (  # noqa: E402
    CorrelationMatrixDisplay,
    FamilyDendrogramDisplay,
    StabilityDisplay,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "images"))


def load_images(args):
    """Return (images, labels, families, description)."""
    if not args.synthetic and hasattr(datasets, "make_model_zoo"):
        zoo = datasets.make_model_zoo(args.preset, random_state=args.random_state)
        desc = f"model zoo, preset {zoo.preset!r}, {zoo.image_size}x{zoo.image_size}"
        return zoo.images, zoo.labels, zoo.families, desc
    data = datasets.make_fingerprinted_images(
        n_models=8, n_families=3, n_images_per_model=256, image_size=16,
        include_real=True, random_state=args.random_state,
    )
    return data.images, data.labels, data.families, "synthetic set (make_fingerprinted_images)"


def mean_image(X):
    """No-learning baseline: the mean image of each bag, flattened."""
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(X.shape[0], X.shape[1], -1).mean(axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic set")
    parser.add_argument("--preset", default="small", choices=["small", "default"])
    parser.add_argument("--bag-size", type=int, default=16, help="images per bag")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--bag-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--stability-epochs", type=int, default=15)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--out-dir", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    start = time.time()

    images, labels, families, desc = load_images(args)
    X, y = make_bags(images, labels, bag_size=args.bag_size, random_state=args.random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.random_state
    )
    n_families = len(set(families[s] for s in np.unique(y)))
    print(f"data: {desc}; {len(np.unique(y))} sources in {n_families} families; "
          f"{len(y_train)} training and {len(y_test)} held-out bags of {args.bag_size}")

    encoder = SetFingerprintEncoder(
        max_epochs=args.max_epochs, device="cpu", random_state=args.random_state
    ).fit(X_train, y_train)
    Z_test = encoder.transform(X_test)
    baseline = FunctionTransformer(mean_image).fit(X_train)

    results = {"data": desc, "bag_size": args.bag_size, "max_epochs": args.max_epochs,
               "n_sources": int(len(np.unique(y))), "n_families": n_families}
    for name, est in (("encoder", encoder), ("mean_image", baseline)):
        Z = est.transform(X_test)
        found = cluster_families(Z, y_test, n_families=n_families)
        # Nearest training fingerprint (Euclidean): do the features separate
        # the sources at all, whatever their correlations?
        classes, F = model_fingerprints(est.transform(X_train), y_train)
        nearest = classes[((Z[:, None, :] - F[None]) ** 2).sum(axis=-1).argmin(axis=1)]
        results[name] = {
            "nearest_fingerprint_accuracy": float(np.mean(nearest == y_test)),
            "contrast": decorrelation_score(Z, y_test),
            "frobenius": decorrelation_score(Z, y_test, kind="frobenius"),
            "ari": adjusted_rand_score(
                [families[s] for s in found], list(found.values())
            ),
            "clusters": found,
        }

    fig, ax = plt.subplots(figsize=(8.5, 7), dpi=120)
    CorrelationMatrixDisplay.from_predictions(
        Z_test, y_test, families=families, ax=ax, values_format=".1f",
        text_kw={"fontsize": 6},
    )
    ax.set_title("Held-out bags vs. fingerprints (leave-one-out), known families outlined",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "fingerprint_correlation_matrix.png"))

    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    FamilyDendrogramDisplay.from_predictions(Z_test, y_test, families=families, ax=ax)
    ax.set_title(f"Average linkage; ARI with the true families: "
                 f"{results['encoder']['ari']:.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "fingerprint_dendrogram.png"))

    search = GridSearchCV(
        SetFingerprintEncoder(
            max_epochs=args.stability_epochs, device="cpu", random_state=args.random_state
        ),
        {"bag_size": args.bag_sizes},
        scoring={"contrast": DecorrelationScorer(),
                 "frobenius": DecorrelationScorer(kind="frobenius")},
        refit=False,
        cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state),
    ).fit(X, y)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    for ax, kind in zip(axes, ("contrast", "frobenius")):
        StabilityDisplay.from_cv_results(
            search.cv_results_, "bag_size", score=kind, xscale="log", ax=ax,
            score_name=f'decorrelation score, kind="{kind}"',
        )
        ax.set_xticks(args.bag_sizes, [str(b) for b in args.bag_sizes])
        ax.set_xlabel("bag_size (images per bag)")
    axes[1].axhline(1 - 1 / np.sqrt(results["n_sources"]), ls="--", c="grey",
                    label="random embeddings")
    axes[0].axhline(0, ls="--", c="grey", label="random embeddings")
    for ax in axes:
        ax.legend(fontsize="small")
    fig.suptitle(f"{args.cv}-fold CV, mean ± std over folds", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out_dir, "fingerprint_stability_bag_size.png"))
    results["stability"] = {
        "bag_size": list(args.bag_sizes),
        **{f"{s}_test_{k}": search.cv_results_[f"{s}_test_{k}"].tolist()
           for s in ("mean", "std") for k in ("contrast", "frobenius")},
    }
    results["seconds"] = round(time.time() - start, 1)

    with open(os.path.join(args.out_dir, "fingerprint_analysis_results.json"), "w") as f:
        json.dump(results, f, indent=2)
    for name in ("encoder", "mean_image"):
        r = results[name]
        print(f"{name:>10}: contrast {r['contrast']:.3f}, frobenius {r['frobenius']:.3f}, "
              f"ARI {r['ari']:.3f} (cut at {n_families} families), nearest-fingerprint "
              f"accuracy {r['nearest_fingerprint_accuracy']:.3f}")
    print("stability:", json.dumps(results["stability"]))
    print(f"wrote figures to {os.path.relpath(args.out_dir)} in {results['seconds']} s")


if __name__ == "__main__":
    main()
