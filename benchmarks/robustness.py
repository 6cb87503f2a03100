"""Robustness of attribution to post-processing of the test images (issue 9).

Bag-level attribution accuracy (bags of 10, the model zoo) when the
held-out bags are clean, JPEG-compressed (quality 95, 75, 50), resized to
half size and back, or blurred (Gaussian, sigma = 1 pixel), for DSF+
(``SetFingerprintEncoder``) trained on clean bags: at its defaults (whose
``augmentation="auto"`` perturbs the training images with random JPEG and
noise), without augmentation, and with ``RandomPostProcessing()`` (random
JPEG, resizing, blur and noise), and for the baselines (residual spectra,
PRNU, a single-image CNN), all trained on clean bags.  Each method's
features feed a ``NearestFingerprintClassifier`` and an MLP, both fitted on
the clean training bags.  One stratified 50/50 split of the bags::

    python -m benchmarks.robustness [--quick] [--skip-cnn]
    python -m benchmarks.robustness --bag-size 32 --images-per-source 2000  # issue 37
    python -m benchmarks.robustness --bag-size 32 --images-per-source 2000 \
        --train-jpeg 75 --methods "DSF+ augmentation=None" "CNN (Yu)"   # a ceiling

Writes ``benchmarks/results/robustness.md`` and ``.json`` (``_quick``
suffix with ``--quick``: the small zoo of 16x16 images, 100 images per
source, 3 epochs; ``_bag<N>`` with another ``--bag-size``; ``_methods``
with ``--methods``).  Full mode: the default zoo (32x32, cached), 500
images per source (25 training and 25 test bags per source), default
epochs.  ``--methods`` runs only the methods named (e.g. ``DSF+ "DSF+
augmentation=None"``; any ``"DSF+ <setting>"`` of ``benchmarks.encoder_ablation``,
e.g. ``"DSF+ augmentation=jpeg_only"``).  ``--train-jpeg Q`` re-encodes the training bags
as JPEG of quality Q before every fit (suffix ``_trainq<Q>``): tested on
JPEG of the same quality, the methods then know the test's condition, which
bounds what training on clean images can reach there.  Each method's most
confused pairs of sources (nearest fingerprint) are listed for the clean and
the JPEG q=75 test bags.
"""

import argparse
import shlex
import sys
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, epochs_kw, format_wilson, paper_mlp,
    stratified_halves, worst_pairs, write_results, zoo_bags)

SEED = 0
FULL = dict(preset="default", images_per_source=500, bag_size=10, epochs=None)
QUICK = dict(preset="small", images_per_source=100, bag_size=10, epochs=3)

# name -> (kind, value) of skfingerprint.augment.PostProcess; None: clean
CONDITIONS = {
    "clean": None,
    "JPEG q=95": ("jpeg", 95),
    "JPEG q=75": ("jpeg", 75),
    "JPEG q=50": ("jpeg", 50),
    "resize x0.5": ("resize", 0.5),
    "blur sigma=1": ("blur", 1.0),
}


def make_methods(cfg, skip_cnn=False):
    """name -> (transformer factory, metric of NearestFingerprintClassifier)."""
    from skfingerprint.augment import RandomPostProcessing
    from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint

    ep = epochs_kw(cfg["epochs"])
    methods = {
        "DSF+": (lambda: encoder(cfg["epochs"], SEED), "euclidean"),
        "DSF+ augmentation=None": (lambda: encoder(
            cfg["epochs"], SEED, augmentation=None), "euclidean"),
        "DSF+ with augmentation": (lambda: encoder(
            cfg["epochs"], SEED, augmentation=RandomPostProcessing()), "euclidean"),
        "Spectrum (Durall/Frank)": (lambda: SpectrumFingerprint(), "correlation"),
        "PRNU (Marra)": (lambda: PRNUFingerprint(), "correlation"),
        "CNN (Yu)": (lambda: AttributionCNN(random_state=SEED, **ep), "euclidean"),
    }
    if skip_cnn:
        del methods["CNN (Yu)"]
    return methods


def _setting_method(name, cfg):
    """``"DSF+ a=1,augmentation=jpeg_only"``: the encoder with the parameters
    of a setting of ``benchmarks.encoder_ablation`` (named augmentations
    included)."""
    from sklearn.base import clone

    from benchmarks.encoder_ablation import make_estimator

    # built here, so that a bad setting fails before any fit
    estimator = make_estimator(name.partition(" ")[2], SEED, cfg["epochs"])
    return (lambda: clone(estimator), "euclidean")


