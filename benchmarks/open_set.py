"""Open set with a finite-sample guarantee, and which unknown score (issue 17).

Leave one source out on the model zoo: for every source ``s``, the
``SetFingerprintEncoder`` and the ``NearestFingerprintClassifier`` are fitted
on ``n_train`` training bags of each *other* source; the held-out bags of the
known sources (``n_test`` per source, never seen) and every bag of ``s`` are
scored.  For each unknown score of the classifier (``rejection_score``:
distance, relative distance, nearest/second-nearest ratio, Mahalanobis with
LedoitWolf covariance, 1 - max softmax probability) and for ``1 - max
predict_proba`` of an MLP on the same fingerprints:

* AUROC known vs unknown;
* the threshold set three ways, then the realised false-rejection rate (FRR,
  known held-out bags flagged), unknown bags flagged and known accuracy:

  - ``cross-fit`` (what ``HeldOutRejectionClassifier()`` does by default):
    each source's training bags dealt over ``n_splits`` folds, an encoder and
    a classifier fitted without each fold score its bags, the pooled
    split-conformal threshold (``conformal_threshold``) of these out-of-fold
    scores is applied to the final model fitted on every training bag;
  - ``cross-fit per source``: the same out-of-fold scores, one conformal
    threshold per source (``inf`` when a source has fewer bags than
    ``min_calibration_bags``), applied by the attributed source;
  - ``split`` (``HeldOutRejectionClassifier(calibration="split")``): 20% of
    each source's bags held out, the encoder fitted on the rest, the pooled
    conformal threshold of the held-out bags (then enrolled), repeated over
    ``split_repeats`` draws of the held-out bags;
  - ``leave-one-out``: ``reject_threshold="auto"`` on the training bags of the
    final model (the encoder saw them: no guarantee).

Run::

    python -m benchmarks.open_set [--quick] [--bag-sizes 32,10]
        [--n-train 10,5,20,40] [--sources real,vae_plain] [--split-repeats 2]
        [--leave-out network]

``--leave-out network`` leaves out every sampler of one network at once (the
sources of one ``job`` of the zoo's ``metadata``: the four samplers of the
pixel U-Net, the two of latent U-Net A; every other source alone): "unknown"
then means weights never seen, while a left-out source can have a sibling
sampler among the known ones.  Its settings are stored under keys ending in
``_network``.

Every (bag size, training bags) setting is added to ``results/open_set.json``
as it finishes (settings already there are kept unless rerun), and
``results/open_set.md`` is rewritten from all of them.  ``--quick``: the
small zoo (16x16), bags of 10, 5 training bags, 3 epochs, 3 folds; results
get a ``_quick`` suffix.
"""

import argparse
import json
import os
import time
import warnings

import numpy as np

from benchmarks._common import (
    closed_set, encoder, env_markdown, environment, paper_mlp, results_dir, write_results,
    zoo_subset)

SEED = 0
RATE = 0.05
SCORES = ("relative_distance", "distance", "ratio", "mahalanobis", "proba")
FULL = dict(preset="default", bag_sizes=(32, 10), n_train=(10, 5, 20, 40), n_test=10,
            epochs=None, n_splits=5, split_repeats=2, calibration_size=0.2)
QUICK = dict(preset="small", bag_sizes=(10,), n_train=(5,), n_test=5, epochs=3,
             n_splits=3, split_repeats=1, calibration_size=0.4)


def synthetic_zoo(preset, n_per_source, seed):
    """Stand-in for the zoo (``--synthetic``): ``make_fingerprinted_images``, 16x16."""
    from skfingerprint.datasets import make_fingerprinted_images

    zoo = make_fingerprinted_images(n_models=8, n_families=3, n_images_per_model=n_per_source,
                                    image_size=16, random_state=seed)
    zoo.image_size = 16
    return zoo, zoo.images, zoo.labels


