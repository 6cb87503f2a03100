"""Real-world images: mixed sizes, half JPEG, patch mode vs resizing.

Two sets, made here (nothing downloaded), ``--set`` chooses:

* ``zoo`` (the default, the main set): the model zoo's fully convolutional
  generators sampled at 192 px (``make_model_zoo("small", sample_size=192,
  n_samples=128)``: one pixel-space U-Net sampled by DDIM, DPM-Solver and
  Euler ancestral, a noise-conditional score network with Langevin
  dynamics, an ``AutoencoderKL`` round trip of real crops, one latent U-Net
  with two samplers behind that autoencoder's decoder) and ``real`` photo
  crops; every sample cut into ``--crops-per-image`` crops (default 4), each
  of a random 96-192 px (height and width drawn independently, never
  resized) at offsets on the generators' 8-pixel grid, and every other
  file saved as JPEG (quality 80-95), the rest as PNG (half of each
  sample's crops), so no format or size confound separates the sources.
  8 sources x 128 samples x 4 crops = 512 images per source.
* ``roundtrip`` (the hard case): ``real`` = crops of 96-192 px of the
  photographs that ship with scikit-image and scikit-learn, and five
  *round-trip* sources = other such crops encoded and decoded by five small
  convolutional autoencoders that differ only in their upsampling layers
  (nearest, bilinear, bicubic, transposed convolution, pixel shuffle), the
  SD-style "real content through a generator's decoder" case; sizes and
  formats as above, every image a crop of its own (``--n-per-source``
  images per source, default 96).  6 sources.

The split is by sample: half of each source's samples, drawn at random, train
and the other half test, each with all its crops (``--train-crops`` caps the
crops of a training sample), so no content is on both sides.  A bag of 8
holds crops of 8 different samples: the crops of every sample are dealt into
rounds (one crop of each sample a round) and each round is cut into bags, so a
test sample is in as many bags as it has crops, never twice in one.  Per draw
of the halves the default zoo set has 256 training bags and 256 test bags of
8 (32 of each per source) and 2048 single test images.

Compared (bags of 8 and single images):

* DSF+ in patch mode (``SetFingerprintEncoder(patch_size=64)``), no resizing;
* the resize route (``image_size=64``: Lanczos resize of every image, the
  only route before patch mode);
* the spectrum, PRNU and per-image CNN baselines in patch mode.

Fingerprints go to the paper's MLP (StandardScaler + MLP) and to the nearest
source fingerprint (``NearestFingerprintClassifier``, the classifier that
``skfingerprint fit`` trains, there with its default correlation metric).  The
accuracy table pools the test bags (and images) of ``--split-seeds`` draws of
the train/test halves (default 3: 768 test bags in all) and gives each figure
its 95% Wilson interval (about +-0.025 at 0.85, +-0.02 at 0.9; the draws reuse
the images and a sample's crops share bags, so it is narrower than the
uncertainty of the set itself: the table also gives the standard deviation
between the draws and each draw's value), then the most confused pairs of
sources of DSF+ and of the best baseline.  ``--parts`` selects what to run:
``accuracy`` (the table), ``align`` (crops at multiples of 8 vs anywhere),
``patches`` (patches_per_image), ``augment`` (training with post-processing
augmentation or not, tested clean and re-encoded as JPEG q75),
``front_end`` (DSF+ with each input of phi, ``front_end=``), ``lineage``
(zoo set only: where a left-out source lands, the shipped space zero-shot
against the spectrum, as in ``benchmarks.lineage``), each of these
on the draw of split seed 0 with Wilson intervals, and ``memory`` (time and
peak RSS of ``transform`` per 1000 images at 64, 256 and 1024 px, each size
in a fresh process).

    python -m benchmarks.real_world                    # the zoo set: accuracy, augment, memory
    python -m benchmarks.real_world --parts accuracy front_end augment memory  # + front_end
    python -m benchmarks.real_world --set roundtrip    # the hard case (~40 min, 2 cores)
    python -m benchmarks.real_world --quick            # a small version (~4 min)

Run time on 2 CPU cores with one torch thread, once the zoo is cached: the
fitting and the fingerprints grow with the images, 3-4 times those of one
crop per sample (the run of 2026-12-05, 1299 s with ``front_end``; in the
quick runs 4 crops instead of 1 took DSF+ 3.5 times as long, all methods 2.1
times): about 50 minutes for ``accuracy`` (3 draws), 15 each for
``augment`` and ``front_end``, so about 65 minutes by default and 80 with
``front_end``.  ``--crops-per-image 1`` gives the former set (one crop per
sample, 64 test bags a draw); ``--train-crops 1`` keeps the former training
bags (and fitting time) and tests every crop.

The zoo set needs the zoo sampled at 192 px, built once and cached (28 minutes
on 2 CPU cores; ``--quick`` samples 16 images at 96 px instead, 2 crops each:
16 training and 16 test bags, one draw).

Results: ``benchmarks/results/real_world[_roundtrip][_quick].md/.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks._common import (
    encoder, env_markdown, environment, format_mean_sd, format_wilson, halves_per_source,
    paper_mlp, wilson_interval, worst_pairs, write_results)

UPSAMPLERS = ("nearest", "bilinear", "bicubic", "tconv", "pixelshuffle")


# ----------------------------------------------------------------- the set
def _autoencoder(upsampling, seed):
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def up(c_in, c_out):
        if upsampling == "tconv":
            return [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)]
        if upsampling == "pixelshuffle":
            return [nn.Conv2d(c_in, 4 * c_out, 3, padding=1), nn.PixelShuffle(2)]
        kw = {} if upsampling == "nearest" else {"align_corners": False}
        return [nn.Upsample(scale_factor=2, mode=upsampling, **kw),
                nn.Conv2d(c_in, c_out, 3, padding=1)]

    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 8, 3, padding=1),  # latent: 8 channels at 1/4 resolution
        *up(8, 32), nn.LeakyReLU(0.2),
        *up(32, 32), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 3, 3, padding=1), nn.Sigmoid(),
    )


def _train_autoencoder(upsampling, photos, steps, seed):
    import torch

    model = _autoencoder(upsampling, seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.RandomState(seed)
    for _ in range(steps):
        batch = np.stack([_crop(photos, 32, 32, rng) for _ in range(16)])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255
        loss = torch.nn.functional.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), float(loss.detach())


def _crop(photos, h, w, rng):
    photo = photos[rng.randint(len(photos))]
    top = rng.randint(photo.shape[0] - h + 1)
    left = rng.randint(photo.shape[1] - w + 1)
    return photo[top : top + h, left : left + w]


def _round_trip(model, image):
    import torch

    h, w = image.shape[:2]
    ph, pw = -h % 4, -w % 4  # the autoencoder works on multiples of 4
    x = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    with torch.inference_mode():
        out = model(torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255)[0]
    out = (out.permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    return out[:h, :w]


def _save(image, root, source, j, rng):
    """Write image ``j`` of ``source``: odd ``j`` as JPEG q80-95, even as PNG."""
    from PIL import Image

    if j % 2:
        path = os.path.join(root, source, f"{j:05d}.jpg")
        Image.fromarray(image).save(path, quality=int(rng.randint(80, 96)))
    else:
        path = os.path.join(root, source, f"{j:05d}.png")
        Image.fromarray(image).save(path)
    return path


def make_set(root, n_per_source, *, steps, sizes=(96, 192), seed=0):
    """Write the set under ``root/<source>/``; returns (paths, labels, info)."""
    from skfingerprint.datasets._photos import load_photos

    photos = [p for p in load_photos() if min(p.shape[:2]) >= sizes[1] + 8]
    rng = np.random.RandomState(seed)
    models, info = {}, {}
    for i, name in enumerate(UPSAMPLERS):
        t = time.perf_counter()
        models[f"ae_{name}"], loss = _train_autoencoder(name, photos, steps, seed + i)
        info[f"ae_{name}"] = {"final_mse": round(loss, 5),
                              "train_s": round(time.perf_counter() - t, 1)}
    paths, labels = [], []
    for source in ["real", *models]:
        os.makedirs(os.path.join(root, source), exist_ok=True)
        for j in range(n_per_source):
            h, w = rng.randint(sizes[0], sizes[1] + 1, size=2)
            image = _crop(photos, h, w, rng)
            if source != "real":
                image = _round_trip(models[source], image)
            paths.append(_save(image, root, source, j, rng))
            labels.append(source)
    return np.array(paths, dtype=object), np.array(labels), info


def make_zoo_set(root, n_per_source, *, sample_size=192, sizes=(96, 192), crop_align=8,
                 crops_per_image=1, seed=0, return_groups=False):
    """The zoo's fully convolutional sources sampled at ``sample_size``,
    cropped to random sizes in ``sizes`` and written under ``root/<source>/``
    (half JPEG q80-95, half PNG); returns (paths, labels, info), or
    (paths, labels, groups, info) with ``return_groups``.

    Every sample gives ``crops_per_image`` crops, each of its own size and
    offset; ``groups`` holds the sample of each crop (one number per sample),
    so that a split keeps the crops of one sample on one side.  With one
    crop per image the set is the same as before the option existed."""
    from skfingerprint.datasets import make_model_zoo

    t = time.perf_counter()
    zoo = make_model_zoo("small", sample_size=sample_size, n_samples=n_per_source,
                         random_state=seed)
    info = {"zoo_seconds": round(time.perf_counter() - t, 1),
            "crops_per_image": crops_per_image,
            "lineage": {s: list(v) for s, v in zoo.lineage.items()}}
    rng = np.random.RandomState(seed)
    paths, labels, groups = [], [], []
    group = -1  # the number of the sample, over all sources
    for source in zoo.sources:
        os.makedirs(os.path.join(root, source), exist_ok=True)
        for i, sample in enumerate(zoo.images[zoo.labels == source]):
            group += 1
            for c in range(crops_per_image):
                h, w = rng.randint(sizes[0], min(sizes[1], sample_size) + 1, size=2)
                # offsets on the generator's 8-pixel grid: the upsampling phase an image
                # sampled at that size has (arbitrary offsets: ``crop_align=1``)
                top = crop_align * rng.randint((sample.shape[0] - h) // crop_align + 1)
                left = crop_align * rng.randint((sample.shape[1] - w) // crop_align + 1)
                image = np.ascontiguousarray(sample[top : top + h, left : left + w])
                # file j: odd j JPEG, even j PNG (with several crops, half of each sample's)
                paths.append(_save(image, root, source, i * crops_per_image + c, rng))
                labels.append(source)
                groups.append(group)
    paths, labels = np.array(paths, dtype=object), np.array(labels)
    if return_groups:
        return paths, labels, np.array(groups), info
    return paths, labels, info


# ------------------------------------------------------------- evaluation
def split_halves(paths, labels, bag_size, seed, *, groups=None, train_crops=None):
    """Half of each source's samples, drawn at random, to train (in bags of
    ``bag_size``), the other half to test (in bags, and one by one).

    ``groups``: the sample of each image (the crops of one sample): a
    sample's crops all go to the same half, and each bag holds crops of
    ``bag_size`` different samples (:func:`grouped_bags`); None: every image
    is its own sample.  ``train_crops``: at most this many crops of each
    training sample are used (None: all).  With one image per sample the
    split and the bags are those of ``halves_per_source`` and ``make_bags``."""
    labels = np.asarray(labels)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    members = _members(groups)
    first = np.array([idx[0] for idx in members])
    train_s, test_s = halves_per_source(labels[first], seed)
    train = np.concatenate([members[i] for i in train_s])
    test = np.concatenate([members[i] for i in test_s])
    Xtr, ytr = grouped_bags(paths[train], labels[train], groups[train], bag_size, seed,
                            max_rounds=train_crops)
    Xte, yte = grouped_bags(paths[test], labels[test], groups[test], bag_size, seed)
    X1, y1 = paths[test][:, None], labels[test]
    return (Xtr, ytr), (Xte, yte), (X1, y1)


def _members(groups):
    """The indices of each group's items, groups in the order they first appear."""
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(first)
    return [np.flatnonzero(inverse == g) for g in order]


