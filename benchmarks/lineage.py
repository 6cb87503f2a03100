"""Model similarity as lineage: where does a generator that was left out land?

Leave one source of the model zoo out; fit each method on the training bags
of the other sources; fingerprint every source (the mean feature of its
held-out bags) and ask, for the left-out source:

(a) is its nearest known source one of its relatives (same group)?
(b) the rank of its nearest true relative among the known sources (1 = the
    nearest source is a relative);

and, with each method fitted on every source, (c) the ARI of clustering all
sources (average linkage, :func:`skfingerprint.cluster.cut_families`) at the
true number of groups.  Two ground truths: the model class
(``zoo.families``) and the lineage groups at depth 2
(:func:`skfingerprint.datasets.lineage_groups`: the samplers of one U-Net,
the models on one autoencoder, a GAN and its fine-tunes).  (a) and (b) count
only sources that have a relative among the known sources.

Methods: DSF+ (``SetFingerprintEncoder``: its fingerprints, and the pooled
phi features before rho, standardised), DSF- (the encoder trained and
applied on single images, fingerprints averaged), the CNN
(``AttributionCNN``), spectra and PRNU, and the shipped fingerprint space
(issue 38): ``DSF+ pretrained`` (``weights="pretrained", max_epochs=0``, no
training: zero-shot; also its pooled phi features) and ``DSF+ pretrained,
fine-tuned`` (``weights="pretrained"``, default epochs).  Euclidean distances between
fingerprints for the learned features, correlation distances for spectra and
PRNU (as ``NearestFingerprintClassifier`` uses them).

    python -m benchmarks.lineage [--quick] [--n-train 10] [--methods DSF+ CNN]

Writes ``benchmarks/results/lineage[_quick].md`` and ``.json``.
"""

import argparse
import json
import os
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, epochs_kw, results_dir, write_results, zoo_subset)

SEED = 0
METHODS = ("DSF+", "DSF+ phi", "DSF+ groups=lineage", "DSF+ groups=class",
           "DSF+ radius=4", "DSF+ unbounded", "DSF-", "CNN", "Spectrum", "PRNU",
           "DSF+ pretrained", "DSF+ pretrained phi", "DSF+ pretrained, fine-tuned")
# methods trained with the groups of the known sources (fit(X, y, groups=)):
# the ground truth whose groups they are given
GROUPED = {"DSF+ groups=lineage": "lineage", "DSF+ groups=class": "class"}
# fitted encoder -> the variant that reads its pooled phi features (before rho)
_PHI = {"DSF+": "DSF+ phi", "DSF+ pretrained": "DSF+ pretrained phi"}


def _fitters(epochs, weights="pretrained"):
    from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint

    return {
        "DSF+": lambda: encoder(epochs, SEED),
        "DSF+ groups=lineage": lambda: encoder(epochs, SEED),
        "DSF+ groups=class": lambda: encoder(epochs, SEED),
        # unsupervised alternatives (no groups): a larger sphere, or none, repels
        # the negatives less uniformly than the default radius 1.5
        "DSF+ radius=4": lambda: encoder(epochs, SEED, embedding_radius=4.0),
        "DSF+ unbounded": lambda: encoder(epochs, SEED, embedding_radius=None),
        "DSF-": lambda: encoder(epochs, SEED, bag_size=1),
        "CNN": lambda: AttributionCNN(random_state=SEED, **epochs_kw(epochs)),
        "Spectrum": SpectrumFingerprint,
        "PRNU": PRNUFingerprint,
        # the shipped fingerprint space (issue 38): as it is, and fine-tuned
        "DSF+ pretrained": lambda: encoder(None, SEED, weights=weights, max_epochs=0),
        "DSF+ pretrained, fine-tuned": lambda: encoder(epochs, SEED, weights=weights),
    }


