"""Calibration of the probabilities of the CLI's model on held-out bags.

Three data sets, each with ``skfingerprint fit``'s defaults and bags of 8
(the CLI's default ``--bag-size``):

* the small zoo (the default: ``make_model_zoo("small")``, 20 sources,
  16x16 images, every image);
* the default zoo (``--preset default``: ``make_model_zoo("default")``, 22
  sources, 32x32 images, the first ``--n-per-source`` images of each source,
  512 by default; the zoo must have been built, which takes hours);
* the real-world set (``--set realworld``: the zoo's fully convolutional
  sources sampled at 192 px and real crops, cropped to mixed sizes of
  96-192 px, half JPEG, half PNG, as in :mod:`benchmarks.real_world`; 8
  sources, 128 images each).

On the zoos, for each seed the images are grouped into disjoint bags, the
bags are split 50/50 per source, and the pipeline of ``fit`` (a
``SetFingerprintEncoder`` with post-processing augmentation followed by a
``NearestFingerprintClassifier``) is trained on the training half through
``HeldOutRejectionClassifier`` (cross-fitted, 5 folds), as ``fit`` does.  The
test half is scored with two temperatures of the same fitted model:

- before: the temperature fitted on the training bags with leave-one-out
  fingerprints (``temperature="auto"``, what ``fit`` saved before);
- after: the temperature fitted on the out-of-fold scores of the training
  bags (what ``fit`` saves).

On the real-world set the command line itself runs: for each seed, half of
each source's files (drawn at random) are copied to ``train/<source>/`` and
the other half to ``test/<source>/``, ``skfingerprint fit train -o
model.skfp --seed SEED`` trains with its defaults, and ``skfingerprint
attribute model.skfp FILES --bag-size 8 --json`` gives the probabilities a
user reads for ``--draws`` draws of disjoint bags of the test files (each
draw covers every test file once; the draws share files, so they are not
independent).

Reported: the top-label expected calibration error (10 equal-width bins),
its 95% bootstrap interval, the log-loss, the accuracy, the mean top
probability and the number of test bags, per seed and pooled over the
seeds.  The bootstrap resamples test bags with replacement within each
source; on the real-world set each replicate draws only as many bags as the
draws hold independent ones (test files / bag size), so that the shared
files do not narrow the interval.

Run from the repository root::

    python -m benchmarks.calibration            # small zoo, 3 seeds
    python -m benchmarks.calibration --preset default            # default zoo, 3 seeds
    python -m benchmarks.calibration --set realworld             # real-world set, 3 seeds
    python -m benchmarks.calibration --sources siblings   # the small zoo's sibling sources
    python -m benchmarks.calibration --quick    # 6 sources, 1 epoch, 1 seed
    python -m benchmarks.calibration --set realworld --quick  # 16 images at 96 px, bags of 2
    python -m benchmarks.calibration --plot docs/images/reliability_zoo_small.png

Writes ``benchmarks/results/calibration[_default|_realworld][_siblings][_quick]``
``.md`` and ``.json`` (``calibration.md``: the small zoo; ``--n-per-source``
other than the default adds ``_n<N>``).
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import tempfile
import time

import numpy as np
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline

import skfingerprint
from benchmarks._common import (
    env_markdown,
    environment,
    halves_per_source,
    stratified_halves,
    write_results,
    zoo_subset,
)
from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.augment import RandomPostProcessing
from skfingerprint.classifiers import HeldOutRejectionClassifier, NearestFingerprintClassifier
from skfingerprint.metrics import expected_calibration_error

N_BINS = 10
N_BOOTSTRAP = 1000
QUICK_SOURCES = 6
# --sources siblings: the zoo's sources that share a component with another
# (one U-Net's samplers, two latent U-Nets on one decoder, one GAN's
# fine-tunes, the autoencoder round trip and the real crops), where the model
# errs; the small zoo holds 10 of them
SIBLINGS = ("ae_roundtrip", "real", "ldm_a_ddim", "ldm_a_dpm_solver", "ldm_b_ddim",
            "score_ddim", "score_ddpm", "score_dpm_solver", "score_euler_a",
            "gan_ns_tconv", "gan_ns_tconv_ft_a", "gan_ns_tconv_ft_b")
# images per source by default: (data set, quick) -> n (None: every image)
N_PER_SOURCE = {("small", False): None, ("small", True): None,
                ("default", False): 512, ("default", True): 64,
                ("realworld", False): 128, ("realworld", True): 16}
TITLES = {"small": "Small zoo", "default": "Default zoo", "realworld": "Real-world set"}


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


def ece_interval(y, proba, classes, *, n_independent=None, seed=0):
    """95% bootstrap interval of the ECE: each replicate draws, within each
    source, bags with replacement (``n_independent`` in all, shared out by
    source; default: as many as there are)."""
    y = np.asarray(y)
    rng = np.random.RandomState(seed)
    share = 1.0 if n_independent is None else n_independent / len(y)
    by_source = [np.flatnonzero(y == s) for s in np.unique(y)]
    values = []
    for _ in range(N_BOOTSTRAP):
        idx = np.concatenate([rng.choice(i, size=max(1, int(round(i.size * share))))
                              for i in by_source])
        values.append(expected_calibration_error(y[idx], proba[idx], n_bins=N_BINS,
                                                 labels=classes))
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


# ------------------------------------------------------------------ zoos
def zoo_data(args):
    """Images and labels of the zoo ``args.preset``, as ``--sources`` and
    ``--quick`` ask (the first ``args.n_per_source`` images of each source)."""
    _, images, labels = zoo_subset(args.preset, args.n_per_source)
    labels = np.asarray(labels)
    keep = np.ones(len(labels), bool)
    if args.sources == "siblings":
        keep &= np.isin(labels, SIBLINGS)
    if args.quick:
        keep &= np.isin(labels, np.unique(labels[keep])[:QUICK_SOURCES])
    return images[keep], labels[keep]


def run_zoo_seed(images, labels, seed, args):
    X, y = make_bags(images, labels, bag_size=args.bag_size, random_state=seed)
    train, test = stratified_halves(y, seed)
    X_tr, X_te, y_tr, y_te = X[train], X[test], y[train], y[test]
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
        "n_independent_test_bags": int(len(y_te)),
        "fit_seconds": round(seconds, 1),
        "temperature_before": before.temperature_, "temperature_after": classifier.temperature_,
        "before": figures(y_te, p_before, classes), "after": figures(y_te, p_after, classes),
        "ece_after_95": ece_interval(y_te, p_after, classes, seed=seed),
    }, {"y": y_te, "classes": classes, "before": p_before, "after": p_after}


# ------------------------------------------------------------ real world
def copy_split(paths, labels, idx, root):
    """Copy ``paths[idx]`` to ``root/<label>/``; returns the copies' paths."""
    out = []
    for path, label in zip(paths[idx], labels[idx]):
        folder = os.path.join(root, str(label))
        os.makedirs(folder, exist_ok=True)
        out.append(os.path.join(folder, os.path.basename(path)))
        shutil.copyfile(path, out[-1])
    return np.array(out, dtype=object)


