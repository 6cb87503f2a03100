"""Ablation from the per-image CNN to the set encoder, on the zoo's hard siblings.

The per-image ``AttributionCNN`` beat ``SetFingerprintEncoder`` on the sibling
pairs of the default zoo (``benchmarks/results/zoo_siblings.md``).  The two
networks differ in their training signal (one loss term per bag vs one per
image), in the number of optimisation steps an epoch makes, in the learning
rate, and in a per-image feature layer.  This benchmark fits the encoder
with each given setting on the hardest sibling pairs (and, with
``--all-sources``, on all the zoo's sources at once) and reports the accuracy
of the nearest fingerprint on the held-out bags, with the CNN as reference,
using the splits of ``benchmarks.zoo_siblings``.

Settings are written as ``name=value`` lists, e.g.::

    python -m benchmarks.encoder_ablation --settings "" "phi_training=bags" \\
        "phi_training=bags,image_loss_weight=1" "image_lr=0.001" --seeds 0,1
    python -m benchmarks.encoder_ablation --quick      # small zoo, 2 epochs

``""`` is the library's defaults; ``CNN`` names the baseline (``CNN:lr=0.001``
with parameters of ``AttributionCNN``); ``readout=skip`` adds a linear map of
the pooled features to rho's output, ``readout=linear`` makes rho one linear
map and ``readout=identity`` drops it (ablations of the readout, not library
options); ``augmentation=NAME`` takes a named post-processing
augmentation (``rpp``: JPEG, blur and noise, the earlier ``"auto"``;
``rpp_p25``, ``rpp_per_bag``, ``jpeg_only``, ``jpeg_only_p25``;
``jpeg_noise``, the current ``"auto"``, and ``jpeg_noise_p25`` / ``_p35`` at lower
probabilities: see :func:`augmentations`).  Results:
``benchmarks/results/encoder_ablation[_NAME][_quick].md/.json``.
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, epochs_kw, format_wilson, mean_sd, write_results)
from benchmarks.zoo_siblings import split_bags

HARD_PAIRS = (("score_ddpm", "score_euler_a"), ("score_ddim", "score_dpm_solver"),
              ("ldm_a_ddim", "ldm_a_dpm_solver"), ("ldm_a_ddim", "ldm_b_ddim"))


def parse_setting(text):
    """``"a=1,b=x"`` -> ``{"a": 1, "b": "x"}`` (values read as Python literals)."""
    params = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return params


def _readout_encoder_class(readout):
    """``SetFingerprintEncoder`` with another readout after the pooling (an
    ablation only: such a model is not meant to be saved).

    ``skip``: rho's output plus a linear map of the normalised pooled
    features; ``linear``: rho is one linear map (no hidden layer), the
    library's ``rho_hidden=0`` built from other initial weights (the MLP's
    draws come first), kept so that its recorded rows reproduce;
    ``identity``: no rho, the embedding is the normalised pooled features
    (``embedding_dim`` is then phi's pooled width)."""
    import types

    from torch import nn
    from torch.nn import functional as F

    from skfingerprint import SetFingerprintEncoder

    def head(self, pooled):
        normed = self.bag_norm(pooled)
        z = self.rho(normed) + self.skip(normed)
        return z if self.radius is None else self.radius * F.normalize(z, dim=1)

    class ReadoutEncoder(SetFingerprintEncoder):
        def _build_module(self, *args):
            module = super()._build_module(*args)
            if readout == "skip":
                module.skip = nn.Linear(module.pooled_features, module.rho[-1].out_features)
                module.head = types.MethodType(head, module)
            elif readout == "linear":
                module.rho = nn.Sequential(
                    nn.Linear(module.pooled_features, module.rho[-1].out_features))
            elif readout == "identity":
                module.rho = nn.Sequential(nn.Identity())
                self.embedding_dim = module.pooled_features
            else:
                raise ValueError(f"unknown readout {readout!r}")
            return module

    return ReadoutEncoder


def augmentations():
    """Named augmentations for ``augmentation=<name>`` in a setting."""
    from skfingerprint.augment import RandomPostProcessing

    return {
        "rpp": RandomPostProcessing(resize_scale=None),  # "auto" until 2026-12-06
        "rpp_p25": RandomPostProcessing(resize_scale=None, p=0.25),
        "rpp_per_bag": RandomPostProcessing(resize_scale=None, per_image=False),
        "jpeg_only": RandomPostProcessing(resize_scale=None, blur_sigma=None, noise_sigma=None),
        "jpeg_only_p25": RandomPostProcessing(resize_scale=None, blur_sigma=None,
                                              noise_sigma=None, p=0.25),
        "jpeg_noise": RandomPostProcessing(resize_scale=None, blur_sigma=None),
        # "auto" at lower probabilities (phi's stage; rho's table is at full
        # strength whatever p)
        "jpeg_noise_p25": RandomPostProcessing(resize_scale=None, blur_sigma=None, p=0.25),
        "jpeg_noise_p35": RandomPostProcessing(resize_scale=None, blur_sigma=None, p=0.35),
    }


def make_estimator(setting, seed, epochs):
    if setting.startswith("CNN"):  # "CNN" or "CNN:lr=0.001,batch_size=256"
        from skfingerprint.baselines import AttributionCNN

        params = parse_setting(setting.partition(":")[2])
        return AttributionCNN(random_state=seed, **{**epochs_kw(epochs), **params})
    params = parse_setting(setting)
    named = augmentations()
    if isinstance(params.get("augmentation"), str) and params["augmentation"] in named:
        params["augmentation"] = named[params["augmentation"]]
    readout = params.pop("readout", None)
    if readout is not None:
        return _readout_encoder_class(readout)(
            random_state=seed, **{**epochs_kw(epochs), **params})
    return encoder(epochs, seed, **params)


def pooled_features(est, X):
    """The readout before rho: phi's features pooled over each bag (array bags)."""
    import torch

    module = est._module.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(X), 64):
            out.append(module.pool(torch.from_numpy(np.ascontiguousarray(
                X[start:start + 64]))).numpy())
    return np.concatenate(out)


