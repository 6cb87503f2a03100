"""Attribution among siblings: sources of the model zoo that share a component.

For each pair of sibling sources (two latent U-Nets sharing one decoder, the
autoencoder round trip vs real crops, the samplers of one U-Net, the
fine-tunes of one GAN), bags of ``--bag-size`` images are made from the two
sources, split 50/50 (stratified, disjoint bags), and every method is fitted
on the training bags of the pair and classifies the test bags with a
``NearestFingerprintClassifier``: per-pair accuracy (chance 0.5).  DSF+ is
``SetFingerprintEncoder`` (bags), the baselines are ``PRNUFingerprint``,
``SpectrumFingerprint`` and ``AttributionCNN``.  Finally DSF+ and the CNN are
fitted on all the sources of the zoo at once (bags of ``--bag-size``) and
their accuracy on the held-out bags is reported with an ``MLPClassifier`` and
the nearest fingerprint.

Run from the repository root::

    python -m benchmarks.zoo_siblings            # default zoo, bags of 32
    python -m benchmarks.zoo_siblings --quick    # small zoo, bags of 8, 2 epochs
    python -m benchmarks.zoo_siblings --methods DSF+   # rerun DSF+ only
    python -m benchmarks.zoo_siblings --seeds 0,1,2    # learned methods: 3 seeds

With several ``--seeds``, DSF+ and the CNN are fitted once per seed (PRNU and
the spectrum have no randomness) and the table shows the mean and standard
deviation over the seeds: one seed of a pair is noisy (62 test bags, and the
fits of two seeds differ by up to 0.15 on the sampler pairs).

``--methods`` reruns only the methods named; the other columns are kept from
the previous results file.

Writes ``benchmarks/results/zoo_siblings[_quick].md`` and ``.json``.
"""

import argparse
import itertools
import json
import os
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, epochs_kw, first_per_source, load_zoo, mean_sd,
    paper_mlp, results_dir, write_results)

SEED = 0
# methods also fitted on every source of the zoo at once
ALL_SOURCES_METHODS = ("DSF+", "CNN")

# kind -> pairs of sources; pairs whose sources are not in the zoo are skipped
PAIRS = {
    "shared decoder": [("ldm_a_ddim", "ldm_b_ddim"), ("ae_roundtrip", "real")],
    "sampler": (list(itertools.combinations(
        ["score_ddim", "score_ddpm", "score_dpm_solver", "score_euler_a"], 2))
        + [("ldm_a_ddim", "ldm_a_dpm_solver")]),
    "fine-tune": [("gan_ns_tconv_ft_a", "gan_ns_tconv_ft_b"),
                  ("gan_ns_tconv", "gan_ns_tconv_ft_a"),
                  ("gan_ns_tconv", "gan_ns_tconv_ft_b")],
}


# methods with a random_state: fitted once per seed
SEEDED = ("DSF+", "CNN")


def make_methods(epochs):
    """name -> (factory of a fresh estimator given a seed, metric)."""
    from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint

    return {
        "DSF+": (lambda seed: encoder(epochs, seed), "euclidean"),
        "PRNU": (lambda seed: PRNUFingerprint(), "correlation"),
        "Spectrum": (lambda seed: SpectrumFingerprint(), "correlation"),
        "CNN": (lambda seed: AttributionCNN(random_state=seed, **epochs_kw(epochs)),
                "euclidean"),
    }


def _seeds(cfg, name):
    return list(cfg.get("seeds", [SEED])) if name in SEEDED else [SEED]


def _cell(row, name):
    """Mean over the seeds, with their standard deviation when there are several."""
    return mean_sd(row.get("per_seed", {}).get(name, [row[name]]))


def split_bags(images, labels, sources, n_per_source, bag_size):
    """Disjoint bags of each source, split 50/50 into train and test bags."""
    from sklearn.model_selection import train_test_split

    from skfingerprint import make_bags

    keep = first_per_source(labels, n_per_source, sources)
    X, y = make_bags(images[keep], labels[keep], bag_size=bag_size, random_state=SEED)
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=SEED)


def _previous(suffix, cfg):
    """Pairs and all-source rows of the previous results file (same settings)."""
    path = os.path.join(results_dir(), f"zoo_siblings{suffix}.json")
    if not os.path.exists(path):
        return {}, {}
    with open(path) as fh:
        old = json.load(fh)
    if old.get("config") != cfg:
        return {}, {}
    overall = old.get("all_sources", {})
    if "mlp" in overall:  # written before the CNN was fitted on all sources
        overall = {"DSF+": overall}
    return {r["pair"]: r for r in old.get("pairs", [])}, overall


