"""A one-minute check of how a pretrained fingerprint space transfers to the zoo.

For iterating on the pretraining recipe (issue 38) without the full
benchmarks: the weights (an ``.npz`` written by ``benchmarks.pretrain``, with
its ``.json`` beside it; default: the newest shipped weights) are loaded
into a DeepSet, with no training at all, and the first ``--n-bags`` bags of 32
images of every source of the default zoo v4 are embedded:

- attribution: each of the last half of a source's bags is given the source
  whose mean fingerprint over the first half is nearest (Euclidean);
- lineage and class: for each source with a relative, is its nearest other
  source (mean fingerprints, every bag) a relative (lineage groups at depth
  2; the model class)?  Without training this equals leaving the source out;
- ARI: average linkage of the sources' distances, cut at the true number of
  groups.

Both the fingerprint (rho's output) and phi's pooled features (standardised)
are read.  The full protocols are ``benchmarks.lineage``,
``benchmarks.few_shot`` and ``benchmarks.open_set``; this is their quick
proxy, noisy (11 and 20 sources counted).

    python -m benchmarks.zero_shot_check [--weights PATH.npz] [--n-bags 10]

Prints the figures and writes ``benchmarks/results/zero_shot_check.md``
(``zero_shot_check_<name>.md`` for weights other than ``artifacts-v1``).
"""

import argparse
import json
import os

import numpy as np

from benchmarks._common import env_markdown, environment, write_results, zoo_subset


def _deepset(path):
    import torch

    from skfingerprint.encoder import DeepSet
    from skfingerprint.encoder._weights import read_state

    with open(path[:-4] + ".json") as fh:
        meta = json.load(fh)
    module = DeepSet(**meta["architecture"])
    module.load_state_dict({k: torch.from_numpy(v) for k, v in read_state(path).items()})
    return module.eval()


def _embed(module, X, step=16):
    import torch

    with torch.inference_mode():
        feats = [module.pool(torch.from_numpy(X[i:i + step])) for i in range(0, len(X), step)]
        pooled = torch.cat(feats)
        return module.head(pooled).numpy(), pooled.numpy()


def scores(F, y, sources, truths):
    """Attribution, nearest-relative rates and ARI of bag features ``F``."""
    from sklearn.metrics import adjusted_rand_score

    from skfingerprint.cluster import cut_families

    centres = np.stack([F[y == s].mean(0) for s in sources])
    D = ((centres[:, None] - centres[None]) ** 2).sum(-1)
    ref, qry, yq = [], [], []
    for i, s in enumerate(sources):
        bags = F[y == s]
        half = len(bags) // 2
        ref.append(bags[:half].mean(0))
        qry.append(bags[half:])
        yq += [i] * (len(bags) - half)
    qry = np.concatenate(qry)
    d = ((qry[:, None] - np.stack(ref)[None]) ** 2).sum(-1)
    out = {"attribution": float(np.mean(d.argmin(1) == np.array(yq)))}
    for truth, group in truths.items():
        hits = []
        for i, s in enumerate(sources):
            others = [j for j in range(len(sources)) if j != i]
            if any(group[sources[j]] == group[s] for j in others):
                j = others[int(np.argmin(D[i, others]))]
                hits.append(group[sources[j]] == group[s])
        labels = [group[s] for s in sources]
        ids = cut_families(np.sqrt(D), n_families=len(set(labels)))
        out[truth] = {"nearest_is_relative": float(np.mean(hits)), "n": len(hits),
                      "ari": float(adjusted_rand_score(labels, ids))}
    return out


def main(argv=None):
    from skfingerprint import make_bags
    from skfingerprint.datasets import lineage_groups
    from skfingerprint.encoder._weights import _DIR, ALIASES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default=os.path.join(_DIR, ALIASES["pretrained"] + ".npz"),
                   help="an .npz of benchmarks.pretrain (default: the newest shipped)")
    p.add_argument("--n-bags", type=int, default=10, help="bags of 32 per source")
    args = p.parse_args(argv)
    zoo, images, labels = zoo_subset("default", args.n_bags * 32, 0)
    X, y = make_bags(images, labels, bag_size=32, random_state=0)
    sources = list(zoo.sources)
    truths = {"class": {s: zoo.families[s] for s in sources},
              "lineage": lineage_groups(zoo.lineage, 2)}
    Z, P = _embed(_deepset(args.weights), X)
    P = (P - P.mean(0)) / (P.std(0) + 1e-12)
    results = {name: scores(F, y, sources, truths)
               for name, F in (("fingerprint", Z), ("phi pooled", P))}
    md = ["# Zero-shot transfer check of a pretrained fingerprint space", "",
          f"Weights: `{os.path.relpath(args.weights)}`; default zoo v4, {args.n_bags} "
          "bags of 32 per source, no training. A quick proxy of `benchmarks.lineage` "
          "and `benchmarks.few_shot` (see the module's docstring).", "",
          "| features | attribution | nearest is same lineage | nearest is same class "
          "| ARI lineage | ARI class |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        md.append(f"| {name} | {r['attribution']:.3f} | "
                  f"{r['lineage']['nearest_is_relative']:.2f} ({r['lineage']['n']}) | "
                  f"{r['class']['nearest_is_relative']:.2f} ({r['class']['n']}) | "
                  f"{r['lineage']['ari']:.3f} | {r['class']['ari']:.3f} |")
        print(name, json.dumps(r), flush=True)
    env = environment()
    md += ["", env_markdown(env), "Reproduce: `python -m benchmarks.zero_shot_check --weights "
           f"{os.path.relpath(args.weights)}`", ""]
    stem = os.path.splitext(os.path.basename(args.weights))[0]
    name = "zero_shot_check" if stem == "artifacts-v1" else f"zero_shot_check_{stem}"
    write_results(name, "\n".join(md),
                  {"weights": args.weights, "results": results, "environment": env})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
