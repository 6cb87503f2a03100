"""Enrollment (and the first open-set measures) on the model zoo (issue 9).

The open-set benchmark of issue 17 (conformal thresholds, few bags) is
``benchmarks.open_set``; this script keeps the leave-one-source-out run
of issue 9 for the enrollment table.

Leave one source out: for every source ``s`` of the zoo, a
``SetFingerprintEncoder`` is fitted on the training bags of the *other*
sources only, and a ``NearestFingerprintClassifier(reject_threshold="auto")``
on their fingerprints.  Then:

* **open set** (printed; the tables of ``results/open_set.md`` are
  ``benchmarks.open_set``'s): the held-out bags of the known
  sources and the held-out bags of ``s`` (never seen) are scored; AUROC of
  known-vs-unknown for the classifier's ``unknown_score`` (distance to the
  nearest fingerprint; euclidean and correlation) against ``1 - max
  predict_proba`` of an MLP trained on the same fingerprints; accuracy on
  the known sources; at the calibrated threshold (``false_rejection_rate=
  0.05``), the fraction of known bags rejected and of unknown bags rejected.
* **enrollment** (``results/enrollment.md``), with the same fitted encoder:
  ``s`` is enrolled (``classifier.enroll``, no retraining) from 1, 2, 5 or 10
  of its training bags (5 random draws of them, averaged); accuracy on the
  held-out bags of ``s`` and on the known sources afterwards.

Bags of 10 images, disjoint; a stratified 50/50 split of the bags into
training and held-out halves (the same for every left-out source).  One
command writes both tables::

    python -m benchmarks.enrollment [--quick] [--sources real,vae_plain]

``--quick``: the small
zoo (16x16), 200 images per source, 3 epochs; results get a ``_quick``
suffix (and ``_partial`` with ``--sources``).  Full mode: the default zoo
(13 sources x 2000 images of 32x32, cached), 400 images per source, the
encoder's default epochs.
"""

import argparse
import copy
import time

import numpy as np

from benchmarks._common import (
    closed_set, env_markdown, environment, epochs_kw, paper_mlp, stratified_halves,
    write_results, zoo_bags)

SEED = 0
FULL = dict(preset="default", images_per_source=400, bag_size=10, epochs=None,
            enroll_bags=(1, 2, 5, 10), enroll_repeats=5)
QUICK = dict(preset="small", images_per_source=200, bag_size=10, epochs=3,
             enroll_bags=(1, 2, 5, 10), enroll_repeats=5)


def held_out_calibration(nfc, Z_te, y_te, unknown, s):
    """FRR when the threshold is calibrated on half of the held-out known bags.

    ``calibrate_threshold`` on one half of the known held-out bags (seen
    neither by the encoder nor by the classifier), rates measured on the
    other half and on the unknown bags.
    """
    from sklearn.model_selection import train_test_split

    known = np.flatnonzero(~unknown)
    cal, ev = train_test_split(known, test_size=0.5, stratify=y_te[known],
                               random_state=SEED)
    clf = copy.deepcopy(nfc).calibrate_threshold(Z_te[cal], y_te[cal])
    return {
        "false_rejection_rate_heldout_cal": float(np.mean(
            clf.predict(Z_te[ev]) == "unknown")),
        "unknown_rejected_heldout_cal": float(np.mean(
            clf.predict(Z_te[unknown]) == "unknown")),
    }


def held_out_classifier(X, y, known_tr, test, unknown, s, ep):
    """The recommended path: ``HeldOutRejectionClassifier`` around the Pipeline.

    A second encoder, fitted on 80% of the known training bags; the threshold
    is set on the other 20% (which are then enrolled).  Rates on the same
    held-out bags as the other columns.
    """
    from sklearn.pipeline import Pipeline

    from skfingerprint import SetFingerprintEncoder
    from skfingerprint.classifiers import (
        HeldOutRejectionClassifier, NearestFingerprintClassifier)

    pipe = Pipeline([
        ("fp", SetFingerprintEncoder(random_state=SEED, **ep)),
        ("clf", NearestFingerprintClassifier("euclidean", reject_threshold="auto")),
    ])
    model = HeldOutRejectionClassifier(pipe, calibration_size=0.2, random_state=SEED)
    model.fit(X[known_tr], y[known_tr])
    pred = model.predict(X[test])
    y_te = y[test]
    return {
        "false_rejection_rate_heldout_classifier": float(np.mean(
            pred[~unknown] == "unknown")),
        "unknown_rejected_heldout_classifier": float(np.mean(pred[unknown] == "unknown")),
        "known_accuracy_heldout_classifier_open": float(np.mean(
            pred[~unknown] == y_te[~unknown])),
    }