def grouped_bags(paths, labels, groups, bag_size, seed, max_rounds=None):
    """Disjoint bags of ``bag_size`` images of one source, each of different samples.

    The crops of every sample are shuffled and dealt into rounds (round ``r``
    holds the ``r``-th crop of every sample); each round is cut into bags by
    ``make_bags``, so no bag holds two crops of one sample, and every sample
    is in as many bags as it has crops.  ``max_rounds``: only the first
    rounds.  Bags are grouped by source in sorted label order, as
    ``make_bags`` returns them; with one crop per sample they are exactly
    ``make_bags(paths, labels, bag_size=bag_size, random_state=seed)``."""
    from skfingerprint import make_bags

    labels = np.asarray(labels)
    rng = np.random.RandomState(seed)
    rounds = np.empty(len(labels), dtype=int)
    for idx in _members(groups):
        rounds[idx] = rng.permutation(idx.size)
    n_rounds = rounds.max() + 1 if max_rounds is None else min(max_rounds, rounds.max() + 1)
    Xs, ys = [], []
    for r in range(n_rounds):
        keep = rounds == r
        X, y = make_bags(paths[keep], labels[keep], bag_size=bag_size,
                         random_state=seed if r == 0 else np.random.RandomState([seed, r]))
        Xs.append(X)
        ys.append(y)
    X, y = np.concatenate(Xs), np.concatenate(ys)
    order = np.argsort(y, kind="stable")
    return X[order], y[order]