def results_name(args):
    """``robustness[_bag<N>][_methods][_quick]``."""
    name = "robustness"
    if args.bag_size is not None and args.bag_size != FULL["bag_size"]:
        name += f"_bag{args.bag_size}"
    if args.train_jpeg is not None:
        name += f"_trainq{args.train_jpeg}"
    if args.methods:
        name += "_methods"
    return name + ("_quick" if args.quick else "")


def post_processed(X_test):
    """Condition -> the test bags post-processed; and the seconds it took."""
    from skfingerprint.augment import PostProcess

    start = time.perf_counter()
    X_cond = {name: X_test if pp is None else PostProcess(*pp).transform(X_test)
              for name, pp in CONDITIONS.items()}
    seconds = time.perf_counter() - start
    for name, Xc in X_cond.items():
        diff = np.abs(Xc.astype(float) - X_test).mean()
        print(f"{name:>14}: mean |change| {diff:.2f} grey levels")
    return X_cond, seconds


def evaluate(factory, metric, X_tr, y_tr, X_cond, y_te):
    """Fit on the training bags; accuracy of the nearest fingerprint and of
    the MLP under every condition, and the nearest fingerprint's confusion
    matrix (rows the true source, columns its predictions, in the order of
    the fitted classes)."""
    from sklearn.metrics import confusion_matrix

    from skfingerprint.classifiers import NearestFingerprintClassifier

    start = time.perf_counter()
    est = factory().fit(X_tr, y_tr)
    Z_tr = est.transform(X_tr)
    fit_s = time.perf_counter() - start
    nfc = NearestFingerprintClassifier(metric).fit(Z_tr, y_tr)
    net = paper_mlp(SEED).fit(Z_tr, y_tr)
    rec = {"metric": metric, "fit_seconds": fit_s, "nfc": {}, "mlp": {},
           "classes": [str(c) for c in nfc.classes_], "confusion": {}}
    start = time.perf_counter()
    for cond, Xc in X_cond.items():
        Z = est.transform(Xc)
        pred = nfc.predict(Z)
        rec["nfc"][cond] = float(np.mean(pred == y_te))
        rec["confusion"][cond] = confusion_matrix(y_te, pred, labels=nfc.classes_).tolist()
        rec["mlp"][cond] = float(np.mean(net.predict(Z) == y_te))
    rec["test_seconds"] = time.perf_counter() - start
    return rec


def table_pairs(results, conditions=("clean", "JPEG q=75"), k=3):
    """The ``k`` most confused pairs of sources of every method under each of
    ``conditions`` (nearest fingerprint, test bags)."""
    md = ["The most confused pairs of sources, nearest fingerprint (bags of A "
          "called B + bags of B called A, over the test bags of A and B):\n",
          "| method | test bags | pair A / B | A called B | B called A | rate |",
          "|---|---|---|---|---|---|"]
    for name, rec in results.items():
        for cond in conditions:
            for a, b, ab, ba, n in worst_pairs(rec["confusion"][cond], rec["classes"], k):
                md.append(f"| {name} | {cond} | `{a}` / `{b}` | {ab} | {ba} | "
                          f"{format_wilson(ab + ba, n)} |")
    return md + [""]