def run_source(s, X, y, train, test, cfg):
    """Everything measured with ``s`` left out; returns (open set, enrollment)."""
    from sklearn.metrics import roc_auc_score

    from skfingerprint import SetFingerprintEncoder
    from skfingerprint.classifiers import NearestFingerprintClassifier

    ep = epochs_kw(cfg["epochs"])
    known_tr = train[y[train] != s]
    start = time.perf_counter()
    enc = SetFingerprintEncoder(random_state=SEED, **ep).fit(X[known_tr], y[known_tr])
    fit_s = time.perf_counter() - start
    Z_tr, y_tr = enc.transform(X[known_tr]), y[known_tr]
    Z_te, y_te = enc.transform(X[test]), y[test]
    Z_enr = enc.transform(X[train[y[train] == s]])
    unknown = y_te == s

    nfc = NearestFingerprintClassifier("euclidean", reject_threshold="auto").fit(Z_tr, y_tr)
    nfc_corr = NearestFingerprintClassifier("correlation", reject_threshold="auto").fit(
        Z_tr, y_tr)
    net = paper_mlp(SEED).fit(Z_tr, y_tr)
    pred = nfc.predict(Z_te)
    open_set = {
        "auroc_nfc_euclidean": float(roc_auc_score(unknown, nfc.unknown_score(Z_te))),
        "auroc_nfc_correlation": float(roc_auc_score(unknown, nfc_corr.unknown_score(Z_te))),
        "auroc_mlp_1_minus_max_proba": float(roc_auc_score(
            unknown, 1.0 - net.predict_proba(Z_te).max(axis=1))),
        "known_accuracy_nfc": float(np.mean(closed_set(nfc, Z_te[~unknown]) == y_te[~unknown])),
        "known_accuracy_mlp": float(np.mean(net.predict(Z_te[~unknown]) == y_te[~unknown])),
        "known_accuracy_nfc_open": float(np.mean(pred[~unknown] == y_te[~unknown])),
        "false_rejection_rate": float(np.mean(pred[~unknown] == "unknown")),
        "unknown_rejected": float(np.mean(pred[unknown] == "unknown")),
        "threshold": nfc.threshold_,
        **held_out_calibration(nfc, Z_te, y_te, unknown, s),
        "fit_seconds": fit_s,
        **held_out_classifier(X, y, known_tr, test, unknown, s, ep),
        "n_known_test_bags": int((~unknown).sum()),
        "n_unknown_test_bags": int(unknown.sum()),
    }

    return open_set, enroll(nfc, Z_enr, Z_te, y_te, unknown, s, cfg)


def enroll(nfc, Z_enr, Z_te, y_te, unknown, s, cfg):
    """``s`` enrolled from k of its training bags (``Z_enr``), for each k of
    ``cfg["enroll_bags"]``, ``cfg["enroll_repeats"]`` draws averaged."""
    rng = np.random.default_rng(SEED)
    enrollment = {}
    for k in cfg["enroll_bags"]:
        if k > len(Z_enr):
            continue
        rec = {key: [] for key in ("new_accuracy", "new_accuracy_open", "new_rejected",
                                   "known_accuracy")}
        for _ in range(cfg["enroll_repeats"]):
            clf = copy.deepcopy(nfc)
            clf.enroll(Z_enr[rng.choice(len(Z_enr), size=k, replace=False)], s)
            closed = closed_set(clf, Z_te)
            opened = clf.predict(Z_te)
            rec["new_accuracy"].append(np.mean(closed[unknown] == s))
            rec["new_accuracy_open"].append(np.mean(opened[unknown] == s))
            rec["new_rejected"].append(np.mean(opened[unknown] == "unknown"))
            rec["known_accuracy"].append(np.mean(closed[~unknown] == y_te[~unknown]))
        enrollment[k] = {key: float(np.mean(v)) for key, v in rec.items()}
    return enrollment


def setup_text(cfg, zoo, seconds):
    """The description of the data and of the fits, shared by the tables."""
    n_per = cfg["images_per_source"] // cfg["bag_size"]
    return (
        f"Zoo: preset `{cfg['preset']}` ({zoo.image_size}x{zoo.image_size}), the first "
        f"{cfg['images_per_source']} images of each of the {len(zoo.sources)} sources, "
        f"disjoint bags of {cfg['bag_size']} ({n_per} per source), stratified 50/50 "
        "split into training and held-out bags. For each left-out source: "
        "`SetFingerprintEncoder(random_state=0"
        + ("" if cfg["epochs"] is None else f", max_epochs={cfg['epochs']}")
        + ")` fitted on the training bags of the other sources only. "
        f"Total run time {seconds / 60:.1f} min."
    )