def load_test_and_pool(cfg, bag_size, n_train_max, zoo_loader=zoo_subset):
    """Disjoint bags of every source: ``n_test`` test bags then the training pool."""
    from skfingerprint import make_bags

    per = (cfg["n_test"] + n_train_max) * bag_size
    zoo, images, labels = zoo_loader(cfg["preset"], per, SEED)
    X, y = make_bags(images, labels, bag_size=bag_size, random_state=SEED)
    test, pool = [], {}
    for s in zoo.sources:
        idx = np.flatnonzero(y == s)
        if idx.size < cfg["n_test"] + n_train_max:
            raise SystemExit(f"source {s}: {idx.size} bags of {bag_size}, need "
                             f"{cfg['n_test'] + n_train_max}")
        test.append(idx[:cfg["n_test"]])
        pool[s] = idx[cfg["n_test"]:]
    return zoo, X, y, np.concatenate(test), pool


def _epochs(cfg):
    """The encoder's epochs: ``--epochs`` with shipped weights (0: the
    shipped space as it is), else the run's setting (None: the default)."""
    return cfg["epochs"] if cfg.get("weights_epochs") is None else cfg["weights_epochs"]


def _encoder(cfg):
    weights = cfg.get("weights")
    return encoder(_epochs(cfg), SEED, **({} if weights is None else {"weights": weights}))


def _encoder_settings(enc):
    """The encoder settings a run depends on (the defaults changed over time)."""
    p = enc.get_params()
    return {k: p[k] for k in ("front_end", "n_bags_per_model", "max_epochs", "weights")}


def _nfc(score):
    from skfingerprint.classifiers import NearestFingerprintClassifier

    return NearestFingerprintClassifier("euclidean", reject_threshold="auto",
                                        rejection_score=score)


def _fit_all(enc, X, y):
    """Encoder on (X, y); classifiers of every score and the MLP on its fingerprints."""
    enc = enc.fit(X, y)
    Z = enc.transform(X)
    clfs = {score: _nfc(score).fit(Z, y) for score in SCORES}
    return enc, clfs, paper_mlp(SEED).fit(Z, y)


def _score_all(enc, clfs, net, X):
    Z = enc.transform(X)
    out = {score: clf.unknown_score(Z) for score, clf in clfs.items()}
    out["mlp_proba"] = 1.0 - net.predict_proba(Z).max(axis=1)
    return out, Z


def _rates(scores, threshold, pred, known, y_true):
    """FRR, unknown flagged, open-set known accuracy for thresholds (scalar or per bag).

    ``frr_worst_source``: the largest FRR of one known source (its held-out
    bags flagged), since the conformal guarantee is on the pooled rate only.
    """
    flagged = scores > threshold
    per_source = [np.mean(flagged[known & (y_true == c)]) for c in np.unique(y_true[known])]
    return {
        "frr": float(np.mean(flagged[known])),
        "frr_worst_source": float(np.max(per_source)),
        "unknown_flagged": float(np.mean(flagged[~known])),
        "known_accuracy_open": float(np.mean((pred == y_true)[known] & ~flagged[known])),
    }


def network_units(metadata):
    """Unit name -> the sources of one trained network (the zoo's ``job`` of
    each source in ``metadata``): the samplers of one U-Net together, every
    other source (a GAN, a fine-tune, the real photos) on its own."""
    nets = {}
    for source, meta in metadata.items():
        nets.setdefault(meta.get("job") or source, []).append(str(source))
    return {(v[0] if len(v) == 1 else f"{k} ({len(v)} samplers)"): v
            for k, v in nets.items()}