def _encoder(args, **params):
    """A SetFingerprintEncoder with the library's defaults but ``--epochs``."""
    return encoder(args.epochs, 0, num_workers=0, **params)


def _methods(args, patch_size):
    from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint

    patch = dict(patch_size=patch_size, patches_per_image=args.patches)
    out = {
        "DSF+ patch mode": _encoder(args, **patch),
        "DSF+ resize route (image_size=64)": _encoder(args, image_size=64),
    }
    for name, cls in (("Spectrum patch mode", SpectrumFingerprint),
                      ("PRNU patch mode", PRNUFingerprint)):
        out[name] = cls(**patch)
    out["CNN patch mode"] = AttributionCNN(random_state=0, **patch)
    # the shipped fingerprint space (issue 38), fine-tuned on the training bags
    out["DSF+ patch mode, pretrained"] = _encoder(args, weights=args.weights, **patch)
    # only when named: fine-tuning from the weights at a higher learning rate
    # of phi's stage, and with phi rescaled (benchmarks/_rescaled_start.py)
    from benchmarks._rescaled_start import RescaledStart

    pretrained = out["DSF+ patch mode, pretrained"]
    experiments = {  # name -> (class, parameters changed)
        "DSF+ patch mode, pretrained, image_lr 5e-3": (type(pretrained), {"image_lr": 5e-3}),
        "DSF+ patch mode, pretrained, image_lr 1e-2": (type(pretrained), {"image_lr": 1e-2}),
        "DSF+ patch mode, pretrained, rescaled": (RescaledStart, {}),
        "DSF+ patch mode, pretrained, rescaled, image_lr 1e-2": (RescaledStart,
                                                                 {"image_lr": 1e-2}),
    }
    for name, (cls, params) in experiments.items():
        if args.methods is not None and name in args.methods:
            out[name] = cls(**{**pretrained.get_params(), **params})
    if args.methods is not None:
        out = {name: out[name] for name in args.methods}
    return out


def evaluate(method, data, seed=0):
    """Accuracy per bag and per image of ``method`` + the paper's MLP, and
    (``*_nearest``) + the nearest source fingerprint, the classifier of
    ``skfingerprint fit`` (correlation for the hand-made fingerprints,
    Euclidean for the learned ones; ``fit`` uses correlation); with the
    counts and confusion matrices of :func:`_scores`."""
    from skfingerprint.baselines import PRNUFingerprint, SpectrumFingerprint

    (Xtr, ytr), (Xte, yte), (X1, y1) = data
    t = time.perf_counter()
    Ztr = method.fit_transform(Xtr, ytr)
    tests = {"bag": (method.transform(Xte), yte), "image": (method.transform(X1), y1)}
    seconds = round(time.perf_counter() - t, 1)
    metric = ("correlation" if isinstance(method, (PRNUFingerprint, SpectrumFingerprint))
              else "euclidean")
    return {"seconds": seconds, **_scores(Ztr, ytr, tests, seed, metric)}