def enrollment_markdown(setup, cfg, zoo, sources, open_rows, enroll_rows, quick):
    """The enrollment tables; returns ``(markdown, summary)`` (the means over
    the left-out sources, per number of enrollment bags)."""
    known_before = float(np.mean([open_rows[s]["known_accuracy_nfc"] for s in sources]))
    ks = [k for k in cfg["enroll_bags"] if all(k in enroll_rows[s] for s in sources)]
    md = [
        "# Enrolling a new source without retraining\n",
        setup + "\n",
        "The left-out source is enrolled into the fitted "
        "`NearestFingerprintClassifier('euclidean', reject_threshold='auto')` "
        "(`enroll`: its fingerprint is the mean of k of its training bags, "
        f"{cfg['enroll_repeats']} random draws averaged); the encoder never saw "
        "it. Accuracy on its held-out bags (closed set: nearest fingerprint), "
        "and on the held-out bags of the known sources before and after.\n",
        "| left-out source | family | " + " | ".join(f"new acc. k={k}" for k in ks)
        + " | known acc. before | known acc. after (k=" + str(ks[-1]) + ") |",
        "|---|---|" + "---|" * (len(ks) + 2),
    ]
    for s in sources:
        e = enroll_rows[s]
        md.append(f"| {s} | {zoo.families[s]} | "
                  + " | ".join(f"{e[k]['new_accuracy']:.3f}" for k in ks)
                  + f" | {open_rows[s]['known_accuracy_nfc']:.3f} | "
                  f"{e[ks[-1]]['known_accuracy']:.3f} |")
    summary = {k: {key: float(np.mean([enroll_rows[s][k][key] for s in sources]))
                   for key in enroll_rows[sources[0]][k]} for k in ks}
    md.append("| **mean** | | " + " | ".join(
        f"**{summary[k]['new_accuracy']:.3f}**" for k in ks)
        + f" | **{known_before:.3f}** | "
        f"**{summary[ks[-1]]['known_accuracy']:.3f}** |")
    md += [
        "",
        "Means over the left-out sources, with the calibrated rejection kept "
        "(`threshold_` is not recalibrated by `enroll`):\n",
        "| enrollment bags k | new acc. (closed set) | new acc. (open set) | "
        "new-source bags rejected | known acc. after |",
        "|---|---|---|---|---|",
    ]
    for k in ks:
        m = summary[k]
        md.append(f"| {k} | {m['new_accuracy']:.3f} | {m['new_accuracy_open']:.3f} | "
                  f"{m['new_rejected']:.3f} | {m['known_accuracy']:.3f} |")
    md += ["", env_markdown(environment()),
           f"Reproduce: `python -m benchmarks.enrollment{' --quick' if quick else ''}` "
           "\n"]
    return "\n".join(md), summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small zoo, 200 images per source, 3 epochs: a smoke run")
    parser.add_argument("--sources", default=None,
                        help="comma-separated sources to leave out (default: all)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    t_all = time.perf_counter()
    zoo, X, y = zoo_bags(cfg["preset"], cfg["images_per_source"], cfg["bag_size"], SEED)
    sources = zoo.sources if args.sources is None else args.sources.split(",")
    unknown_sources = sorted(set(sources) - set(zoo.sources))
    if unknown_sources:
        parser.error(f"unknown sources {unknown_sources}; the zoo has {zoo.sources}")
    train, test = stratified_halves(y, SEED)
    open_rows, enroll_rows = {}, {}
    for s in sources:
        open_rows[s], enroll_rows[s] = run_source(s, X, y, train, test, cfg)
        o = open_rows[s]
        print(f"{s:>20}: AUROC nfc {o['auroc_nfc_euclidean']:.3f} mlp "
              f"{o['auroc_mlp_1_minus_max_proba']:.3f}, known acc "
              f"{o['known_accuracy_nfc']:.3f}, FRR {o['false_rejection_rate']:.3f}, "
              f"fit {o['fit_seconds']:.1f} s", flush=True)
    seconds = time.perf_counter() - t_all
    # a subset of left-out sources must not overwrite the tables of all of them
    suffix = ("_quick" if args.quick else "") + ("" if args.sources is None else "_partial")
    md, summary = enrollment_markdown(setup_text(cfg, zoo, seconds), cfg, zoo, sources,
                                      open_rows, enroll_rows, args.quick)
    write_results("enrollment" + suffix, md, {
        "env": environment(), "config": cfg, "seed": SEED, "seconds": seconds,
        "per_source": {s: {str(k): v for k, v in enroll_rows[s].items()} for s in sources},
        "mean": {str(k): v for k, v in summary.items()}})
    print(f"done in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
