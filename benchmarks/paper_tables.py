"""The paper's experiments (Tables 2, 3, A.3; Figures 3, 4) on our model zoo.

One command per experiment, each writing a markdown table (+ JSON, + PNG
figures) to ``benchmarks/results/``::

    python -m benchmarks.paper_tables attribution [--quick]   # Tables 3 and 2
    python -m benchmarks.paper_tables stability [--quick]     # Fig. 4, Table A.3
    python -m benchmarks.paper_tables families [--quick]      # Fig. 3 + ARI
    python -m benchmarks.paper_tables all [--quick]
    python -m benchmarks.paper_tables attribution --methods DSF+ \
        "DSF+ 2026-12-05 defaults" --bag-sizes 10,50 --name issue37
                                                # some methods and bag sizes,
                                                # written beside the full tables

``attribution`` runs one stratified 10-fold cross-validation over disjoint
bags per bag size (1, 10, 50); in each fold every method is fitted on the
training bags only, and its held-out features feed (a) a three-layer MLP
(standardised input), (b) ``NearestFingerprintClassifier`` and (c) the
decorrelation score against the training-fold fingerprints (Table 2), so
both tables come from the same folds.  ``--quick`` is a smoke run (small
zoo, 3 folds, 2 epochs) whose results are written with a ``_quick`` suffix.

Methods: PRNU (Marra et al. 2019) with correlation matching, residual
spectra (Durall et al. 2020 / Frank et al. 2020), a supervised single-image
CNN (Yu et al. 2019 style), DSF- (``SetFingerprintEncoder(bag_size=1)``: one
image per bag) and DSF+ (``SetFingerprintEncoder()`` on the bags), each with
its defaults.  Three methods run only when ``--methods`` names them: "DSF+
2026-12-05 defaults" (no augmentation of whole images and end-to-end
training, the defaults before issue 37), "DSF+ end-to-end"
(``phi_training="bags"``, the paper's training, the default until
2026-12-07) and "DSF+ linear rho" (``rho_hidden=0``).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, epochs_kw, first_per_source, format_mean_sd,
    load_zoo, mean_sd, paper_mlp, results_dir, write_results)

SEED = 0
FULL = dict(preset="default", images_per_source=500, bag_sizes=(1, 10, 50), folds=10,
            epochs=None)
QUICK = dict(preset="small", images_per_source=60, bag_sizes=(1, 5), folds=3, epochs=2)


# --------------------------------------------------------------------- helpers
def subsample(zoo, n_per_source):
    """The first ``n_per_source`` images of every source (zoo order is random)."""
    keep = first_per_source(zoo.labels, n_per_source)
    return zoo.images[keep], zoo.labels[keep]


def make_methods(cfg):
    """name -> (transformer factory, metric of NearestFingerprintClassifier)."""
    from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint

    epochs = cfg["epochs"]
    return {
        "PRNU (Marra)": (lambda: PRNUFingerprint(), "correlation"),
        "Spectrum (Durall/Frank)": (lambda: SpectrumFingerprint(), "correlation"),
        "CNN (Yu)": (lambda: AttributionCNN(random_state=SEED, **epochs_kw(epochs)),
                     "euclidean"),
        "DSF-": (lambda: encoder(epochs, SEED, bag_size=1), "euclidean"),
        "DSF+": (lambda: encoder(epochs, SEED), "euclidean"),
        # the shipped fingerprint space (issue 38): as it is, and fine-tuned
        "DSF+ pretrained": (lambda: encoder(None, SEED, weights="pretrained", max_epochs=0),
                            "euclidean"),
        "DSF+ pretrained, fine-tuned": (
            lambda: encoder(epochs, SEED, weights="pretrained"), "euclidean"),
        # only when named (--methods), for issue 37: DSF+ with the defaults
        # of 2026-12-05 (no augmentation of whole images, end-to-end
        # training), with those of 2026-12-06 (end-to-end training, the
        # paper's), and with a linear rho
        "DSF+ 2026-12-05 defaults": (
            lambda: encoder(epochs, SEED, augmentation=None, phi_training="bags"),
            "euclidean"),
        "DSF+ end-to-end": (lambda: encoder(epochs, SEED, phi_training="bags"), "euclidean"),
        "DSF+ linear rho": (lambda: encoder(epochs, SEED, rho_hidden=0), "euclidean"),
    }


ONLY_WHEN_NAMED = ("DSF+ 2026-12-05 defaults", "DSF+ end-to-end", "DSF+ linear rho")


def class_means(Z, y, classes):
    return np.stack([Z[y == c].mean(axis=0) for c in classes])


def macro_auc(y, proba, classes):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro",
                               labels=classes))


# ----------------------------------------------------------------- attribution
def score_fold(factory, metric, X, y, tr, te, classes):
    """One method on one fold: fitted on the training bags, its held-out
    features scored by the MLP, the nearest fingerprint and the decorrelation
    against the training fingerprints."""
    from skfingerprint.classifiers import NearestFingerprintClassifier
    from skfingerprint.metrics import decorrelation_score

    start = time.perf_counter()
    est = factory().fit(X[tr], y[tr])
    Ztr, Zte = est.transform(X[tr]), est.transform(X[te])
    fit_s = time.perf_counter() - start
    clf = paper_mlp(SEED).fit(Ztr, y[tr])
    nc = NearestFingerprintClassifier(metric=metric).fit(Ztr, y[tr])
    return {
        "mlp_acc": float(np.mean(clf.predict(Zte) == y[te])),
        "mlp_auc": macro_auc(y[te], clf.predict_proba(Zte), classes),
        "nc_acc": float(np.mean(nc.predict(Zte) == y[te])),
        "nc_auc": macro_auc(y[te], nc.predict_proba(Zte), classes),
        "decorrelation": float(decorrelation_score(
            Zte, y[te], fingerprints=class_means(Ztr, y[tr], classes), labels=classes)),
        "seconds": fit_s,
    }


def run_attribution(cfg, suffix, only=None, reproduce=None):
    from sklearn.model_selection import StratifiedKFold

    from skfingerprint import make_bags

    zoo = load_zoo(cfg["preset"], SEED)
    images, labels = subsample(zoo, cfg["images_per_source"])
    classes = np.unique(labels)
    methods = make_methods(cfg)
    if only:
        methods = {k: v for k, v in methods.items() if k in only}
    else:
        methods = {k: v for k, v in methods.items() if k not in ONLY_WHEN_NAMED}
    results = {}  # (method, bag size) -> metrics per fold
    seconds = {}
    t_all = time.perf_counter()
    for b in cfg["bag_sizes"]:
        X, y = make_bags(images, labels, bag_size=b, random_state=SEED)
        cv = StratifiedKFold(cfg["folds"], shuffle=True, random_state=SEED)
        for fold, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y)):
            for name, (factory, metric) in methods.items():
                if b == 1 and name == "DSF+":
                    # with bags of one image DSF+ *is* DSF- (same estimator)
                    if ("DSF-", b) in results:
                        results[name, b] = results["DSF-", b]
                        continue
                fold_rec = score_fold(factory, metric, X, y, tr, te, classes)
                rec = results.setdefault((name, b), {k: [] for k in fold_rec})
                for k, v in fold_rec.items():
                    rec[k].append(v)
                fit_s = fold_rec["seconds"]
                seconds[name] = seconds.get(name, 0.0) + fit_s
                print(f"b={b} fold={fold} {name}: mlp {rec['mlp_acc'][-1]:.3f} "
                      f"nc {rec['nc_acc'][-1]:.3f} dec {rec['decorrelation'][-1]:.3f} "
                      f"({fit_s:.1f} s)", flush=True)
        # the tables of the bag sizes done so far: a long run stopped early
        # keeps them (the last write holds every bag size)
        done = dict(cfg, bag_sizes=cfg["bag_sizes"][:cfg["bag_sizes"].index(b) + 1])
        write_attribution(done, suffix, results, list(methods), images.shape[1:3],
                          classes, time.perf_counter() - t_all, reproduce)
    return results


def write_attribution(cfg, suffix, results, names, image_shape, classes, wall,
                      reproduce=None):
    """Tables 3 and 2 of ``results`` ((method, bag size) -> metrics per fold)."""
    env = environment()
    reproduce = reproduce or ("python -m benchmarks.paper_tables attribution"
                              + (" --quick" if suffix else ""))
    n_src = len(classes)
    epochs_note = "" if cfg["epochs"] is None else f" but max_epochs={cfg['epochs']}"
    data_md = (
        f"Data: model zoo preset `{cfg['preset']}` (`make_model_zoo('{cfg['preset']}', "
        f"random_state={SEED})`), {n_src} sources (real + generators), the first "
        f"{cfg['images_per_source']} images of each source, image size "
        f"{image_shape[0]}x{image_shape[1]}; disjoint bags (`make_bags(..., "
        f"random_state={SEED})`); stratified {cfg['folds']}-fold CV (shuffle, "
        f"random_state={SEED}); every method is fitted on the training folds only, "
        f"with its defaults{epochs_note}."
        f" Chance accuracy {1 / n_src:.3f}.\n")
    payload = {"env": env, "config": {k: v for k, v in cfg.items()}, "seed": SEED,
               "wall_seconds": wall,
               "results": {f"{m} | bag {b}": r for (m, b), r in results.items()}}

    t3 = ["# Table 3 on the model zoo: source attribution\n", data_md,
          "MLP: `StandardScaler` + `MLPClassifier(hidden_layer_sizes=(128, 64))` (three "
          "fully connected layers, as the paper). NC: `NearestFingerprintClassifier` "
          "(correlation for PRNU and spectra, Euclidean for the learned embeddings). "
          "AUC: macro one-vs-rest ROC AUC of `predict_proba`. Mean ± std over folds. "
          "DSF- uses one image of each bag (the paper's single-image encoder); with bags "
          "of 1 image DSF+ and DSF- are the same estimator.\n"]
    for b in cfg["bag_sizes"]:
        t3 += [f"\n## {b} image{'s' if b > 1 else ''} per bag\n",
               "| method | MLP accuracy | MLP AUC | NC accuracy | NC AUC | fit+transform s/fold |",
               "|---|---|---|---|---|---|"]
        for m in names:
            r = results.get((m, b))
            if r:
                t3.append(f"| {m} | {mean_sd(r['mlp_acc'])} | {mean_sd(r['mlp_auc'])} | "
                          f"{mean_sd(r['nc_acc'])} | {mean_sd(r['nc_auc'])} | "
                          f"{np.mean(r['seconds']):.1f} |")
    t3 += ["", f"Total wall time: {wall / 60:.1f} min.\n", env_markdown(env),
           f"Reproduce: `{reproduce}`\n"]

    t2 = ["# Table 2 on the model zoo: decorrelation of held-out fingerprints\n", data_md,
          "`decorrelation_score(Z_test, y_test, fingerprints=<class means of the training "
          "fold>)` (kind='contrast': 1 = every bag correlates only with its own source's "
          "fingerprint, 0 = no better than with the others), mean ± std over folds, from "
          "the same folds as Table 3.\n",
          "| method | " + " | ".join(f"bag {b}" for b in cfg["bag_sizes"]) + " |",
          "|---|" + "---|" * len(cfg["bag_sizes"])]
    for m in names:
        t2.append(f"| {m} | " + " | ".join(
            mean_sd(results[m, b]["decorrelation"]) if (m, b) in results else "-"
            for b in cfg["bag_sizes"]) + " |")
    t2 += ["", env_markdown(env), f"Reproduce: `{reproduce}`\n"]
    write_results("paper_table3_attribution" + suffix, "\n".join(t3), payload)
    write_results("paper_table2_decorrelation" + suffix, "\n".join(t2),
                  {"env": env, "decorrelation": {
                      f"{m} | bag {b}": r["decorrelation"] for (m, b), r in results.items()}})


# ------------------------------------------------------------------- stability
STABILITY_PARTS = ("bag_size", "n_bags", "large_bags")


def _stability_experiments(quick):
    """key -> (title, searched parameter, grid, make_bags kwargs, encoder kwargs)."""
    big = 20 if quick else 100
    huge = 40 if quick else 300
    return {
        "bag_size": ("images per bag", "fp__bag_size",
                     [1, 2, 5, 10, 20] if quick else [1, 2, 5, 10, 20, 50, 100],
                     dict(bag_size=big), {}),
        "n_bags": ("bags per model", "fp__n_bags_per_model",
                   [2, 5, 10] if quick else [2, 5, 10, 20, 50, 100],
                   dict(bag_size=10), {"bag_size": 10}),
        "large_bags": ("images per bag, up to 300", "fp__bag_size",
                       [10, 20, 40] if quick else [50, 100, 200, 300],
                       dict(bag_size=huge), {"n_bags_per_model": 10}),
    }


def _stability_setup(key, n_bags, n_sources, bag_kw, enc_kw):
    per = n_bags // n_sources
    if key == "bag_size":
        return (f"{n_bags} bags of {bag_kw['bag_size']} images ({per} per source); in "
                "training each bag is subsampled to `bag_size` random images per "
                "epoch, at test time the first `bag_size` images of each held-out bag "
                "are used.")
    if key == "n_bags":
        return (f"{n_bags} bags of 10 images; `bag_size=10`, and every epoch draws "
                "`n_bags_per_model` bags per source from the pooled training images "
                "(with fewer than 2 bags a source has no positive pair, so the grid "
                "starts at 2).")
    return (f"{n_bags} bags of {bag_kw['bag_size']} images ({per} per source: the zoo's "
            f"images allow no more); every epoch draws n_bags_per_model="
            f"{enc_kw['n_bags_per_model']} bags of `bag_size` images per source from "
            "the pooled training images; at test time the first `bag_size` images of "
            "each held-out bag (2 per source and fold: a noisier estimate than above).")


def run_stability(cfg, suffix, parts=STABILITY_PARTS):
    """Grid searches over the bag parameters; ``parts`` not run keep their
    previous results (read back from the JSON file)."""
    import json

    zoo = load_zoo(cfg["preset"], SEED)
    experiments = _stability_experiments(bool(suffix))
    folds = 3
    env = environment()
    name = "paper_tableA3_stability" + suffix
    payload = {}
    old_path = os.path.join(results_dir(), name + ".json")
    if set(parts) != set(STABILITY_PARTS) and os.path.exists(old_path):
        with open(old_path) as fh:
            payload = json.load(fh)
        for key, (title, *_) in experiments.items():
            if title in payload:
                payload[title].setdefault("date", payload.get("env", {}).get("date"))
    payload.update({"env": env, "seed": SEED, "folds": folds})
    for key in parts:
        title = experiments[key][0]
        payload[title] = _stability_search(key, experiments[key], zoo, cfg, suffix, folds,
                                           env["date"])
        print(title, payload[title]["rows"], flush=True)
    write_results(name, _stability_markdown(cfg, suffix, zoo, experiments, payload, folds),
                  payload)


def _stability_search(key, experiment, zoo, cfg, suffix, folds, date):
    """One grid search of the stability experiments, and its figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline

    from skfingerprint import make_bags
    from skfingerprint.metrics import DecorrelationScorer
    from skfingerprint.visualization import StabilityDisplay

    title, param, grid, bag_kw, enc_kw = experiment
    X, y = make_bags(zoo.images, zoo.labels, random_state=SEED, **bag_kw)
    pipe = Pipeline([("fp", encoder(cfg["epochs"], SEED, **enc_kw)),
                     ("clf", paper_mlp(SEED))])
    scoring = {"decorrelation": DecorrelationScorer(), "accuracy": "accuracy"}
    search = GridSearchCV(pipe, {param: grid}, scoring=scoring,
                          refit=False,
                          cv=StratifiedKFold(folds, shuffle=True, random_state=SEED))
    start = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - start
    res = search.cv_results_
    rows = []
    for i, v in enumerate(res["param_" + param]):
        rows.append({param: int(v),
                     "decorrelation_mean": float(res["mean_test_decorrelation"][i]),
                     "decorrelation_std": float(res["std_test_decorrelation"][i]),
                     "accuracy_mean": float(res["mean_test_accuracy"][i]),
                     "accuracy_std": float(res["std_test_accuracy"][i]),
                     "fit_seconds": float(res["mean_fit_time"][i])})
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True)
    for ax, score in zip(axes, ("decorrelation", "accuracy")):
        StabilityDisplay.from_cv_results(res, param, score=score, xscale="log",
                                         ax=ax)
        ax.set_title(f"{score} vs {title}")
    figure = f"paper_fig4_stability_{key}{suffix}.png"
    fig.savefig(os.path.join(results_dir(), figure), dpi=110)
    plt.close(fig)
    n_sources = len(np.unique(zoo.labels))
    return {"rows": rows, "wall_seconds": wall, "bags": bag_kw, "n_bags": len(y),
            "param": param, "figure": figure, "date": date,
            "setup": _stability_setup(key, len(y), n_sources, bag_kw, enc_kw)}