def _scores(Ztr, ytr, tests, seed=0, metric="euclidean"):
    """Accuracy on each of ``tests`` (name -> (Z, y)) of the paper's MLP and,
    as ``<name>_nearest``, of the nearest source fingerprint, fitted on ``Ztr``;
    ``counts`` (name -> [correct, total]), ``confusion`` (name -> matrix,
    rows the true source, columns the predicted one) and their ``classes``."""
    from sklearn.metrics import confusion_matrix

    from skfingerprint.classifiers import NearestFingerprintClassifier

    classes = np.unique(ytr)
    out = {"classes": classes.tolist(), "counts": {}, "confusion": {}}
    for suffix, clf in (("", paper_mlp(seed)), ("_nearest", NearestFingerprintClassifier(metric))):
        clf.fit(Ztr, ytr)
        for name, (Z, y) in tests.items():
            pred = clf.predict(Z)
            correct = int(np.sum(pred == y))
            out[name + suffix] = correct / len(y)
            out["counts"][name + suffix] = [correct, int(len(y))]
            out["confusion"][name + suffix] = confusion_matrix(
                y, pred, labels=classes).tolist()
    return out


def _brief(row):
    """``row`` without its counts and confusion matrices (for the log)."""
    return {k: v for k, v in row.items() if k not in ("classes", "counts", "confusion")}


COLUMNS = ("bag", "image", "bag_nearest", "image_nearest")


def part_accuracy(args, paths, labels, groups=None):
    """Every method on the split (and seed) of each of ``args.split_seeds``."""
    from sklearn.base import clone

    def methods(seed):
        return {name: (clone(m).set_params(random_state=seed)
                       if "random_state" in m.get_params() else m)
                for name, m in _methods(args, 64).items()}

    return over_splits(args.split_seeds, paths, labels, methods, groups=groups,
                       train_crops=getattr(args, "train_crops", None))


def over_splits(seeds, paths, labels, methods, *, groups=None, train_crops=None):
    """``methods(seed)`` (name -> method) on the split of each of ``seeds``
    (:func:`split_halves`, ``groups`` and ``train_crops`` passed on): the
    mean, the standard deviation and the values of each split, and, pooled
    over the splits, the correct and total counts (``<column>_correct``,
    ``<column>_n``), their 95% Wilson interval (``<column>_interval``) and the
    summed confusion matrices (``confusion``, rows and columns ``classes``).
    Every split has as many test bags and images, so the pooled accuracy is
    the mean."""
    runs = {}
    sizes = {}
    for seed in seeds:
        data = split_halves(paths, labels, 8, seed=seed, groups=groups,
                            train_crops=train_crops)
        sizes = {"train_bags": len(data[0][1]), "test_images": len(data[2][1])}
        for name, method in methods(seed).items():
            r = evaluate(method, data, seed=seed)
            r["test_bags"] = len(data[1][1])
            runs.setdefault(name, []).append(r)
            print(f"split {seed}", name, _brief(r), flush=True)
    rows = {}
    for name, rs in runs.items():
        rows[name] = {"seconds": round(float(np.mean([r["seconds"] for r in rs])), 1),
                      "test_bags": int(sum(r["test_bags"] for r in rs)),
                      "train_bags_per_split": sizes["train_bags"],
                      "test_images": sizes["test_images"] * len(rs),
                      "splits": list(seeds), "classes": rs[0]["classes"], "confusion": {}}
        for c in COLUMNS:
            v = [r[c] for r in rs]
            k = int(sum(r["counts"][c][0] for r in rs))
            n = int(sum(r["counts"][c][1] for r in rs))
            rows[name].update({c: float(np.mean(v)), f"{c}_sd": float(np.std(v)),
                               f"{c}_per_split": v, f"{c}_correct": k, f"{c}_n": n,
                               f"{c}_interval": list(wilson_interval(k, n))})
            rows[name]["confusion"][c] = np.sum(
                [r["confusion"][c] for r in rs], axis=0).tolist()
    return rows


def part_lineage(args, data, lineage):
    """Zoo set: where a left-out source lands, zero-shot (issue 38).

    The protocol of ``benchmarks.lineage`` on this set's one draw ``data``:
    each source with a relative (lineage groups at depth 2: the samplers of
    one U-Net, the models on one autoencoder) is left out, the method is
    fitted on the training bags of the others, and the left-out source's
    fingerprint (the mean of its test bags) is compared with the known
    sources' (their test bags): is the nearest a relative, and the rank of
    the nearest relative.  With every source known, the ARI of average
    linkage cut at the true number of groups.  Only methods that need no
    training per source: the shipped space zero-shot and the spectrum."""
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import FunctionTransformer

    from benchmarks.lineage import nearest_fingerprints, relatives_rank
    from skfingerprint.baselines import SpectrumFingerprint
    from skfingerprint.cluster import NearestRelatives, cut_families
    from skfingerprint.datasets import lineage_groups

    (Xtr, ytr), (Xte, yte), _ = data
    groups = lineage_groups(lineage, 2)
    patch = dict(patch_size=64, patches_per_image=args.patches)
    methods = {
        "DSF+ patch mode, pretrained, zero-shot": (
            lambda: _encoder(args, weights=args.weights, max_epochs=0, **patch),
            "euclidean"),
        "Spectrum patch mode": (lambda: SpectrumFingerprint(**patch), "correlation"),
    }
    sources = [str(s) for s in np.unique(ytr)]
    rows = {}
    for name, (make, metric) in methods.items():
        t0 = time.perf_counter()
        Zte = make().fit(Xtr, ytr).transform(Xte)
        rel = NearestRelatives(FunctionTransformer(), metric=metric).fit(Zte, yte)
        truth = [groups[s] for s in rel.classes_]
        ids = cut_families(rel.pairwise_source_distances_, n_families=len(set(truth)))
        row = {"ari": float(adjusted_rand_score(truth, ids)), "loo": {}}
        for s in sources:
            if not any(groups[k] == groups[s] for k in sources if k != s):
                continue  # no relative: nothing to find
            Z = make().fit(Xtr[ytr != s], ytr[ytr != s]).transform(Xte)
            nfc = nearest_fingerprints(Z[yte != s], yte[yte != s], metric)
            known = [str(k) for k in nfc.classes_]
            dist = nfc.source_distances(Z[yte == s].mean(0, keepdims=True))[0]
            nearest = known[int(np.argmin(dist))]
            row["loo"][s] = {"nearest": nearest,
                             "nearest_is_relative": bool(groups[nearest] == groups[s]),
                             "rank": relatives_rank(dist, known, groups, s)}
            print("lineage", name, s, row["loo"][s], flush=True)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows[name] = row
    return rows