def pooled_phi(enc, X):
    """Pooled phi features (``DeepSet.pool``, before rho) of each bag of images ``X``."""
    import torch

    module = enc._module
    module.eval()
    with torch.inference_mode():
        return np.concatenate([module.pool(torch.from_numpy(np.ascontiguousarray(
            X[start:start + 8]))).numpy() for start in range(0, len(X), 8)])


def features(name, est, X):
    """Bag features of ``X`` for method ``name`` (DSF-: mean of single images)."""
    if name in _PHI.values():
        return pooled_phi(est, X)
    if name == "DSF-":
        n, k = X.shape[:2]
        single = est.transform(X.reshape((n * k, 1) + X.shape[2:]))
        return single.reshape(n, k, -1).mean(1)
    return est.transform(X)


def nearest_fingerprints(Z, y, metric):
    """``NearestFingerprintClassifier`` on (Z, y): the library's fingerprints
    (mean feature of each source) and distances (``source_distances``)."""
    from skfingerprint.classifiers import NearestFingerprintClassifier

    return NearestFingerprintClassifier(metric).fit(Z, y)


def _metric(name):
    """Distance between fingerprints of method ``name``."""
    return "correlation" if name in ("Spectrum", "PRNU") else "euclidean"


def _standardised(Ztr, *others):
    mu, sd = Ztr.mean(0), Ztr.std(0) + 1e-12
    return [(Z - mu) / sd for Z in (Ztr, *others)]


# feature spaces read from one fitted estimator
VARIANTS = {m: (m, _PHI[m]) if m in _PHI else (m,)
            for m in METHODS if m not in _PHI.values()}


def fit_and_embed(fitter, variants, fitters, Xtr, ytr, Xev, truths):
    """Fit ``fitter`` on (Xtr, ytr); features of the evaluated bags per variant."""
    if fitter in GROUPED:  # the groups of the known sources, as a user would give them
        groups = np.array([truths[GROUPED[fitter]][s] for s in ytr])
        est = fitters[fitter]().fit(Xtr, ytr, groups=groups)
    else:
        est = fitters[fitter]().fit(Xtr, ytr)
    out = {}
    for name in variants:
        Zev = features(name, est, Xev)
        if name in _PHI.values():  # raw phi statistics: put every feature on one scale
            Zev = _standardised(features(name, est, Xtr), Zev)[1]
        out[name] = Zev
    return out


def relatives_rank(dist_row, known, groups, s):
    """Rank (1-based) of the nearest known source sharing ``s``'s group, or None."""
    order = [known[i] for i in np.argsort(dist_row)]
    ranks = [r for r, k in enumerate(order, 1) if groups[k] == groups[s]]
    return ranks[0] if ranks else None