def _stability_markdown(cfg, suffix, zoo, experiments, payload, folds):
    """Table A.3: every part in ``payload``, run now or kept from before."""
    n_img = min(np.bincount(np.unique(zoo.labels, return_inverse=True)[1]))
    n_sources = len(np.unique(zoo.labels))
    md = ["# Stability (Fig. 4, Table A.3) on the model zoo\n",
          f"Data: model zoo preset `{cfg['preset']}`, all {n_img} images of each of "
          f"{n_sources} sources. `GridSearchCV(Pipeline([('fp', "
          "SetFingerprintEncoder()), ('clf', MLP)]), scoring={'decorrelation': "
          f"DecorrelationScorer(), 'accuracy': 'accuracy'}}, cv={folds})` (stratified, "
          f"shuffled, random_state={SEED}); MLP as in Table 3.\n"]
    for key in STABILITY_PARTS:
        title = experiments[key][0]
        part = payload.get(title)
        if part is None:
            continue
        # results written before these fields were recorded
        _, param, _, bag_kw, enc_kw = experiments[key]
        part.setdefault("param", param)
        part.setdefault("figure", f"paper_fig4_stability_{key}{suffix}.png")
        part.setdefault("date", payload.get("env", {}).get("date", "?"))
        part.setdefault("setup", _stability_setup(key, part["n_bags"], n_sources,
                                                  part["bags"], enc_kw))
        md += [f"\n## Score against {title} (`{param}`)\n", part["setup"] + "\n",
               f"| {param.split('__')[1]} | decorrelation | accuracy | fit s |",
               "|---|---|---|---|"]
        md += [f"| {r[param]} | "
               f"{format_mean_sd(r['decorrelation_mean'], r['decorrelation_std'])} | "
               f"{format_mean_sd(r['accuracy_mean'], r['accuracy_std'])} | "
               f"{r['fit_seconds']:.1f} |"
               for r in part["rows"]]
        md.append(f"\nWall time: {part['wall_seconds'] / 60:.1f} min "
                  f"(run {part['date']}).\n")
        md.append(f"![{title}]({part['figure']})\n")
    md += [env_markdown(payload["env"]),
           f"Reproduce: `python -m benchmarks.paper_tables stability"
           f"{' --quick' if suffix else ''}` (`--parts {' '.join(STABILITY_PARTS)}`)\n"]
    return "\n".join(md)