def lineage_markdown(rows, one):
    """The lineage part's table and each left-out source's nearest."""
    names = list(rows)
    left_out = list(next(iter(rows.values()))["loo"])
    md = [f"\n## Lineage, zero-shot: where a left-out source lands ({one})\n",
          ("Lineage groups at depth 2 (`lineage_groups(zoo.lineage, 2)`); each source "
           "with a relative is left out in turn, the method fitted on the others' "
           "training bags; fingerprints are the mean of the test bags. ARI: every "
           "source known, average linkage cut at the true number of groups. "
           "Euclidean distances for the learned space, correlation for the spectrum.\n"),
          "| method | nearest is a relative | mean rank of a relative | ARI lineage | seconds |",
          "|---|---|---|---|---|"]
    for name, r in rows.items():
        hits = [e["nearest_is_relative"] for e in r["loo"].values()]
        ranks = [e["rank"] for e in r["loo"].values()]
        md.append(f"| {name} | {np.mean(hits):.2f} ({len(hits)}) | {np.mean(ranks):.2f} | "
                  f"{r['ari']:.3f} | {r['seconds']:.0f} |")
    md += ["", "| left-out source | " + " | ".join(names) + " |",
           "|---|" + "---|" * len(names)]
    for s in left_out:
        md.append(f"| {s} | " + " | ".join(rows[n]["loo"][s]["nearest"] for n in names)
                  + " |")
    return md + [""]


def best_baseline(rows, column="bag"):
    """The name of the row with the highest ``column`` whose method is not DSF+."""
    others = [name for name in rows if not name.startswith("DSF+")]
    return max(others, key=lambda name: rows[name][column]) if others else None


def part_align(args, data):
    import skfingerprint._patches as patches

    rows = {}
    for align in (8, 1):
        patches.PATCH_ALIGN = align
        try:
            enc = _encoder(args, patch_size=64, patches_per_image=args.patches)
            rows[f"offsets multiple of {align}"] = evaluate(enc, data)
        finally:
            patches.PATCH_ALIGN = 8
        print(align, _brief(rows[f"offsets multiple of {align}"]), flush=True)
    return rows


def part_front_end(args, data):
    """DSF+ patch mode with each ``front_end`` of phi."""
    rows = {}
    for fe in ("image_and_residual", "normalised_residual"):
        enc = _encoder(args, patch_size=64, patches_per_image=args.patches, front_end=fe)
        rows[f"front_end={fe!r}"] = evaluate(enc, data)
        print(fe, _brief(rows[f"front_end={fe!r}"]), flush=True)
    return rows


def part_patches(args, data):
    rows = {}
    for n in args.patch_counts:
        enc = _encoder(args, patch_size=64, patches_per_image=n)
        rows[str(n)] = evaluate(enc, data)
        print(n, _brief(rows[str(n)]), flush=True)
    return rows


def part_augment(args, data):
    """Patch mode trained with and without post-processing augmentation,
    tested on the test images as they are and re-encoded as JPEG q75."""
    from skfingerprint.augment import RandomPostProcessing

    (Xtr, ytr), (Xte, yte), (X1, y1) = data
    jpeg_te = _reencoded(Xte, 75)
    rows = {}
    for name, aug in (("none", None),
                      ("'auto' (the default: JPEG and noise)", "auto"),
                      ("RandomPostProcessing(resize_scale=None) (JPEG, blur and noise)",
                       RandomPostProcessing(resize_scale=None))):
        enc = _encoder(args, patch_size=64, patches_per_image=args.patches, augmentation=aug)
        t = time.perf_counter()
        Ztr = enc.fit_transform(Xtr, ytr)
        tests = {"bag": (enc.transform(Xte), yte), "jpeg75": (enc.transform(jpeg_te), yte)}
        rows[name] = {"seconds": round(time.perf_counter() - t, 1),
                      **_scores(Ztr, ytr, tests, metric="correlation")}
        print(name, _brief(rows[name]), flush=True)
    return rows


def _reencoded(X, quality):
    """The bags of paths ``X`` with every file re-encoded as JPEG ``quality``,
    written beside the set (``<set root>/jpeg<quality>/``, removed with it)."""
    from PIL import Image

    out = np.empty(X.shape, dtype=object)
    set_root = os.path.dirname(os.path.dirname(os.path.abspath(X.flat[0])))
    root = os.path.join(set_root, f"jpeg{quality}")
    os.makedirs(root, exist_ok=True)
    for idx in np.ndindex(X.shape):
        path = os.path.join(root, f"{'_'.join(map(str, idx))}.jpg")
        with Image.open(X[idx]) as im:
            im.convert("RGB").save(path, quality=quality)
        out[idx] = path
    return out


# ------------------------------------------------------------------ memory
_MEMORY_CHILD = r"""
import json, os, sys, time
import numpy as np
from PIL import Image
from skfingerprint import SetFingerprintEncoder, make_bags
size, n, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.RandomState(0)
os.makedirs(root, exist_ok=True)
paths = []
for i in range(n):
    p = os.path.join(root, f"{i}.jpg")
    Image.fromarray(rng.randint(0, 256, (size, size, 3), dtype=np.uint8)).save(p, quality=90)
    paths.append(p)
paths = np.array(paths, dtype=object)
X, y = make_bags(paths, np.arange(n) % 2, bag_size=8, random_state=0)
fit = X[:4]
enc = SetFingerprintEncoder(max_epochs=1, random_state=0, patch_size=64,
                            patches_per_image=8).fit(fit, np.array([0, 0, 1, 1]))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS
    fh.write("5")
base = status("VmRSS")
t = time.perf_counter()
enc.transform(X)
print(json.dumps({"size": size, "images": n, "seconds": time.perf_counter() - t,
                  "rss_before_mib": base, "peak_during_mib": status("VmHWM")}))
"""