def markdown(cfg, zoo, results, n_train, n_test, seconds, perturb_s, command):
    chance = 1.0 / len(zoo.sources)
    n_per = cfg["images_per_source"] // cfg["bag_size"]
    md = [
        "# Robustness of attribution to post-processing\n",
        f"Zoo: preset `{cfg['preset']}` ({zoo.image_size}x{zoo.image_size}), the first "
        f"{cfg['images_per_source']} images of each of the {len(zoo.sources)} sources, "
        f"disjoint bags of {cfg['bag_size']} ({n_per} per source), one stratified 50/50 "
        f"split of the bags ({n_train} training, {n_test} test bags; chance = "
        f"{chance:.3f}). Every method is fitted on the "
        + ("clean training bags" if cfg.get("train_jpeg") is None else
           f"training bags re-encoded as JPEG quality {cfg['train_jpeg']} (`--train-jpeg`: "
           "the training knows the JPEG q=" + str(cfg["train_jpeg"]) + " test condition, "
           "a ceiling for training on clean bags there)")
        + ("" if cfg["epochs"] is None else f" (`max_epochs={cfg['epochs']}` for the "
           "networks)")
        + "; \"DSF+\" is the encoder at the library's defaults (whose "
        "`augmentation=\"auto\"` perturbs each training image at random: "
        "`RandomPostProcessing(resize_scale=None, blur_sigma=None)`, JPEG quality "
        "50-100 and noise sigma 0-2/255, each with probability 0.5), \"DSF+ "
        "augmentation=None\" is trained on the clean images as they are, "
        "\"DSF+ with augmentation\" adds blur sigma 0-1 and resizing x0.5-1 "
        "(`augmentation=RandomPostProcessing()`). The test bags are post-processed with "
        "`skfingerprint.augment.PostProcess`. The test perturbations lie within "
        "the range of the training augmentation, a favourable setting for it. "
        f"Total run time {seconds / 60:.1f} min.\n",
    ]
    for clf_name, key in (("`NearestFingerprintClassifier`", "nfc"),
                          ("`StandardScaler -> MLPClassifier((128, 64))`", "mlp")):
        md += [
            f"Bag-level accuracy, {clf_name} on the features (95% Wilson "
            f"interval over the {n_test} test bags):\n",
            "| method | " + " | ".join(CONDITIONS) + " |",
            "|---|" + "---|" * len(CONDITIONS),
        ]
        for name, rec in results.items():
            extra = f" ({rec['metric']})" if key == "nfc" else ""
            md.append(f"| {name}{extra} | "
                      + " | ".join(format_wilson(round(rec[key][c] * n_test), n_test)
                                   for c in CONDITIONS) + " |")
        md.append("")
    md += table_pairs(results)
    md += [
        "Seconds: fit + transform of the training bags, and transform + predict "
        "of the test bags under all conditions:\n",
        "| method | fit (s) | test (s) |",
        "|---|---|---|",
    ]
    md += [f"| {name} | {rec['fit_seconds']:.1f} | {rec['test_seconds']:.1f} |"
           for name, rec in results.items()]
    md += ["", f"Post-processing all test bags: {perturb_s:.1f} s.", "",
           env_markdown(environment()),
           f"Reproduce: `{command}`\n"]
    return "\n".join(md)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small zoo, 100 images per source, 3 epochs: a smoke run")
    parser.add_argument("--skip-cnn", action="store_true", help="leave out the CNN baseline")
    parser.add_argument("--bag-size", type=int, default=None,
                        help="images per bag (default 10)")
    parser.add_argument("--images-per-source", type=int, default=None,
                        help="the first N images of every source (default 500)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                        help="run only these methods (names of the table)")
    parser.add_argument("--train-jpeg", type=int, default=None, metavar="Q",
                        help="re-encode the training bags as JPEG of quality Q first")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.bag_size is not None:
        cfg["bag_size"] = args.bag_size
    if args.images_per_source is not None:
        cfg["images_per_source"] = args.images_per_source
    cfg["train_jpeg"] = args.train_jpeg
    methods = make_methods(cfg, args.skip_cnn)
    if args.methods:
        for name in args.methods:
            if name.startswith("DSF+ ") and name not in methods:
                try:
                    methods[name] = _setting_method(name, cfg)
                except (TypeError, ValueError) as exc:
                    parser.error(f"method {name!r}: {exc}")
        unknown = sorted(set(args.methods) - set(methods))
        if unknown:
            parser.error(f"unknown methods {unknown}; choose from {sorted(methods)}")
        methods = {name: methods[name] for name in args.methods}
    t_all = time.perf_counter()
    zoo, X, y = zoo_bags(cfg["preset"], cfg["images_per_source"], cfg["bag_size"], SEED)
    train, test = stratified_halves(y, SEED)
    X_cond, perturb_s = post_processed(X[test])
    X_train = X[train]
    if args.train_jpeg is not None:
        from skfingerprint.augment import PostProcess

        X_train = PostProcess("jpeg", args.train_jpeg).transform(X_train)
    results = {}
    for name, (factory, metric) in methods.items():
        results[name] = rec = evaluate(factory, metric, X_train, y[train], X_cond, y[test])
        print(f"{name}: " + ", ".join(f"{c} {rec['mlp'][c]:.2f}" for c in CONDITIONS)
              + f" (MLP); fit {rec['fit_seconds']:.1f} s", flush=True)
    seconds = time.perf_counter() - t_all
    command = "python -m benchmarks.robustness " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    md = markdown(cfg, zoo, results, len(train), len(test), seconds, perturb_s,
                  command.strip())
    write_results(results_name(args), md, {
        "env": environment(), "config": cfg, "seed": SEED, "seconds": seconds,
        "conditions": {k: v for k, v in CONDITIONS.items()}, "results": results})
    print(f"done in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