def run(cfg, suffix, only=None):
    from skfingerprint.classifiers import NearestFingerprintClassifier

    zoo = load_zoo(cfg["preset"], SEED)
    present = set(np.asarray(zoo.sources).tolist())
    methods = make_methods(cfg["epochs"])
    old_pairs, old_overall = _previous(suffix, cfg) if only else ({}, {})
    rerun = set(methods if only is None else only)
    rows, t0 = [], time.perf_counter()
    for kind, pairs in PAIRS.items():
        for a, b in pairs:
            if a not in present or b not in present:
                continue
            Xtr, Xte, ytr, yte = split_bags(zoo.images, zoo.labels, (a, b),
                                            cfg["images_per_source"], cfg["bag_size"])
            row = {"kind": kind, "pair": f"{a} vs {b}", "n_test_bags": int(len(yte))}
            for name, (factory, metric) in methods.items():
                if name not in rerun and name in old_pairs.get(row["pair"], {}):
                    old = old_pairs[row["pair"]]
                    row[name] = old[name]
                    if name in old.get("per_seed", {}):
                        row.setdefault("per_seed", {})[name] = old["per_seed"][name]
                    continue
                accs = []
                for seed in _seeds(cfg, name):
                    est = factory(seed).fit(Xtr, ytr)
                    nc = NearestFingerprintClassifier(metric=metric).fit(est.transform(Xtr), ytr)
                    accs.append(float(np.mean(nc.predict(est.transform(Xte)) == yte)))
                row[name] = float(np.mean(accs))
                row.setdefault("per_seed", {})[name] = accs
            rows.append(row)
            print(row, flush=True)
    # DSF+ and the CNN over every source of the zoo
    Xtr, Xte, ytr, yte = split_bags(zoo.images, zoo.labels, np.asarray(zoo.sources).tolist(),
                                    cfg["images_per_source"], cfg["bag_size"])
    overall = {}
    for name in ALL_SOURCES_METHODS:
        if name not in rerun and name in old_overall:
            overall[name] = old_overall[name]
            continue
        per_seed = {"mlp": [], "nearest": []}
        for seed in _seeds(cfg, name):
            est = methods[name][0](seed).fit(Xtr, ytr)
            Ztr, Zte = est.transform(Xtr), est.transform(Xte)
            per_seed["mlp"].append(float(np.mean(
                paper_mlp(SEED).fit(Ztr, ytr).predict(Zte) == yte)))
            per_seed["nearest"].append(float(np.mean(
                NearestFingerprintClassifier().fit(Ztr, ytr).predict(Zte) == yte)))
        overall[name] = {
            "n_sources": int(len(zoo.sources)), "n_test_bags": int(len(yte)),
            "mlp": float(np.mean(per_seed["mlp"])),
            "nearest": float(np.mean(per_seed["nearest"])), "per_seed": per_seed}
        print(name, "all sources", overall[name], flush=True)
    wall = time.perf_counter() - t0
    env = environment()
    md = markdown(cfg, suffix, zoo, methods, rows, overall, len(yte), wall, env, only, rerun)
    write_results("zoo_siblings" + suffix, md,
                  {"env": env, "config": cfg, "pairs": rows, "all_sources": overall,
                   "wall_seconds": wall})
    return rows, overall


def markdown(cfg, suffix, zoo, methods, rows, overall, n_test_bags, wall, env, only, rerun):
    md = ["# Attribution among siblings of the model zoo\n",
          f"Zoo: preset `{cfg['preset']}` (`make_model_zoo('{cfg['preset']}', random_state={SEED})`), "
          f"{zoo.sample_size}x{zoo.sample_size}, the first {cfg['images_per_source']} images of "
          f"each source, disjoint bags of {cfg['bag_size']}, one stratified 50/50 split of the "
          f"bags; each method fitted on the training bags of the pair"
          + ("" if cfg["epochs"] is None else f" (max_epochs={cfg['epochs']})")
          + "; `NearestFingerprintClassifier` on its features (correlation for PRNU and "
          "spectra, Euclidean for the learned ones). Accuracy on the test bags; chance 0.5."
          + ("" if len(cfg.get("seeds", [SEED])) < 2 else
             f" DSF+ and CNN: mean ± standard deviation over the seeds "
             f"{', '.join(map(str, cfg['seeds']))} of their fits.") + "\n",
          "| kind | pair | test bags | " + " | ".join(methods) + " |",
          "|---|---|---|" + "---|" * len(methods)]
    for r in rows:
        md.append(f"| {r['kind']} | {r['pair']} | {r['n_test_bags']} | "
                  + " | ".join(_cell(r, m) for m in methods) + " |")
    md += ["", f"On all {len(zoo.sources)} sources at once (bags of {cfg['bag_size']}, "
               f"{n_test_bags} test bags):", "",
           "| method | MLP accuracy | nearest fingerprint |", "|---|---|---|"]
    for name, o in overall.items():
        seeds = o.get("per_seed", {"mlp": [o["mlp"]], "nearest": [o["nearest"]]})
        md.append(f"| {name} | **{_cell({'mlp': o['mlp'], 'per_seed': seeds}, 'mlp')}** | "
                  f"{_cell({'nearest': o['nearest'], 'per_seed': seeds}, 'nearest')} |")
    md += ["", f"Total wall time: {wall / 60:.1f} min"
           + ("" if only is None else f" (rerun: {', '.join(sorted(rerun))}; the other "
              "columns from the previous run)") + ".\n", env_markdown(env),
           f"Reproduce: `python -m benchmarks.zoo_siblings{' --quick' if suffix else ''}"
           + ("" if len(cfg.get("seeds", [SEED])) < 2 else
              f" --seeds {','.join(map(str, cfg['seeds']))}") + "`\n"]
    return "\n".join(md)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small zoo, bags of 8, 2 epochs")
    p.add_argument("--preset", default=None)
    p.add_argument("--bag-size", type=int, default=None)
    p.add_argument("--images-per-source", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seeds", default=None,
                   help="comma-separated seeds of the learned methods (default 0)")
    p.add_argument("--methods", nargs="+", default=None, choices=["DSF+", "PRNU", "Spectrum", "CNN"],
                   help="rerun only these; keep the others from the previous results")
    a = p.parse_args(argv)
    cfg = ({"preset": "small", "bag_size": 8, "images_per_source": 256, "epochs": 2}
           if a.quick else
           {"preset": "default", "bag_size": 32, "images_per_source": 2000, "epochs": None})
    for k in ("preset", "bag_size", "images_per_source", "epochs"):
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    if a.seeds:
        cfg["seeds"] = [int(v) for v in a.seeds.split(",")]
    run(cfg, "_quick" if a.quick else "", only=a.methods)


if __name__ == "__main__":
    main()