def evaluate(setting, data, seed, epochs):
    """Accuracy of the nearest fingerprint on the test bags, and fit seconds.

    For the encoder, also the accuracy of the readout before rho: phi's
    features pooled over each bag, standardised with the training bags'
    mean and deviation (None for the CNN)."""
    from skfingerprint.classifiers import NearestFingerprintClassifier

    Xtr, Xte, ytr, yte = data
    t = time.perf_counter()
    est = make_estimator(setting, seed, epochs).fit(Xtr, ytr)
    seconds = time.perf_counter() - t

    def correct(Ztr, Zte):
        clf = NearestFingerprintClassifier(metric="euclidean").fit(Ztr, ytr)
        return int(np.sum(clf.predict(Zte) == yte))

    pooled = None
    if not setting.startswith("CNN"):
        Ptr, Pte = pooled_features(est, Xtr), pooled_features(est, Xte)
        mean, sd = Ptr.mean(axis=0), Ptr.std(axis=0) + 1e-6
        pooled = correct((Ptr - mean) / sd, (Pte - mean) / sd)
    return correct(est.transform(Xtr), est.transform(Xte)), pooled, int(len(yte)), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["", "CNN"])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--bag-size", type=int, default=None)
    parser.add_argument("--images-per-source", type=int, default=None)
    parser.add_argument("--all-sources", action="store_true")
    parser.add_argument("--pairs-off", action="store_true", help="skip the pairs")
    parser.add_argument("--n-pairs", type=int, default=len(HARD_PAIRS),
                        help="the first N of the hard pairs (hardest first)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--name", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks._common import load_zoo

    preset = "small" if args.quick else "default"
    bag_size = args.bag_size or (8 if args.quick else 32)
    n_images = args.images_per_source or (64 if args.quick else 2000)
    epochs = 2 if args.quick and args.epochs is None else args.epochs
    seeds = [int(s) for s in args.seeds.split(",")]
    zoo = load_zoo(preset)
    present = set(np.asarray(zoo.sources).tolist())
    tasks = [] if args.pairs_off else [(f"{a} vs {b}", (a, b)) for a, b in HARD_PAIRS[:args.n_pairs]
                                       if a in present and b in present]
    if args.all_sources:
        tasks.append((f"all {len(present)} sources", np.asarray(zoo.sources).tolist()))
    rows, t0 = [], time.perf_counter()
    for task, sources in tasks:
        data = split_bags(zoo.images, zoo.labels, sources, n_images, bag_size)
        for setting in args.settings:
            runs = [evaluate(setting, data, seed, epochs) for seed in seeds]
            row = {"task": task, "setting": setting or "defaults",
                   "accuracy": [c / n for c, _, n, _ in runs],
                   "correct": sum(c for c, _, _, _ in runs),
                   "n": sum(n for _, _, n, _ in runs),
                   "accuracy_pooled": [None if p is None else p / n for _, p, n, _ in runs],
                   "fit_seconds": [round(s, 1) for _, _, _, s in runs]}
            rows.append(row)
            print(row, flush=True)
    env = environment()
    md = ["# Ablation: from the per-image CNN to the set encoder\n", env_markdown(env),
          f"- zoo `{preset}`, the first {n_images} images of each source, disjoint bags of "
          f"{bag_size}, one stratified 50/50 split (as `benchmarks.zoo_siblings`); nearest "
          f"fingerprint (Euclidean) on the test bags; seeds {args.seeds}; epochs "
          f"{'the defaults' if epochs is None else epochs}\n",
          "- accuracy: mean ± sd over the seeds; pooled: all seeds' test bags together "
          "with a 95% Wilson interval (seeds share the test bags)\n",
          "- readout before rho: phi's features pooled over the bag (standardised), "
          "nearest fingerprint on them, from the same fit\n",
          "| task | setting | accuracy | all seeds [95% interval] | readout before rho "
          "| fit seconds |",
          "|---|---|---|---|---|---|"]
    for r in rows:
        before = [a for a in r["accuracy_pooled"] if a is not None]
        md.append(f"| {r['task']} | `{r['setting']}` | {mean_sd(r['accuracy'])} | "
                  f"{format_wilson(r['correct'], r['n'])} | "
                  f"{mean_sd(before) if before else '-'} | "
                  f"{np.mean(r['fit_seconds']):.0f} |")
    md.append(f"\nTotal: {(time.perf_counter() - t0) / 60:.1f} min.\n")
    name = "encoder_ablation" + (f"_{args.name}" if args.name else "") + (
        "_quick" if args.quick else "")
    write_results(name, "\n".join(md), {"environment": env, "settings": vars(args),
                                        "rows": rows})


if __name__ == "__main__":
    main()