def run_source(left, X, y, test, pool, n_train, cfg):
    """Leave the sources ``left`` (one source, or the samplers of one network) out."""
    from sklearn.metrics import roc_auc_score

    from skfingerprint.classifiers import conformal_threshold
    from skfingerprint.classifiers._calibrated import calibration_split, cross_fit_folds

    known_src = [k for k in pool if k not in left]
    tr = np.concatenate([pool[k][:n_train] for k in known_src])
    ev = np.concatenate([test[~np.isin(y[test], left)], np.flatnonzero(np.isin(y, left))])
    known = ~np.isin(y[ev], left)
    y_tr, y_ev = y[tr], y[ev]
    t0 = time.perf_counter()

    # cross-fitting: out-of-fold scores of every training bag
    folds = cross_fit_folds(y_tr, cfg["n_splits"], SEED)
    oof = {}
    for k in range(cfg["n_splits"]):
        inn, out = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        enc, clfs, net = _fit_all(_encoder(cfg), X[tr[inn]], y_tr[inn])
        sc, _ = _score_all(enc, clfs, net, X[tr[out]])
        for name, v in sc.items():
            oof.setdefault(name, np.empty(len(tr)))[out] = v
    enc, clfs, net = _fit_all(_encoder(cfg), X[tr], y_tr)
    sc, Z_ev = _score_all(enc, clfs, net, X[ev])
    closed = closed_set(clfs[SCORES[0]], Z_ev)
    pred_mlp = net.predict(Z_ev)
    row = {"known_accuracy_closed": float(np.mean((closed == y_ev)[known])),
           "known_accuracy_closed_mlp": float(np.mean((pred_mlp == y_ev)[known])),
           "n_known_bags": int(known.sum()), "n_unknown_bags": int((~known).sum()),
           "n_calibration_cross_fit": int(len(tr))}
    for name in (*SCORES, "mlp_proba"):
        p = pred_mlp if name == "mlp_proba" else closed
        r = {"auroc": float(roc_auc_score(~known, sc[name]))}
        t = conformal_threshold(oof[name], RATE)
        r.update({f"cross_fit_{k}": v for k, v in _rates(sc[name], t, p, known, y_ev).items()})
        per = {c: conformal_threshold(oof[name][y_tr == c], RATE) for c in known_src}
        t_bag = np.array([per[c] for c in p])
        r.update({f"per_source_{k}": v
                  for k, v in _rates(sc[name], t_bag, p, known, y_ev).items()})
        if name != "mlp_proba":
            r.update({f"loo_{k}": v for k, v in _rates(
                sc[name], clfs[name].threshold_, p, known, y_ev).items()})
        row[name] = r
    row["cross_fit_seconds"] = time.perf_counter() - t0

    # split calibration, repeated over draws of the held-out bags
    t0 = time.perf_counter()
    reps = {name: [] for name in SCORES}
    for rep in range(cfg["split_repeats"]):
        a, b = calibration_split(y_tr, cfg["calibration_size"], SEED + 1 + rep)
        enc_s, clfs_s, _ = _fit_all(_encoder(cfg), X[tr[a]], y_tr[a])
        Z_cal = enc_s.transform(X[tr[b]])
        Z_ev_s = enc_s.transform(X[ev])
        for name, clf in clfs_s.items():
            t = conformal_threshold(clf.unknown_score(Z_cal), RATE)
            for c in np.unique(y_tr[b]):
                clf.enroll(Z_cal[y_tr[b] == c], c)
            p = closed_set(clf, Z_ev_s)
            reps[name].append(_rates(clf.unknown_score(Z_ev_s), t, p, known, y_ev))
    for name in SCORES:
        for key in ("frr", "frr_worst_source", "unknown_flagged", "known_accuracy_open"):
            vals = [r[key] for r in reps[name]]
            row[name][f"split_{key}"] = float(np.mean(vals)) if vals else float("nan")
    row["n_calibration_split"] = int(len(b)) if cfg["split_repeats"] else 0
    row["split_seconds"] = time.perf_counter() - t0
    return row


def _mean(rows, name, key):
    return float(np.mean([r[name][key] for r in rows.values()]))