def run(args):
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import FunctionTransformer

    from skfingerprint import make_bags
    from skfingerprint.cluster import NearestRelatives, cut_families
    from skfingerprint.datasets import lineage_groups
    from skfingerprint.metrics import decorrelation_score

    per = (args.n_train + args.n_test) * args.bag_size
    zoo, images, labels = zoo_subset(args.preset, per, SEED)
    X, y = make_bags(images, labels, bag_size=args.bag_size, random_state=SEED)
    sources = list(zoo.sources)
    test, train = [], []
    for s in sources:
        idx = np.flatnonzero(y == s)
        test.append(idx[:args.n_test])
        train.append(idx[args.n_test:args.n_test + args.n_train])
    test, train = np.concatenate(test), np.concatenate(train)
    truths = {"class": {s: zoo.families[s] for s in sources},
              "lineage": lineage_groups(zoo.lineage, 2)}
    fitters = _fitters(args.epochs, args.weights)
    results = {}
    for fitter, variants in VARIANTS.items():
        variants = [v for v in variants if v in args.methods]
        if not variants:
            continue
        t0 = time.perf_counter()
        for v in variants:
            # the date tells which encoder defaults a row ran with
            results[v] = {"loo": {}, "ari": {}, "seconds": 0.0,
                          "date": time.strftime("%Y-%m-%d")}
        # (c) every source known: ARI of the clustering at the true number of groups
        Zall = fit_and_embed(fitter, variants, fitters, X[train], y[train],
                             np.concatenate([X[train], X[test]]), truths)
        for v in variants:
            Ztr, Zte = Zall[v][:train.size], Zall[v][train.size:]
            # attribution of the held-out bags (nearest training fingerprint)
            # and the decorrelation score of their fingerprints (paper Eq. 3-6)
            pred = nearest_fingerprints(Ztr, y[train], _metric(v)).predict(Zte)
            results[v]["attribution"] = float(np.mean(pred == y[test]))
            results[v]["decorrelation"] = float(decorrelation_score(Zte, y[test]))
            # the library's distances between known sources, on these features
            rel = NearestRelatives(FunctionTransformer(), metric=_metric(v)).fit(Zte, y[test])
            D = rel.pairwise_source_distances_
            for truth, groups in truths.items():
                g = [groups[s] for s in rel.classes_]
                ids = cut_families(D, n_families=len(set(g)))
                results[v]["ari"][truth] = float(adjusted_rand_score(g, ids))
        # (a), (b): leave each source out
        for s in sources:
            if not any(truths[t][k] == truths[t][s] for t in truths
                       for k in sources if k != s):
                continue  # no relative under either truth: nothing to find
            keep = y[train] != s
            ev = np.concatenate([test[y[test] != s], np.flatnonzero(y == s)])
            is_s = y[ev] == s
            Zev = fit_and_embed(fitter, variants, fitters, X[train[keep]], y[train[keep]],
                                X[ev], truths)
            for v in variants:
                nfc = nearest_fingerprints(Zev[v][~is_s], y[ev][~is_s], _metric(v))
                known = list(nfc.classes_)
                row = nfc.source_distances(Zev[v][is_s].mean(0, keepdims=True))[0]
                nearest = known[int(np.argmin(row))]
                entry = {"nearest": nearest}
                for truth, groups in truths.items():
                    rank = relatives_rank(row, known, groups, s)
                    entry[truth] = None if rank is None else {
                        "nearest_is_relative": bool(groups[nearest] == groups[s]),
                        "rank": rank}
                results[v]["loo"][s] = entry
                print(v, s, entry, flush=True)
        for v in variants:  # one set of fits for all the variants of a fitter
            results[v]["seconds"] = time.perf_counter() - t0
    return zoo, sources, truths, results


def summary(results, truth):
    rows = [e[truth] for e in results["loo"].values() if e[truth] is not None]
    if not rows:
        return float("nan"), float("nan"), 0
    return (float(np.mean([r["nearest_is_relative"] for r in rows])),
            float(np.mean([r["rank"] for r in rows])), len(rows))