# -------------------------------------------------------------------- families
def _families_figure(Zte, yte, F, classes, true, ari, filename, metric):
    """Fig. 3: the correlation matrix of DSF+ and its dendrogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    from skfingerprint.cluster import fingerprint_distances
    from skfingerprint.visualization import CorrelationMatrixDisplay, FamilyDendrogramDisplay

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1.6, 1]})
    CorrelationMatrixDisplay.from_predictions(
        Zte, yte, fingerprints=F, labels=classes, families=true,
        ax=axes[0], values_format=".1f")
    axes[0].set_title("DSF+: |corr| of held-out bags with the source "
                      "fingerprints (true families outlined)", fontsize=9)
    D = fingerprint_distances(Zte, yte, fingerprints=F, labels=classes, metric=metric)
    link = linkage(squareform(D, checks=False), method="average")
    FamilyDendrogramDisplay(link, display_labels=list(classes), families=true,
                            metric=metric).plot(ax=axes[1])
    axes[1].set_title(f"DSF+ average linkage ({metric}); ARI with the true families "
                      f"{ari:.2f}", fontsize=9)
    fig.savefig(os.path.join(results_dir(), filename), dpi=100)
    plt.close(fig)


def run_families(cfg, suffix, only=None):
    from sklearn.metrics import adjusted_rand_score

    from skfingerprint import make_bags
    from skfingerprint.cluster import cluster_families

    zoo = load_zoo(cfg["preset"], SEED)
    b = 32 if not suffix else 8
    X, y = make_bags(zoo.images, zoo.labels, bag_size=b, random_state=SEED)
    half = np.zeros(len(y), bool)
    for s in np.unique(y):
        idx = np.flatnonzero(y == s)
        half[idx[: len(idx) // 2]] = True
    classes = np.unique(y)
    true = [zoo.families[s] for s in classes]
    n_fam = len(set(true))
    env = environment()
    rows, payload = [], {"env": env, "seed": SEED, "bag_size": b}
    methods = make_methods(cfg)
    for name, (factory, metric) in methods.items():
        if (only and name not in only) or (not only and name in ONLY_WHEN_NAMED):
            continue
        start = time.perf_counter()
        est = factory().fit(X[half], y[half])
        Ztr, Zte = est.transform(X[half]), est.transform(X[~half])
        secs = time.perf_counter() - start
        F = class_means(Ztr, y[half], classes)
        # each method in its own metric (the one its attribution uses)
        clusters = cluster_families(Zte, y[~half], n_families=n_fam, fingerprints=F,
                                    labels=classes, metric=metric)
        pred = [clusters[s] for s in classes]
        ari = float(adjusted_rand_score(true, pred))
        # and in the paper's correlation, for comparison
        by_corr = clusters if metric == "correlation" else cluster_families(
            Zte, y[~half], n_families=n_fam, fingerprints=F, labels=classes)
        ari_corr = float(adjusted_rand_score(true, [by_corr[s] for s in classes]))
        rows.append({"method": name, "metric": metric, "ari": ari,
                     "ari_correlation": ari_corr, "clusters": {str(s): int(c) for s, c in
                                                              clusters.items()},
                     "seconds": secs})
        print(name, f"ARI {ari:.3f}", flush=True)
        if name == "DSF+":
            _families_figure(Zte, y[~half], F, classes, true, ari,
                             f"paper_fig3_families{suffix}.png", metric)
    previous = os.path.join(results_dir(), f"paper_fig3_families{suffix}.json")
    if only and os.path.exists(previous):  # the methods not rerun keep their rows
        with open(previous) as fh:
            old = {r["method"]: r for r in json.load(fh).get("rows", [])}
        new = {r["method"]: r for r in rows}
        rows = [new.get(m) or old[m] for m in methods if m in new or m in old]
    payload["rows"] = rows
    md = ["# Families (Fig. 3) on the model zoo\n",
          f"Data: model zoo preset `{cfg['preset']}`, bags of {b}, half of each "
          f"source's bags to fit each method, the other half held out. Held-out bags "
          f"are compared with the training fingerprints (class means); sources are "
          f"clustered by average linkage on `fingerprint_distances` in the method's "
          f"metric (the one its attribution uses: 1 - mean |corr| for PRNU and the "
          f"spectrum, the mean Euclidean distance for the learned spaces; rows "
          f"without a metric were measured before this choice, with the correlation; "
          f"`ARI, correlation`: the same fit clustered in the paper's correlation) "
          f"into {n_fam} clusters (`cluster_families`) and compared with the true "
          f"families ({', '.join(sorted(set(true)))}) by the adjusted Rand index "
          f"(1 = identical, 0 = chance).\n",
          "| method | metric | ARI | ARI, correlation | clusters | fit+transform s |",
          "|---|---|---|---|---|---|"]
    for r in rows:
        groups = {}
        for s, c in r["clusters"].items():
            groups.setdefault(c, []).append(s)
        desc = "; ".join("{" + ", ".join(v) + "}" for v in groups.values())
        # a row kept from a file made before the metric was chosen has the
        # correlation's ARI only
        md.append(f"| {r['method']} | {r.get('metric', 'correlation')} | {r['ari']:.3f} "
                  f"| {r.get('ari_correlation', r['ari']):.3f} | {desc} "
                  f"| {r['seconds']:.0f} |")
    md += ["", f"![families](paper_fig3_families{suffix}.png)\n", env_markdown(env),
           f"Reproduce: `python -m benchmarks.paper_tables families"
           f"{' --quick' if suffix else ''}`\n"]
    write_results("paper_fig3_families" + suffix, "\n".join(md), payload)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment",
                        choices=["attribution", "stability", "families", "all"])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small zoo, 3 folds, 2 epochs (files *_quick)")
    parser.add_argument("--methods", nargs="+",
                        help="attribution and families: only these methods (families: "
                             "the others keep their rows)")
    parser.add_argument("--parts", nargs="+", choices=STABILITY_PARTS,
                        default=list(STABILITY_PARTS),
                        help="stability: only these grid searches (the others keep "
                             "their results)")
    parser.add_argument("--bag-sizes", default=None,
                        help="attribution: only these bag sizes, e.g. 10,50")
    parser.add_argument("--name", default="",
                        help="attribution: write the tables with this suffix (e.g. a "
                             "run of some methods or bag sizes beside the full tables)")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    suffix = "_quick" if args.quick else ""
    if args.experiment in ("attribution", "all"):
        cfg_a = dict(cfg)
        if args.bag_sizes:
            cfg_a["bag_sizes"] = tuple(int(b) for b in args.bag_sizes.split(","))
        # a partial run names its own command; the full one the usual
        reproduce = "python -m benchmarks.paper_tables " + " ".join(
            f'"{a}"' if " " in a else a for a in (sys.argv[1:] if argv is None else argv))
        run_attribution(cfg_a, (f"_{args.name}" if args.name else "") + suffix, args.methods,
                        reproduce if args.bag_sizes or args.name else None)
    if args.experiment in ("families", "all"):
        run_families(cfg, suffix, args.methods)
    if args.experiment in ("stability", "all"):
        run_stability(cfg, suffix, args.parts)


if __name__ == "__main__":
    main()