def render(runs, zoo_desc, cfg, quick):
    """The markdown of every setting in ``runs``."""
    md = ["# Open set: a conformal false-rejection rate, and which unknown score\n",
          zoo_desc + "\n",
          "Leave one source out: for every source, the encoder and the classifiers are "
          "fitted on the training bags of the other sources only; the held-out bags of "
          "the known sources and every bag of the left-out source are scored. Scores: "
          "the `rejection_score` options of `NearestFingerprintClassifier` and `1 - max "
          "predict_proba` of an MLP (`StandardScaler -> MLPClassifier((128, 64))`) on "
          "the same fingerprints. Thresholds: see the module docstring of "
          "`benchmarks/open_set.py`.\n",
          f"Target false-rejection rate {RATE}. FRR: share of the known held-out bags "
          "flagged unknown (the realised rate; the guarantee is on its expectation). "
          "Unknown flagged: share of the left-out source's bags flagged. Known acc.: "
          "closed set (nearest fingerprint / MLP, no rejection) and open set (right "
          "source and not flagged). Every figure is the mean over the left-out "
          f"sources; `split` also over {cfg['split_repeats']} draws of the held-out "
          "bags. Thresholds `cross-fit`: pooled over sources, each score already "
          "per-source normalised for `relative_distance`/`mahalanobis`; `per source`: "
          "one per source (inf below `min_calibration_bags(0.05)` = 19 bags). "
          "Worst-source FRR: the largest FRR of one known source (the guarantee is on "
          "the pooled rate only), cross-fit.\n"]
    for key in sorted(runs, key=lambda k: (runs[k].get("leave_out", "source") != "source",
                                           -runs[k]["bag_size"], runs[k]["n_train"])):
        md += _render_run(runs[key])
    md += ["", env_markdown(environment()),
           f"Reproduce: `python -m benchmarks.open_set{' --quick' if quick else ''}` "
           "(the settings above; `--bag-sizes` and `--n-train` select some)\n"]
    return "\n".join(md)


def _render_run(run):
    """The markdown lines of one (bag size, training bags, leave-out) setting."""
    md = []
    rows = run["per_source"]
    unit = "source" if run.get("leave_out", "source") == "source" else "network"
    md.append(f"## Bags of {run['bag_size']}, {run['n_train']} training bags per "
              f"source, leave one {unit} out ({len(rows)} left-out {unit}s: "
              f"{', '.join(rows)})\n")
    if unit == "network":
        md.append("Leave one network out: the samplers of one network are left out "
                  "together (the unknown generator's weights were never seen), every "
                  "other source on its own; unknown flagged is the share of the "
                  "left-out network's bags flagged.\n")
    enc = run.get("encoder")
    md.append(f"Run {run['date']} with the encoder settings {enc}.\n" if enc else
              "Run before 2026-12-04 with the earlier encoder defaults "
              "(`front_end='image_and_residual'`, `n_bags_per_model=None`).\n")
    if run.get("note"):  # e.g. merged from runs of --sources
        md.append(f"Note: {run['note']}.\n")
    acc = np.mean([r["known_accuracy_closed"] for r in rows.values()])
    acc_mlp = np.mean([r["known_accuracy_closed_mlp"] for r in rows.values()])
    md.append(f"Known accuracy, closed set: nearest fingerprint {acc:.3f}, MLP "
              f"{acc_mlp:.3f}. Cross-fitting: {run['n_splits']} folds, "
              f"{next(iter(rows.values()))['n_calibration_cross_fit']} calibration "
              f"bags; split: {next(iter(rows.values()))['n_calibration_split']}. Time "
              f"per left-out {unit}: cross-fit "
              f"{np.mean([r['cross_fit_seconds'] for r in rows.values()]):.0f} s, "
              f"split {np.mean([r['split_seconds'] for r in rows.values()]):.0f} s.\n")
    md.append("| score | AUROC | FRR cross-fit | unknown flagged cross-fit | "
              "known acc. open cross-fit | worst-source FRR cross-fit | FRR per "
              "source | unknown flagged per "
              "source | FRR split | unknown flagged split | FRR leave-one-out | "
              "unknown flagged leave-one-out |")
    md.append("|---|" + "---|" * 11)
    for name in (*SCORES, "mlp_proba"):
        cells = [_mean(rows, name, "auroc")]
        cells += [_mean(rows, name, k) for k in (
            "cross_fit_frr", "cross_fit_unknown_flagged", "cross_fit_known_accuracy_open")]
        cells.append(_mean(rows, name, "cross_fit_frr_worst_source")
                     if "cross_fit_frr_worst_source" in next(iter(rows.values()))[name]
                     else float("nan"))
        cells += [_mean(rows, name, k) for k in ("per_source_frr",
                                                  "per_source_unknown_flagged")]
        for k in ("split_frr", "split_unknown_flagged", "loo_frr", "loo_unknown_flagged"):
            cells.append(_mean(rows, name, k) if k in next(iter(rows.values()))[name]
                         else float("nan"))
        label = "MLP 1 - max p" if name == "mlp_proba" else f"`{name}`"
        md.append(f"| {label} | " + " | ".join(
            "-" if np.isnan(c) else f"{c:.3f}" for c in cells) + " |")
    md.append("")
    md.append(f"<details><summary>per left-out {unit} (default score "
              f"`{SCORES[0]}`, cross-fit)</summary>\n")
    md.append(f"| left-out {unit} | AUROC | FRR | unknown flagged | known acc. open |")
    md.append("|---|---|---|---|---|")
    for s, r in rows.items():
        d = r[SCORES[0]]
        md.append(f"| {s} | {d['auroc']:.3f} | {d['cross_fit_frr']:.3f} | "
                  f"{d['cross_fit_unknown_flagged']:.3f} | "
                  f"{d['cross_fit_known_accuracy_open']:.3f} |")
    md.append("\n</details>\n")
    return md