def part_memory(args):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (64, 256, 1024):
            out = subprocess.run(
                [sys.executable, "-c", _MEMORY_CHILD, str(size), str(args.memory_images),
                 os.path.join(tmp, str(size))],
                check=True, capture_output=True, text=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["seconds_per_1000"] = row["seconds"] * 1000 / row["images"]
            rows.append(row)
            print(row, flush=True)
    return rows


# -------------------------------------------------------------------- main
def table_splits(rows):
    """Mean ± standard deviation over the splits, then each split's value."""
    lines = ["| method | MLP: per bag of 8 | MLP: per image | nearest fingerprint: per bag "
             "of 8 | nearest fingerprint: per image | test bags, all splits | seconds per "
             "split |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        cells = [format_mean_sd(r[c], r[c + "_sd"], bold_mean=True) + " ("
                 + ", ".join(f"{v:.3f}" for v in r[c + "_per_split"]) + ")"
                 for c in ("bag", "image", "bag_nearest", "image_nearest")]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['test_bags']} | "
                     f"{r['seconds']} |")
    return "\n".join(lines)


def table_pooled(rows):
    """Each method's accuracies pooled over the splits, with their 95% Wilson
    interval, then the standard deviation between the splits and each split's value."""
    lines = ["| method | MLP: per bag of 8 | MLP: per image | nearest fingerprint: per bag "
             "of 8 | nearest fingerprint: per image | test bags / images, all draws | "
             "training bags per draw | seconds per draw |", "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        cells = [f"**{format_wilson(r[c + '_correct'], r[c + '_n'])}**"
                 + (f"; draws: sd {r[c + '_sd']:.3f} ("
                    + ", ".join(f"{v:.3f}" for v in r[c + "_per_split"]) + ")"
                    if len(r[c + "_per_split"]) > 1 else "") for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['test_bags']} / "
                     f"{r['test_images']} | {r['train_bags_per_split']} | {r['seconds']} |")
    return "\n".join(lines)


def table_pairs(row, k=5):
    """The ``k`` most confused pairs of sources of one method, per bag of 8
    with the MLP (pooled over the splits), and the same pairs' rate with the
    nearest fingerprint."""
    classes = row["classes"]
    near = np.asarray(row["confusion"]["bag_nearest"])
    lines = ["| pair A / B | bags of A called B | bags of B called A | rate (both ways / "
             "bags of A and B), MLP | rate, nearest fingerprint |", "|---|---|---|---|---|"]
    for a, b, ab, ba, n in worst_pairs(row["confusion"]["bag"], classes, k):
        i, j = classes.index(a), classes.index(b)
        lines.append(f"| `{a}` / `{b}` | {ab} | {ba} | {format_wilson(ab + ba, n)} | "
                     f"{(near[i, j] + near[j, i]) / n:.3f} |")
    if len(lines) == 2:
        lines.append("| (no pair confused) | 0 | 0 | 0 | |")
    return "\n".join(lines)


def _cell(r, c):
    """Accuracy ``c`` of row ``r`` with its 95% Wilson interval when the counts are known."""
    counts = r.get("counts", {}).get(c)
    return format_wilson(*counts) if counts else f"{r[c]:.3f}"


def _table(rows, cols=("bag", "image")):
    head = "| method | " + " | ".join(
        {"bag": "accuracy per bag of 8", "image": "accuracy per image",
         "jpeg75": "accuracy per bag of 8, JPEG q75",
         "bag_nearest": "nearest fingerprint: per bag of 8",
         "image_nearest": "nearest fingerprint: per image",
         "jpeg75_nearest": "nearest fingerprint: per bag of 8, JPEG q75"}[c] for c in cols)
    lines = [head + " | seconds |", "|---|" + "---|" * (len(cols) + 1)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(r, c) for c in cols)
                     + f" | {r['seconds']} |")
    return "\n".join(lines)


PARTS = ("accuracy", "align", "patches", "augment", "front_end", "lineage", "memory")