def render(args, zoo, sources, truths, results, wall):
    n_groups = {t: len(set(g[s] for s in sources)) for t, g in truths.items()}
    md = ["# Model similarity as lineage: the nearest known source of a left-out generator\n",
          f"Zoo: preset `{args.preset}` ({zoo.sample_size}x{zoo.sample_size}, {len(sources)} "
          f"sources); per source {args.n_train} training and {args.n_test} held-out bags of "
          f"{args.bag_size} images, disjoint. Leave one source out: each method is fitted on "
          "the training bags of the other sources; fingerprints are the mean features of "
          "the held-out bags; the left-out source's nearest known fingerprint (Euclidean for "
          "learned features, correlation distance for spectra and PRNU). Ground truths: the "
          f"model class (`zoo.families`, {n_groups['class']} groups) and the lineage groups at "
          f"depth 2 (`lineage_groups(zoo.lineage, 2)`, {n_groups['lineage']} groups); "
          "sources without a relative under a truth are not counted for it. ARI: every "
          "source known, average linkage cut at the true number of groups.\n",
          "Attribution: accuracy of the held-out bags by their nearest training fingerprint; "
          "decorrelation: `decorrelation_score` of the held-out bags (both with every source "
          "known). `DSF+ groups=...`: `SetFingerprintEncoder().fit(X, y, groups=...)`, the "
          "known sources' groups under that truth (default `group_weight=1`); their ARI is "
          "no discovery (every source's group was given in training), only the leave-one-out "
          "columns measure whether the groups carry over to a source not seen.\n",
          "| method | nearest is same class | mean rank of a same-class source | nearest is "
          "same lineage | mean rank of a relative | ARI class | ARI lineage | attribution | "
          "decorrelation | seconds | run |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]

    def num(value):
        return "-" if value is None else f"{value:.3f}"

    for m, r in results.items():
        c, rc, nc = summary(r, "class")
        lin, rl, nl = summary(r, "lineage")
        md.append(f"| {m} | {c:.2f} ({nc}) | {rc:.2f} | {lin:.2f} ({nl}) | {rl:.2f} | "
                  f"{r['ari']['class']:.3f} | {r['ari']['lineage']:.3f} | "
                  f"{num(r.get('attribution'))} | {num(r.get('decorrelation'))} | "
                  f"{r['seconds']:.0f} | {r.get('date', 'before 2026-12-04')} |")
    chance = {}
    for t, g in truths.items():
        vals = []
        for s in sources:
            rel = sum(g[k] == g[s] for k in sources if k != s)
            if rel:
                vals.append(rel / (len(sources) - 1))
        chance[t] = float(np.mean(vals))
    md += ["", f"Chance that a random known source is a relative: class {chance['class']:.2f}, "
               f"lineage {chance['lineage']:.2f}. (n): left-out sources counted. Seconds: all "
               "the fits of a method (DSF+ and DSF+ phi share theirs). Run: the date of "
               "a row; the encoder rows run before 2026-12-04 used the earlier defaults "
               "(`front_end='image_and_residual'`, `n_bags_per_model=None`).", "",
           "Nearest known source of each left-out source:", "",
           "| left-out source | class | lineage group | " + " | ".join(results) + " |",
           "|---|---|---|" + "---|" * len(results)]
    for s in sources:
        if not any(s in r["loo"] for r in results.values()):
            continue
        md.append(f"| {s} | {truths['class'][s]} | {truths['lineage'][s]} | " + " | ".join(
            r["loo"].get(s, {}).get("nearest", "-") for r in results.values()) + " |")
    md += ["", f"Total wall time: {wall / 60:.1f} min.\n", env_markdown(environment()),
           "Reproduce: `python -m benchmarks.lineage" + (" --quick" if args.quick else "")
           + ("" if args.weights == "pretrained" else f" --weights {args.weights}")
           + "`\n"]
    return "\n".join(md), chance


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small zoo, bags of 8, 2 epochs")
    p.add_argument("--n-train", type=int, default=None, help="training bags per source")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--weights", default="pretrained",
                   help="the shipped weights of the 'DSF+ pretrained' methods (another "
                        "name than 'pretrained' writes lineage_<name>)")
    args = p.parse_args(argv)
    cfg = (dict(preset="small", bag_size=8, n_test=4, n_train=6, epochs=2) if args.quick
           else dict(preset="default", bag_size=32, n_test=10, n_train=10, epochs=None))
    for k, v in cfg.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    t0 = time.perf_counter()
    zoo, sources, truths, results = run(args)
    name = "lineage_quick" if args.quick else "lineage"
    if args.weights != "pretrained":
        name += f"_{args.weights}"
    previous = os.path.join(results_dir(), name + ".json")
    if os.path.exists(previous):  # methods not rerun keep their rows
        with open(previous) as f:
            old = json.load(f)
        if old.get("config") == cfg:
            results = {m: results.get(m, old["results"].get(m)) for m in METHODS
                       if m in results or m in old["results"]}
    md, chance = render(args, zoo, sources, truths, results, time.perf_counter() - t0)
    write_results(name, md,
                  {"env": environment(), "config": cfg, "truths": truths, "chance": chance,
                   "results": results})
    return results


if __name__ == "__main__":
    main()