def _config(args):
    """The settings of the run: quick or full, with the choices of the command line."""
    cfg = dict(QUICK if args.quick else FULL)
    if args.bag_sizes:
        cfg["bag_sizes"] = tuple(int(v) for v in args.bag_sizes.split(","))
    if args.n_train:
        cfg["n_train"] = tuple(int(v) for v in args.n_train.split(","))
    if args.split_repeats is not None:
        cfg["split_repeats"] = args.split_repeats
    if args.weights is not None:
        cfg["weights"], cfg["weights_epochs"] = args.weights, args.epochs
    return cfg


def _units(parser, args, zoo):
    """Left-out unit -> its sources: every source, or every network
    (``--leave-out``), restricted to ``--sources``."""
    units = ({s: [s] for s in zoo.sources} if args.leave_out == "source"
             else network_units({s: zoo.metadata[s] for s in zoo.sources}))
    if args.sources is not None:
        # a network by its name alone too: "pixel_unet" for "pixel_unet (4 samplers)"
        by_name = {u.partition(" (")[0]: u for u in units}
        wanted = [by_name.get(u, u) for u in args.sources.split(",")]
        missing = sorted(set(wanted) - set(units))
        if missing:
            parser.error(f"unknown {args.leave_out}s {missing}; the zoo has "
                         f"{sorted(by_name)}")
        units = {u: units[u] for u in wanted}
    return units


def _description(args, cfg, zoo):
    desc = ("Stand-in for the zoo: `make_fingerprinted_images(n_models=8, n_families=3, "
            "image_size=16, random_state=0)`" if args.synthetic else
            f"Zoo: preset `{cfg['preset']}`")
    return desc + (
        f" ({zoo.image_size}x{zoo.image_size}), "
        f"{len(zoo.sources)} sources; per source {cfg['n_test']} held-out test "
        "bags and a pool of training bags, disjoint. "
        "`SetFingerprintEncoder(random_state=0"
        + ("" if cfg.get("weights") is None else f", weights={cfg['weights']!r}")
        + ("" if _epochs(cfg) is None else f", max_epochs={_epochs(cfg)}")
        + ")`, `NearestFingerprintClassifier('euclidean')`. Times are upper "
        "bounds: the machine (2 CPU cores) may have run other jobs meanwhile.")