def parse_args(argv=None):
    """The command line, with the defaults that depend on the set and ``--quick``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--set", dest="set_name", choices=("zoo", "roundtrip"), default="zoo")
    parser.add_argument("--parts", nargs="+", default=None, choices=PARTS,
                        help="default: accuracy, augment and memory for the zoo set, "
                             "everything but memory for the round trips")
    parser.add_argument("--n-per-source", type=int, default=None,
                        help="images per source (default: zoo 128, round trips 96; "
                             "quick 16 / 48)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="encoder epochs (default: the library's for the zoo set; "
                             "6 for the round trips; quick 3)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                        help="accuracy: only these methods (default: all), e.g. "
                             "'DSF+ patch mode' 'DSF+ patch mode, pretrained'")
    parser.add_argument("--suffix", default="",
                        help="appended to the results' file name (keeps earlier runs)")
    parser.add_argument("--weights", default="pretrained",
                        help="the shipped weights that 'DSF+ patch mode, pretrained' is "
                             "fine-tuned from (default: the newest); name the results "
                             "with --suffix")
    parser.add_argument("--crop-align", type=int, default=8,
                        help="zoo set: crop offsets are multiples of this (default 8: the "
                             "generators' upsampling phase kept; 1: arbitrary crops)")
    parser.add_argument("--split-seeds", default=None,
                        help="accuracy: comma-separated seeds of the train/test draws "
                             "(default: 0,1,2; quick 0)")
    parser.add_argument("--crops-per-image", type=int, default=None,
                        help="zoo set: crops cut from every sample, each of its own size and "
                             "offset; a sample's crops stay on one side of the split and "
                             "every bag holds crops of 8 different samples (default 4: 256 "
                             "test bags a draw; quick 2; 1: the set of one crop per "
                             "sample). The round-trip set has one crop per image: raise "
                             "--n-per-source there")
    parser.add_argument("--train-crops", type=int, default=None,
                        help="zoo set: use at most this many crops of each training sample "
                             "(default: all; 1 keeps the training bags of one crop per "
                             "sample, and the encoders' fitting time, while the test keeps "
                             "every crop)")
    args = parser.parse_args(argv)
    zoo_set = args.set_name == "zoo"
    if args.crops_per_image is None:
        args.crops_per_image = 1 if not zoo_set else 2 if args.quick else 4
    elif args.crops_per_image < 1 or (args.crops_per_image > 1 and not zoo_set):
        parser.error("--crops-per-image must be a positive integer, and 1 for the "
                     "round-trip set (whose images are each a crop of their own: raise "
                     "--n-per-source instead)")
    if args.train_crops is not None and not 1 <= args.train_crops <= args.crops_per_image:
        parser.error(f"--train-crops must lie between 1 and --crops-per-image "
                     f"({args.crops_per_image})")
    if "lineage" in (args.parts or ()) and not zoo_set:
        parser.error("--parts lineage needs the zoo set, whose sources have a lineage")
    args.split_seeds = tuple(int(v) for v in (
        args.split_seeds or ("0" if args.quick else "0,1,2")).split(","))
    if args.parts is None:
        args.parts = (["accuracy", "augment", "memory"] if zoo_set
                      else ["accuracy", "align", "patches", "augment"])
    if args.n_per_source is None:
        args.n_per_source = {(True, True): 16, (True, False): 128,
                             (False, True): 48, (False, False): 96}[zoo_set, args.quick]
    args.steps = 60 if args.quick else 300
    if args.epochs is None and (args.quick or not zoo_set):
        args.epochs = 3 if args.quick else 6
    args.sample_size = 96 if (zoo_set and args.quick) else 192
    args.patches = 8
    args.patch_counts = (2, 8) if args.quick else (4, 16)  # 8: the accuracy table
    args.memory_images = 40 if args.quick else 300
    return args


def intro_markdown(args, env):
    """The title and the description of the set and of the encoder."""
    zoo_set = args.set_name == "zoo"
    if zoo_set:
        what = (f"- set: the model zoo's fully convolutional sources and real crops, "
                f"sampled at {args.sample_size} px (`make_model_zoo(\"small\", sample_size="
                f"{args.sample_size}, n_samples={args.n_per_source})`), each image cropped to "
                f"96-{args.sample_size} px (height and width drawn independently, never "
                f"resized) at offsets that are multiples of {args.crop_align}, "
                f"{args.n_per_source} samples per source and {args.crops_per_image} crop(s) "
                f"of each ({args.n_per_source * args.crops_per_image} images per source)")
    else:
        what = (f"- set: real + {len(UPSAMPLERS)} autoencoder round trips (upsampling "
                f"{', '.join(UPSAMPLERS)}), crops of 96-192 px (height and width drawn "
                f"independently), {args.n_per_source} images per source")
    epochs = ("the library's defaults" if args.epochs is None
              else f"default parameters but {args.epochs} epochs")
    return ["# Real-world images: mixed sizes, half JPEG, patch mode vs resizing"
            + ("" if zoo_set else " (the hard case: autoencoder round trips)") + "\n",
            env_markdown(env),
            (what + "; every other image JPEG q80-95, the rest PNG (half of every sample's "
             "crops); half of each source's samples train, with all their crops"
             + ("" if args.train_crops is None else f" (at most {args.train_crops} a sample)")
             + ", half test, with all their crops; a bag of 8 holds crops of 8 different "
             "samples\n"),
            (f"- encoder: {epochs}; patch mode patch_size=64, patches_per_image="
             f"{args.patches}; classifier: StandardScaler + MLP(128, 64)\n"),
            "- the machine was shared with other jobs: seconds are upper bounds\n"]


def make_data(args, root, payload, t0):
    """Write the chosen set under ``root``; returns ``(paths, labels, groups,
    markdown line)``: ``groups`` the sample of each image (None: each its own)."""
    groups = None
    if args.set_name == "zoo":
        paths, labels, groups, info = make_zoo_set(
            root, args.n_per_source, sample_size=args.sample_size,
            crop_align=args.crop_align, crops_per_image=args.crops_per_image,
            return_groups=True)
        payload["zoo"] = info
        line = (f"- set made in {time.perf_counter() - t0:.0f} s (zoo loaded or "
                f"built in {info['zoo_seconds']:.0f} s); sources "
                + ", ".join(f"`{s}`" for s in info["lineage"]) + "\n")
    else:
        paths, labels, info = make_set(root, args.n_per_source, steps=args.steps)
        payload["autoencoders"] = info
        line = (f"- set built in {time.perf_counter() - t0:.0f} s; autoencoders "
                + ", ".join(f"{k}: MSE {v['final_mse']}" for k, v in info.items()) + "\n")
    return paths, labels, groups, line


def accuracy_markdown(args, rows, n_sources):
    """The accuracy table and the most confused pairs of DSF+ and of the best baseline."""
    any_row = next(iter(rows.values()))
    draws = len(args.split_seeds)
    md = [f"\n## Accuracy ({n_sources} sources, chance {1 / n_sources:.3f})\n",
          (f"Each cell: the accuracy over the test bags (or images) of all {draws} "
           "draw(s) of the train/test halves (split seeds "
           + ", ".join(map(str, args.split_seeds)) + "; the encoders, CNN and MLP "
           "seeded alike) with its 95% Wilson interval, then the standard "
           "deviation between the draws and each draw's value. "
           f"{any_row['test_bags'] // draws} test bags and "
           f"{any_row['test_images'] // draws} test images a draw, "
           f"{any_row['train_bags_per_split']} training bags. The interval counts "
           "every bag as independent: the draws reuse the same images"
           + (f" and a sample's {args.crops_per_image} crops are in as many bags (never "
              "two in one)" if args.crops_per_image > 1 else "")
           + ", so it is narrower than the uncertainty of the set itself; "
           "the spread between draws is the check. Two classifiers on the same "
           "fingerprints: the paper's MLP, fitted on the training bags, and the "
           "nearest source fingerprint (`NearestFingerprintClassifier`, the "
           "classifier `skfingerprint fit` trains; here correlation for the "
           "spectrum and PRNU, Euclidean for DSF+ and the CNN, where `fit` uses "
           "correlation).\n"),
          table_pooled(rows), ""]
    shown = [name for name in ("DSF+ patch mode", best_baseline(rows)) if name in rows]
    for name in shown:
        md += [f"\n### The most confused pairs: {name}"
               + (" (the best baseline per bag of 8 with the MLP)"
                  if name == best_baseline(rows) else "") + "\n",
               ("Test bags of all draws, MLP; the rate is (bags of A called B + bags of "
                "B called A) / (test bags of A and B), with its 95% Wilson interval; "
                "the last column is the same pair's rate with the nearest "
                "fingerprint. Every confusion matrix is in the JSON.\n"),
               table_pairs(rows[name]), ""]
    return md


def run_set_parts(args, paths, labels, payload, groups=None):
    """The parts that evaluate methods on the set; returns their markdown."""
    data = split_halves(paths, labels, 8, seed=0, groups=groups,
                        train_crops=getattr(args, "train_crops", None))
    one = ("one draw (split seed 0): "
           f"{len(data[1][1])} test bags, {len(data[2][1])} test images, "
           f"{len(data[0][1])} training bags; 95% Wilson intervals")
    md = []
    if "accuracy" in args.parts:
        payload["accuracy"] = part_accuracy(args, paths, labels, groups)
        md += accuracy_markdown(args, payload["accuracy"], np.unique(labels).size)
    if "align" in args.parts:
        payload["align"] = part_align(args, data)
        md += [f"\n## Crop offsets: multiples of 8 vs any pixel (DSF+ patch mode; {one})\n",
               _table(payload["align"]), ""]
    if "patches" in args.parts:
        payload["patches"] = part_patches(args, data)
        md += [f"\n## patches_per_image (DSF+ patch mode; {one})\n",
               _table(payload["patches"]).replace("| method |", "| patches per image |"),
               ""]
    if "front_end" in args.parts:
        payload["front_end"] = part_front_end(args, data)
        md += [f"\n## The input of phi (`front_end`, DSF+ patch mode; {one})\n",
               _table(payload["front_end"], cols=("bag", "image", "bag_nearest",
                                                  "image_nearest")), ""]
    if "lineage" in args.parts:
        payload["lineage"] = part_lineage(args, data, payload["zoo"]["lineage"])
        md += lineage_markdown(payload["lineage"], one.split(";")[0])
    if "augment" in args.parts:
        payload["augment"] = part_augment(args, data)
        md += ["\n## Post-processing augmentation (DSF+ patch mode; test bags as "
               "they are and re-encoded as JPEG q75; nearest fingerprint by "
               f"correlation, as in `skfingerprint fit`; {one})\n",
               _table(payload["augment"], cols=("bag", "jpeg75", "bag_nearest",
                                                "jpeg75_nearest")), ""]
    return md


def memory_markdown(rows):
    return (["\n## transform: time and peak RSS per image size (patch mode, 8 patches "
             "of 64 px per image, JPEG q90 files, each size in a fresh process; the peak "
             "is reset after fitting, so it is the transform's own)\n",
             "| image size | images | seconds per 1000 images | RSS before transform "
             "(MiB) | peak RSS during transform (MiB) |", "|---|---|---|---|---|"]
            + [f"| {r['size']} | {r['images']} | {r['seconds_per_1000']:.1f} | "
               f"{r['rss_before_mib']:.0f} | {r['peak_during_mib']:.0f} |" for r in rows])


def results_name(args):
    zoo_set = args.set_name == "zoo"
    return ("real_world" + ("" if zoo_set else "_roundtrip")
            + ("" if args.crop_align == 8 or not zoo_set else f"_crop{args.crop_align}")
            + ("" if args.methods is None else "_methods")
            + (f"_{args.suffix}" if args.suffix else "")
            + ("_quick" if args.quick else ""))


def main(argv=None):
    args = parse_args(argv)
    env = environment()
    payload = {"environment": env, "settings": {k: v for k, v in vars(args).items()}}
    md = intro_markdown(args, env)
    t0 = time.perf_counter()
    if set(PARTS[:-1]) & set(args.parts):
        with tempfile.TemporaryDirectory() as tmp:
            paths, labels, groups, line = make_data(args, tmp, payload, t0)
            md.append(line)
            md += run_set_parts(args, paths, labels, payload, groups)
    if "memory" in args.parts:
        payload["memory"] = part_memory(args)
        md += memory_markdown(payload["memory"])
    payload["total_seconds"] = round(time.perf_counter() - t0, 1)
    md.append(f"\nTotal: {payload['total_seconds']} s.\n")
    write_results(results_name(args), "\n".join(md), payload)


if __name__ == "__main__":
    main()