def cli(argv):
    """``skfingerprint ARGV`` through the Python entry point; returns its stdout."""
    from skfingerprint.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"skfingerprint {' '.join(argv[:2])} ... exited with {status}")
    return buffer.getvalue()


def attribute_proba(model_path, X, classes):
    """The probabilities ``skfingerprint attribute --json`` prints for the bags
    ``X`` (each row a bag of files), columns in the order of ``classes``."""
    out = json.loads(cli(["attribute", model_path, *X.ravel().tolist(),
                          "--bag-size", str(X.shape[1]), "--json"]))
    bags = out["bags"]
    if len(bags) != len(X) or any(b["files"] != list(x) for b, x in zip(bags, X)):
        raise RuntimeError("attribute did not keep the bags it was given")
    proba = np.array([[b["probabilities"][str(c)] for c in classes] for b in bags])
    return proba, out["probability_calibration"]


def fit_cli(train_root, model_path, seed, args):
    """``skfingerprint fit`` with its defaults (but ``--seed``, and the quick
    run's ``--epochs`` and ``--bag-size``); returns its seconds."""
    argv = ["fit", train_root, "-o", model_path, "--seed", str(seed), "--quiet"]
    if args.epochs is not None:
        argv += ["--epochs", str(args.epochs)]
    if args.bag_size != 8:
        argv += ["--bag-size", str(args.bag_size)]
    start = time.perf_counter()
    cli(argv)
    return time.perf_counter() - start