def main(argv=None, zoo_loader=zoo_subset):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small zoo, bags of 10, 5 training bags, 3 epochs")
    parser.add_argument("--sources", default=None,
                        help="comma-separated sources to leave out (default: all)")
    parser.add_argument("--bag-sizes", default=None, help="e.g. 32,10")
    parser.add_argument("--n-train", default=None, help="training bags per source, e.g. 10,5")
    parser.add_argument("--split-repeats", type=int, default=None)
    parser.add_argument("--leave-out", choices=("source", "network"), default="source",
                        help="leave one source out (default), or one network: all the "
                             "samplers of one U-Net together (a generator whose weights "
                             "were never seen)")
    parser.add_argument("--weights", default=None,
                        help="start the encoder from shipped weights, e.g. pretrained "
                             "(results go to open_set_<weights>[_e<epochs>])")
    parser.add_argument("--epochs", type=int, default=None,
                        help="with --weights: training epochs (0: the shipped space as it is)")
    parser.add_argument("--synthetic", action="store_true",
                        help="make_fingerprinted_images (8 sources, 16x16) instead of the zoo")
    args = parser.parse_args(argv)
    if args.synthetic:
        zoo_loader = synthetic_zoo
    from skfingerprint.classifiers import InsufficientCalibrationWarning

    # expected below 19 bags (per source, leave-one-out of few bags): recorded as inf
    warnings.filterwarnings("ignore", category=InsufficientCalibrationWarning)
    cfg = _config(args)
    name = "open_set" + ("_synthetic" if args.synthetic else "") + (
        "" if args.weights is None else f"_{args.weights}") + (
        "" if args.epochs is None else f"_e{args.epochs}") + (
        "_quick" if args.quick else "")
    path = os.path.join(results_dir(), name + ".json")
    runs = {}
    if os.path.exists(path):
        with open(path) as fh:
            runs = json.load(fh).get("runs", {})
    for bag_size in cfg["bag_sizes"]:
        zoo, X, y, test, pool = load_test_and_pool(cfg, bag_size, max(cfg["n_train"]),
                                                      zoo_loader)
        units = _units(parser, args, zoo)
        desc = _description(args, cfg, zoo)
        for n_train in cfg["n_train"]:
            key = f"bag{bag_size}_train{n_train}" + (
                "_network" if args.leave_out == "network" else "")
            t0 = time.perf_counter()
            rows = {}
            for s, left in units.items():
                rows[s] = run_source(left, X, y, test, pool, n_train, cfg)
                d = rows[s][SCORES[0]]
                print(f"{key} {s:>20}: AUROC {d['auroc']:.3f} FRR cross-fit "
                      f"{d['cross_fit_frr']:.3f} unknown {d['cross_fit_unknown_flagged']:.3f}"
                      f" split FRR {d['split_frr']:.3f} ({rows[s]['cross_fit_seconds']:.0f}"
                      f"+{rows[s]['split_seconds']:.0f} s)", flush=True)
            runs[key] = {"bag_size": bag_size, "n_train": n_train, "n_splits": cfg["n_splits"],
                         "leave_out": args.leave_out,
                         "units": {u: list(v) for u, v in units.items()},
                         "split_repeats": cfg["split_repeats"],
                         "date": time.strftime("%Y-%m-%d"),
                         "encoder": _encoder_settings(_encoder(cfg)),
                         "seconds": time.perf_counter() - t0, "per_source": rows}
            if os.path.exists(path):  # settings another run wrote meanwhile are kept
                with open(path) as fh:
                    runs = {**json.load(fh).get("runs", {}), key: runs[key]}
            write_results(name, render(runs, desc, cfg, args.quick), {
                "env": environment(), "config": cfg, "seed": SEED, "rate": RATE,
                "runs": runs})
    print("done")


if __name__ == "__main__":
    main()
