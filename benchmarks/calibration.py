"""Calibration of the probabilities of the CLI's model on held-out bags of the small zoo.

For each seed, the small model zoo (20 sources, 16x16 images) is grouped into
disjoint bags of ``--bag-size`` images, split 50/50 per source (disjoint
bags), and the pipeline of ``skfingerprint fit`` with its defaults (a
``SetFingerprintEncoder`` with post-processing augmentation followed by a
``NearestFingerprintClassifier``) is trained on the training half through
``HeldOutRejectionClassifier`` (cross-fitted, 5 folds), as ``fit`` does.  On
the test half, the top-label expected calibration error (10 equal-width
bins), the log-loss, the accuracy and the mean top probability are reported
for two temperatures of the same fitted model:

- before: the temperature fitted on the training bags with leave-one-out
  fingerprints (``temperature="auto"``, what ``fit`` saved before);
- after: the temperature fitted on the out-of-fold scores of the training
  bags (what ``fit`` saves now).

Run from the repository root::

    python -m benchmarks.calibration            # 3 seeds, CLI defaults
    python -m benchmarks.calibration --quick    # 6 sources, 1 epoch, 1 seed
    python -m benchmarks.calibration --sources siblings   # the sibling sources only
    python -m benchmarks.calibration --plot docs/images/reliability_zoo_small.png

Writes ``benchmarks/results/calibration[_siblings][_quick].md`` and ``.json``.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import sklearn
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

import skfingerprint
from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.augment import RandomPostProcessing
from skfingerprint.classifiers import HeldOutRejectionClassifier, NearestFingerprintClassifier
from skfingerprint.datasets import make_model_zoo
from skfingerprint.metrics import expected_calibration_error

N_BINS = 10
QUICK_SOURCES = 6
# --sources siblings: the zoo's sources that share a component with another
# (one U-Net's samplers, two latent U-Nets on one decoder, one GAN's
# fine-tunes, the autoencoder round trip and the real crops), where the model
# errs; the small zoo holds 10 of them
SIBLINGS = ("ae_roundtrip", "real", "ldm_a_ddim", "ldm_a_dpm_solver", "ldm_b_ddim",
            "score_ddim", "score_ddpm", "score_dpm_solver", "score_euler_a",
            "gan_ns_tconv", "gan_ns_tconv_ft_a", "gan_ns_tconv_ft_b")


def results_dir():
    """``benchmarks/results``, or ``$SKFINGERPRINT_BENCHMARK_RESULTS`` (tests)."""
    path = os.environ.get("SKFINGERPRINT_BENCHMARK_RESULTS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(path, exist_ok=True)
    return path


def cli_pipeline(bag_size, image_size, seed, epochs):
    """The Pipeline of ``skfingerprint fit`` with its defaults."""
    ep = {} if epochs is None else {"max_epochs": epochs}
    encoder = SetFingerprintEncoder(
        bag_size=bag_size, n_bags_per_model="auto", random_state=seed,
        augmentation=RandomPostProcessing(resize_scale=None), image_size=image_size,
        verbose=0, **ep)
    return Pipeline([("fingerprint", encoder), ("classify", NearestFingerprintClassifier())])


def figures(y, proba, classes):
    return {
        "ece": expected_calibration_error(y, proba, n_bins=N_BINS, labels=classes),
        "log_loss": float(log_loss(y, proba, labels=classes)),
        "accuracy": float(np.mean(classes[proba.argmax(axis=1)] == y)),
        "mean_confidence": float(proba.max(axis=1).mean()),
    }


def run_seed(images, labels, seed, args):
    X, y = make_bags(images, labels, bag_size=args.bag_size, random_state=seed)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed)
    start = time.perf_counter()
    held = HeldOutRejectionClassifier(
        cli_pipeline(args.bag_size, tuple(images.shape[1:3]), seed, args.epochs),
        random_state=seed).fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    model = held.estimator_
    encoder, classifier = model[0], model[-1]
    Z_tr, Z_te = encoder.transform(X_tr), encoder.transform(X_te)
    # the same fingerprints with the training (leave-one-out) temperature
    before = NearestFingerprintClassifier().fit(Z_tr, y_tr)
    classes = classifier.classes_
    p_before, p_after = before.predict_proba(Z_te), classifier.predict_proba(Z_te)
    return {
        "seed": seed, "sources": np.unique(y).tolist(),
        "n_train_bags": int(len(y_tr)), "n_test_bags": int(len(y_te)),
        "fit_seconds": round(seconds, 1),
        "temperature_before": before.temperature_, "temperature_after": classifier.temperature_,
        "before": figures(y_te, p_before, classes), "after": figures(y_te, p_after, classes),
    }, (y_te, p_before, p_after, classes)


def plot(path, predictions):
    from skfingerprint.visualization import ReliabilityDisplay

    y_te, p_before, p_after, classes = predictions
    disp = ReliabilityDisplay.from_predictions(
        y_te, p_before, labels=classes, n_bins=N_BINS,
        name="training temperature (leave-one-out)")
    ReliabilityDisplay.from_predictions(
        y_te, p_after, labels=classes, n_bins=N_BINS, name="held-out temperature",
        ax=disp.ax_, ref_line=False)
    disp.ax_.set_title(f"Small zoo, held-out bags of 8 ({classes.size} sources)")
    disp.figure_.set_size_inches(5, 4.5)
    disp.figure_.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    disp.figure_.savefig(path, dpi=100)
    print(f"wrote {path}")


def markdown(rows, args, env):
    lines = [
        "# Calibration of the probabilities (small zoo"
        + (", sibling sources" if args.sources == "siblings" else "") + ", CLI defaults)",
        "",
        "Generated by `python -m benchmarks.calibration"
        + (" --quick" if args.quick else "")
        + (" --sources siblings" if args.sources == "siblings" else "")
        + f"` ({len(rows[0]['sources'])} sources). Top-label ECE with "
        f"{N_BINS} equal-width bins on held-out bags of {args.bag_size} images "
        "(half of each source's bags); the same fitted model with the temperature "
        "fitted on its training bags (leave-one-out, before) or on the out-of-fold "
        "scores of its training bags (cross-fitted, after).",
        "",
        f"- machine: {env['platform']}, {env['cpu_count']} CPU(s); versions: "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"- date: {env['date']}",
        "",
        "| seed | accuracy | ECE before | ECE after | log-loss before | log-loss after "
        "| mean top p before | mean top p after | T before | T after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, a = r["before"], r["after"]
        lines.append(
            f"| {r['seed']} | {a['accuracy']:.3f} | {b['ece']:.3f} | {a['ece']:.3f} "
            f"| {b['log_loss']:.3f} | {a['log_loss']:.3f} | {b['mean_confidence']:.3f} "
            f"| {a['mean_confidence']:.3f} | {r['temperature_before']:.4g} "
            f"| {r['temperature_after']:.4g} |")
    for key in ("before", "after"):
        e = np.array([r[key]["ece"] for r in rows])
        lines.append("")
        lines.append(f"ECE {key}: mean {e.mean():.3f}, std {e.std():.3f} over "
                     f"{len(rows)} seed(s)")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SOURCES} sources, 1 epoch, seed 0 (a smoke run)")
    parser.add_argument("--seeds", default=None, help="comma-separated (default: 0,1,2)")
    parser.add_argument("--bag-size", type=int, default=8)
    parser.add_argument("--sources", choices=["all", "siblings"], default="all",
                        help="all 20 sources of the small zoo, or its siblings "
                             "(sources sharing a component), where the model errs more")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="save the reliability diagram of the first seed here")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    args.epochs = 1 if args.quick else None
    zoo = make_model_zoo("small", verbose=False)
    images, labels = zoo.images, np.asarray(zoo.labels)
    if args.sources == "siblings":
        keep = np.isin(labels, SIBLINGS)
        images, labels = images[keep], labels[keep]
    if args.quick:
        keep = np.isin(labels, np.unique(labels)[:QUICK_SOURCES])
        images, labels = images[keep], labels[keep]
    rows, first = [], None
    for seed in seeds:
        row, predictions = run_seed(images, labels, seed, args)
        print(json.dumps({k: row[k] for k in ("seed", "before", "after")}))
        rows.append(row)
        first = first or predictions
    if args.plot:
        plot(args.plot, first)
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "versions": {"python": sys.version.split()[0],
                     "skfingerprint": skfingerprint.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__},
    }
    name = "calibration" + ("_siblings" if args.sources == "siblings" else "") + (
        "_quick" if args.quick else "")
    out = results_dir()
    with open(os.path.join(out, name + ".md"), "w") as fh:
        fh.write(markdown(rows, args, env))
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump({"environment": env, "n_bins": N_BINS, "bag_size": args.bag_size,
                   "seeds": rows}, fh, indent=2)
    print(f"wrote {os.path.join(out, name)}.md/.json")
    return rows


if __name__ == "__main__":
    main()