def run_realworld_seed(paths, labels, root, seed, args):
    train, test = halves_per_source(labels, seed)
    work = os.path.join(root, f"seed{seed}")
    copy_split(paths, labels, train, os.path.join(work, "train"))
    test_paths = copy_split(paths, labels, test, os.path.join(work, "test"))
    model_path = os.path.join(work, "model.skfp")
    seconds = fit_cli(os.path.join(work, "train"), model_path, seed, args)
    model = skfingerprint.load(model_path)
    classes = model[-1].classes_
    draws = [make_bags(test_paths, labels[test], bag_size=args.bag_size,
                       random_state=1000 * seed + d) for d in range(args.draws)]
    X = np.concatenate([d[0] for d in draws])
    y = np.concatenate([d[1] for d in draws])
    proba, calibration = attribute_proba(model_path, X, classes)
    n_independent = len(draws[0][1])
    return {
        "seed": seed, "sources": classes.tolist(),
        "n_train_images": int(len(train)), "n_test_images": int(len(test)),
        "n_test_bags": int(len(y)), "n_draws": args.draws,
        "n_independent_test_bags": int(n_independent),
        "fit_seconds": round(seconds, 1), "probability_calibration": calibration,
        "temperature_after": float(model[-1].temperature_),
        "after": figures(y, proba, classes),
        "ece_after_95": ece_interval(y, proba, classes, n_independent=n_independent,
                                     seed=seed),
    }, {"y": y, "classes": classes, "after": proba}


def realworld_rows(args, seeds):
    from benchmarks.real_world import make_zoo_set

    rows, predictions = [], []
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        paths, labels, _ = make_zoo_set(os.path.join(root, "set"), args.n_per_source,
                                        sample_size=args.sample_size)
        print(f"set of {len(paths)} files written in {time.perf_counter() - start:.0f} s")
        for seed in seeds:
            row, pred = run_realworld_seed(paths, labels, root, seed, args)
            print(json.dumps({k: row[k] for k in ("seed", "after", "ece_after_95")}))
            rows.append(row)
            predictions.append(pred)
    return rows, predictions


# ---------------------------------------------------------------- output
def pooled(rows, predictions):
    """The figures of every seed's test bags together, and their interval."""
    classes = predictions[0]["classes"]
    if any(not np.array_equal(p["classes"], classes) for p in predictions):
        raise RuntimeError("the seeds' models know different sources")
    y = np.concatenate([p["y"] for p in predictions])
    result = {"n_test_bags": int(len(y)),
              "n_independent_test_bags": int(sum(r["n_independent_test_bags"] for r in rows))}
    for key in ("before", "after"):
        if key in predictions[0]:
            result[key] = figures(y, np.concatenate([p[key] for p in predictions]), classes)
    result["ece_after_95"] = ece_interval(
        y, np.concatenate([p["after"] for p in predictions]), classes,
        n_independent=result["n_independent_test_bags"])
    return result


def data_name(args):
    return "realworld" if args.set_name == "realworld" else args.preset


def plot(path, predictions, args):
    from skfingerprint.visualization import ReliabilityDisplay

    y, classes = predictions["y"], predictions["classes"]
    disp, ref = None, True
    if "before" in predictions:
        disp = ReliabilityDisplay.from_predictions(
            y, predictions["before"], labels=classes, n_bins=N_BINS,
            name="training temperature (leave-one-out)")
        ref = False
    disp = ReliabilityDisplay.from_predictions(
        y, predictions["after"], labels=classes, n_bins=N_BINS,
        name="held-out temperature" + ("" if disp else " (saved by fit)"),
        ax=None if disp is None else disp.ax_, ref_line=ref)
    disp.ax_.set_title(f"{TITLES[data_name(args)]}, held-out bags of {args.bag_size} "
                       f"({classes.size} sources)")
    disp.figure_.set_size_inches(5, 4.5)
    disp.figure_.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    disp.figure_.savefig(path, dpi=100)
    print(f"wrote {path}")


def command_line(args):
    """The command that reproduces the run (the options that differ from the defaults)."""
    parts = ["python -m benchmarks.calibration"]
    if args.set_name == "realworld":
        parts.append("--set realworld")
    elif args.preset != "small":
        parts.append(f"--preset {args.preset}")
    if args.n_per_source != N_PER_SOURCE[data_name(args), args.quick]:
        parts.append(f"--n-per-source {args.n_per_source}")
    if args.sources == "siblings":
        parts.append("--sources siblings")
    if args.quick:
        parts.append("--quick")
    if args.seeds_given:
        parts.append(f"--seeds {','.join(map(str, args.seeds))}")
    return " ".join(parts)


def describe(args, rows):
    """The paragraph that says what was measured."""
    n = len(rows[0]["sources"])
    per_source = ("every image" if args.n_per_source is None
                  else f"the first {args.n_per_source} images")
    if args.set_name == "realworld":
        return (f"The real-world set ({n} sources, {args.n_per_source} images each, "
                f"sampled at {args.sample_size} px, cropped to "
                + (f"96-{args.sample_size}" if args.sample_size > 96 else "96") + " px, "
                "half JPEG, half PNG). Per seed, half of each source's files train "
                "`skfingerprint fit` with its defaults"
                + ("" if args.epochs is None else f" but {args.epochs} epoch(s)")
                + f"; the other half, in {args.draws} draws of disjoint bags of "
                f"{args.bag_size} files, is scored by `skfingerprint attribute --json` "
                "(the probabilities a user reads: the temperature `fit` fitted on the "
                "out-of-fold scores of its training bags). The draws share files: the "
                "interval's bootstrap draws as many bags as are independent.")
    return (f"{TITLES[args.preset]} ({n} sources, {per_source} of each source), "
            f"disjoint bags of {args.bag_size} split 50/50 per source; the pipeline of "
            "`skfingerprint fit` with its defaults"
            + ("" if args.epochs is None else f" but {args.epochs} epoch(s)")
            + ", cross-fitted as `fit` does; the same fitted model with the temperature "
            "fitted on its training bags (leave-one-out, before) or on the out-of-fold "
            "scores of its training bags (cross-fitted, after: what `fit` saves).")


def ece_with_interval(row):
    low, high = row["ece_after_95"]
    return f"{row['after']['ece']:.3f} [{low:.3f}, {high:.3f}]"


def markdown(rows, total, args, env):
    both = "before" in rows[0]
    lines = [f"# Calibration of the probabilities ({TITLES[data_name(args)]}"
             + (", sibling sources" if args.sources == "siblings" else "")
             + ", CLI defaults)", "",
             f"Generated by `{command_line(args)}`. Top-label ECE with {N_BINS} "
             f"equal-width bins on held-out bags of {args.bag_size} images, with its 95% "
             f"bootstrap interval ({N_BOOTSTRAP} replicates, bags resampled within each "
             "source). " + describe(args, rows), "", env_markdown(env),
             "| seed | test bags (independent) | accuracy | ECE [95%] | log-loss "
             "| mean top p | T |" + (" ECE before | log-loss before | T before |" if both else "")
             + " fit s |",
             "|---" * (8 + 3 * both) + "|"]
    for r in rows + [dict(total, seed="pooled", fit_seconds="")]:
        a = r["after"]
        line = (f"| {r['seed']} | {r['n_test_bags']} ({r['n_independent_test_bags']}) "
                f"| {a['accuracy']:.3f} | {ece_with_interval(r)} | {a['log_loss']:.3f} "
                f"| {a['mean_confidence']:.3f} | "
                + (f"{r['temperature_after']:.4g}" if "temperature_after" in r else "") + " |")
        if both:
            b = r["before"]
            line += (f" {b['ece']:.3f} | {b['log_loss']:.3f} | "
                     + (f"{r['temperature_before']:.4g}" if "temperature_before" in r else "")
                     + " |")
        lines.append(line + f" {r['fit_seconds']} |")
    e = np.array([r["after"]["ece"] for r in rows])
    lines += ["", f"ECE (after) per seed: mean {e.mean():.3f}, std {e.std():.3f} over "
              f"{len(rows)} seed(s); pooled over the seeds' {total['n_test_bags']} test "
              f"bags: {ece_with_interval(total)}."]
    return "\n".join(lines) + "\n"


def results_name(args):
    name = "calibration" + ("" if data_name(args) == "small" else "_" + data_name(args))
    if args.n_per_source != N_PER_SOURCE[data_name(args), args.quick]:
        name += f"_n{args.n_per_source}"
    return name + ("_siblings" if args.sources == "siblings" else "") + (
        "_quick" if args.quick else "")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", dest="set_name", choices=["zoo", "realworld"], default="zoo",
                        help="a model zoo (--preset) or the real-world set of "
                             "benchmarks.real_world (mixed sizes, half JPEG), through the CLI")
    parser.add_argument("--preset", choices=["small", "default"], default="small",
                        help="the zoo (--set zoo): small (20 sources, 16 px) or default "
                             "(22 sources, 32 px; must be built)")
    parser.add_argument("--n-per-source", type=int, default=None,
                        help="images per source: the first N of each (default: small zoo "
                             "every image, default zoo 512, real-world 128; quick 64 and 16)")
    parser.add_argument("--quick", action="store_true",
                        help=f"zoos: {QUICK_SOURCES} sources, 1 epoch, seed 0; real-world: "
                             "16 images per source sampled at 96 px, bags of 2, 1 epoch")
    parser.add_argument("--seeds", default=None, help="comma-separated (default: 0,1,2)")
    parser.add_argument("--bag-size", type=int, default=None,
                        help="default: 8, the CLI's (real-world --quick: 2)")
    parser.add_argument("--draws", type=int, default=8,
                        help="real-world: draws of disjoint test bags per seed (default 8)")
    parser.add_argument("--sources", choices=["all", "siblings"], default="all",
                        help="zoos: every source, or the siblings (sources sharing a "
                             "component), where the model errs more")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="save the reliability diagram of the first seed here")
    args = parser.parse_args(argv)
    if args.set_name == "realworld" and args.sources != "all":
        parser.error("--sources siblings applies to the zoos")
    args.seeds_given = args.seeds is not None
    args.seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    args.epochs = 1 if args.quick else None
    if args.n_per_source is None:
        args.n_per_source = N_PER_SOURCE[data_name(args), args.quick]
    realworld_quick = args.set_name == "realworld" and args.quick
    if args.bag_size is None:
        # the quick set's 8 training images per source make 4 bags of 2, enough
        # for fit's cross-fitted calibration (it needs 3 bags per source)
        args.bag_size = 2 if realworld_quick else 8
    args.sample_size = 96 if realworld_quick else 192
    return args


def main(argv=None):
    args = parse_args(argv)
    env = environment()
    if args.set_name == "realworld":
        rows, predictions = realworld_rows(args, args.seeds)
    else:
        images, labels = zoo_data(args)
        rows, predictions = [], []
        for seed in args.seeds:
            row, pred = run_zoo_seed(images, labels, seed, args)
            print(json.dumps({k: row[k] for k in ("seed", "before", "after", "ece_after_95")}))
            rows.append(row)
            predictions.append(pred)
    total = pooled(rows, predictions)
    if args.plot:
        plot(args.plot, predictions[0], args)
    settings = {k: v for k, v in vars(args).items()}
    write_results(results_name(args), markdown(rows, total, args, env),
                  {"environment": env, "settings": settings, "n_bins": N_BINS,
                   "n_bootstrap": N_BOOTSTRAP, "bag_size": args.bag_size,
                   "seeds": rows, "pooled": total})
    return rows


if __name__ == "__main__":
    main()
