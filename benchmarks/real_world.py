"""Real-world images: mixed sizes, half JPEG, patch mode vs resizing.

Two sets, made here (nothing downloaded), ``--set`` chooses:

* ``zoo`` (the default, the main set): the model zoo's fully convolutional
  generators sampled at 192 px (``make_model_zoo("small", sample_size=192,
  n_samples=128)``: one pixel-space U-Net sampled by DDIM, DPM-Solver and
  Euler ancestral, a noise-conditional score network with Langevin
  dynamics, an ``AutoencoderKL`` round trip of real crops, one latent U-Net
  with two samplers behind that autoencoder's decoder) and ``real`` photo
  crops; every image cropped to a random 96-192 px (height and width drawn
  independently, never resized) and half of every source saved as JPEG
  (quality 80-95), half as PNG, so no format or size confound separates the
  sources.  8 sources.
* ``roundtrip`` (the hard case): ``real`` = crops of 96-192 px of the
  photographs that ship with scikit-image and scikit-learn, and five
  *round-trip* sources = other such crops encoded and decoded by five small
  convolutional autoencoders that differ only in their upsampling layers
  (nearest, bilinear, bicubic, transposed convolution, pixel shuffle), the
  SD-style "real content through a generator's decoder" case; sizes and
  formats as above.  6 sources.

Compared (trained on half of each source's images, tested on the other half;
bags of 8 and single images):

* DSF+ in patch mode (``SetFingerprintEncoder(patch_size=64)``), no resizing;
* the resize route (``image_size=64``: Lanczos resize of every image, the
  only route before patch mode);
* the spectrum, PRNU and per-image CNN baselines in patch mode.

Fingerprints go to the paper's MLP (StandardScaler + MLP) and to the nearest
source fingerprint (``NearestFingerprintClassifier``, the classifier that
``skfingerprint fit`` trains, there with its default correlation metric).  The accuracy table
is the mean over ``--split-seeds`` draws of the train/test halves (default
3: one draw has 64 test bags, so one bag is 0.016).  ``--parts``
selects what to run: ``accuracy`` (the table), ``align`` (crops at multiples
of 8 vs anywhere), ``patches`` (patches_per_image), ``augment`` (training
with post-processing augmentation or not, tested clean and re-encoded as
JPEG q75), ``front_end`` (DSF+ with each input of phi, ``front_end=``),
``memory`` (time and peak
RSS of ``transform`` per 1000 images at 64, 256 and 1024 px, each size in a
fresh process).

    python -m benchmarks.real_world                    # the zoo set: accuracy, augment, memory
    python -m benchmarks.real_world --parts accuracy front_end augment memory  # results: 22 min
    python -m benchmarks.real_world --set roundtrip    # the hard case (~40 min, 2 cores)
    python -m benchmarks.real_world --quick            # a small version

The zoo set needs the zoo sampled at 192 px, built once and cached (28 minutes
on 2 CPU cores; ``--quick`` samples 16 images at 96 px instead).

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
    encoder, env_markdown, environment, format_mean_sd, halves_per_source, paper_mlp,
    write_results)

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
                 seed=0):
    """The zoo's fully convolutional sources sampled at ``sample_size``,
    cropped to random sizes in ``sizes`` and written under ``root/<source>/``
    (half JPEG q80-95, half PNG); returns (paths, labels, info)."""
    from skfingerprint.datasets import make_model_zoo

    t = time.perf_counter()
    zoo = make_model_zoo("small", sample_size=sample_size, n_samples=n_per_source,
                         random_state=seed)
    info = {"zoo_seconds": round(time.perf_counter() - t, 1),
            "lineage": {s: list(v) for s, v in zoo.lineage.items()}}
    rng = np.random.RandomState(seed)
    paths, labels = [], []
    for source in zoo.sources:
        os.makedirs(os.path.join(root, source), exist_ok=True)
        for j, image in enumerate(zoo.images[zoo.labels == source]):
            h, w = rng.randint(sizes[0], min(sizes[1], sample_size) + 1, size=2)
            # offsets on the generator's 8-pixel grid: the upsampling phase an image
            # sampled at that size has (arbitrary offsets: ``crop_align=1``)
            top = crop_align * rng.randint((image.shape[0] - h) // crop_align + 1)
            left = crop_align * rng.randint((image.shape[1] - w) // crop_align + 1)
            image = np.ascontiguousarray(image[top : top + h, left : left + w])
            paths.append(_save(image, root, source, j, rng))
            labels.append(source)
    return np.array(paths, dtype=object), np.array(labels), info


# ------------------------------------------------------------- evaluation
def split_halves(paths, labels, bag_size, seed):
    """Half of each source's images, drawn at random, to train (in bags of
    ``bag_size``), the other half to test (in bags, and one by one)."""
    from skfingerprint import make_bags

    train, test = halves_per_source(labels, seed)
    Xtr, ytr = make_bags(paths[train], labels[train], bag_size=bag_size, random_state=seed)
    Xte, yte = make_bags(paths[test], labels[test], bag_size=bag_size, random_state=seed)
    X1, y1 = paths[test][:, None], labels[test]
    return (Xtr, ytr), (Xte, yte), (X1, y1)


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
    return out


def evaluate(method, data, seed=0):
    """Accuracy per bag and per image of ``method`` + the paper's MLP, and
    (``*_nearest``) + the nearest source fingerprint, the classifier of
    ``skfingerprint fit`` (correlation for the hand-made fingerprints,
    Euclidean for the learned ones; ``fit`` uses correlation)."""
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
    as ``<name>_nearest``, of the nearest source fingerprint, fitted on ``Ztr``."""
    from skfingerprint.classifiers import NearestFingerprintClassifier

    out = {}
    for suffix, clf in (("", paper_mlp(seed)), ("_nearest", NearestFingerprintClassifier(metric))):
        clf.fit(Ztr, ytr)
        out.update({name + suffix: float(clf.score(Z, y)) for name, (Z, y) in tests.items()})
    return out


def part_accuracy(args, paths, labels):
    """Every method on the split (and seed) of each of ``args.split_seeds``."""
    from sklearn.base import clone

    def methods(seed):
        return {name: (clone(m).set_params(random_state=seed)
                       if "random_state" in m.get_params() else m)
                for name, m in _methods(args, 64).items()}

    return over_splits(args.split_seeds, paths, labels, methods)


def over_splits(seeds, paths, labels, methods):
    """``methods(seed)`` (name -> method) on the split of each of ``seeds``:
    the mean, the standard deviation and the values of each split."""
    runs = {}
    for seed in seeds:
        data = split_halves(paths, labels, 8, seed=seed)
        for name, method in methods(seed).items():
            r = evaluate(method, data, seed=seed)
            r["test_bags"] = len(data[1][1])
            runs.setdefault(name, []).append(r)
            print(f"split {seed}", name, r, flush=True)
    rows = {}
    for name, rs in runs.items():
        rows[name] = {"seconds": round(float(np.mean([r["seconds"] for r in rs])), 1),
                      "test_bags": int(sum(r["test_bags"] for r in rs)),
                      "splits": list(seeds)}
        for c in ("bag", "image", "bag_nearest", "image_nearest"):
            v = [r[c] for r in rs]
            rows[name].update({c: float(np.mean(v)), f"{c}_sd": float(np.std(v)),
                               f"{c}_per_split": v})
    return rows


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
        print(align, rows[f"offsets multiple of {align}"], flush=True)
    return rows


def part_front_end(args, data):
    """DSF+ patch mode with each ``front_end`` of phi."""
    rows = {}
    for fe in ("image_and_residual", "normalised_residual"):
        enc = _encoder(args, patch_size=64, patches_per_image=args.patches, front_end=fe)
        rows[f"front_end={fe!r}"] = evaluate(enc, data)
        print(fe, rows[f"front_end={fe!r}"], flush=True)
    return rows


def part_patches(args, data):
    rows = {}
    for n in args.patch_counts:
        enc = _encoder(args, patch_size=64, patches_per_image=n)
        rows[str(n)] = evaluate(enc, data)
        print(n, rows[str(n)], flush=True)
    return rows


def part_augment(args, data):
    """Patch mode trained with and without post-processing augmentation,
    tested on the test images as they are and re-encoded as JPEG q75."""
    from skfingerprint.augment import RandomPostProcessing

    (Xtr, ytr), (Xte, yte), (X1, y1) = data
    jpeg_te = _reencoded(Xte, 75)
    rows = {}
    for name, aug in (("none", None),
                      ("RandomPostProcessing(resize_scale=None)",
                       RandomPostProcessing(resize_scale=None))):
        enc = _encoder(args, patch_size=64, patches_per_image=args.patches, augmentation=aug)
        t = time.perf_counter()
        Ztr = enc.fit_transform(Xtr, ytr)
        tests = {"bag": (enc.transform(Xte), yte), "jpeg75": (enc.transform(jpeg_te), yte)}
        rows[name] = {"seconds": round(time.perf_counter() - t, 1),
                      **_scores(Ztr, ytr, tests, metric="correlation")}
        print(name, rows[name], flush=True)
    return rows


def _reencoded(X, quality):
    """The bags of paths ``X`` with every file re-encoded as JPEG ``quality``."""
    from PIL import Image

    out = np.empty(X.shape, dtype=object)
    root = tempfile.mkdtemp(prefix="jpeg_")
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


def _table(rows, cols=("bag", "image")):
    head = "| method | " + " | ".join(
        {"bag": "accuracy per bag of 8", "image": "accuracy per image",
         "jpeg75": "accuracy per bag of 8, JPEG q75",
         "bag_nearest": "nearest fingerprint: per bag of 8",
         "image_nearest": "nearest fingerprint: per image",
         "jpeg75_nearest": "nearest fingerprint: per bag of 8, JPEG q75"}[c] for c in cols)
    lines = [head + " | seconds |", "|---|" + "---|" * (len(cols) + 1)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in cols)
                     + f" | {r['seconds']} |")
    return "\n".join(lines)


PARTS = ("accuracy", "align", "patches", "augment", "front_end", "memory")


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
    parser.add_argument("--crop-align", type=int, default=8,
                        help="zoo set: crop offsets are multiples of this (default 8: the "
                             "generators' upsampling phase kept; 1: arbitrary crops)")
    parser.add_argument("--split-seeds", default=None,
                        help="accuracy: comma-separated seeds of the train/test draws "
                             "(default: 0,1,2; quick 0)")
    args = parser.parse_args(argv)
    zoo_set = args.set_name == "zoo"
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
                f"resized) at offsets that are multiples of {args.crop_align}")
    else:
        what = (f"- set: real + {len(UPSAMPLERS)} autoencoder round trips (upsampling "
                f"{', '.join(UPSAMPLERS)}), crops of 96-192 px (height and width drawn "
                "independently)")
    epochs = ("the library's defaults" if args.epochs is None
              else f"default parameters but {args.epochs} epochs")
    return ["# Real-world images: mixed sizes, half JPEG, patch mode vs resizing"
            + ("" if zoo_set else " (the hard case: autoencoder round trips)") + "\n",
            env_markdown(env),
            (what + f", {args.n_per_source} images per source, every other image JPEG "
             "q80-95, the rest PNG; half of each source trains, half tests\n"),
            (f"- encoder: {epochs}; patch mode patch_size=64, patches_per_image="
             f"{args.patches}; classifier: StandardScaler + MLP(128, 64)\n"),
            "- the machine was shared with other jobs: seconds are upper bounds\n"]


def make_data(args, root, payload, t0):
    """Write the chosen set under ``root``; returns ``(paths, labels, markdown line)``."""
    if args.set_name == "zoo":
        paths, labels, info = make_zoo_set(root, args.n_per_source,
                                           sample_size=args.sample_size,
                                           crop_align=args.crop_align)
        payload["zoo"] = info
        line = (f"- set made in {time.perf_counter() - t0:.0f} s (zoo loaded or "
                f"built in {info['zoo_seconds']:.0f} s); sources "
                + ", ".join(f"`{s}`" for s in info["lineage"]) + "\n")
    else:
        paths, labels, info = make_set(root, args.n_per_source, steps=args.steps)
        payload["autoencoders"] = info
        line = (f"- set built in {time.perf_counter() - t0:.0f} s; autoencoders "
                + ", ".join(f"{k}: MSE {v['final_mse']}" for k, v in info.items()) + "\n")
    return paths, labels, line


def accuracy_markdown(args, rows, n_sources):
    return [f"\n## Accuracy ({n_sources} sources, chance {1 / n_sources:.3f})\n",
            (f"Mean ± standard deviation over {len(args.split_seeds)} draws of the "
             "train/test halves (split seeds "
             + ", ".join(map(str, args.split_seeds)) + "; the encoders, CNN and "
             "MLP seeded alike), then the value of each draw. Two classifiers on "
             "the same fingerprints: the paper's MLP, fitted on the 8 training "
             "bags of each source, and the nearest source fingerprint "
             "(`NearestFingerprintClassifier`, the classifier `skfingerprint fit` "
             "trains; here correlation for the spectrum and PRNU, Euclidean for "
             "DSF+ and the CNN, where `fit` uses correlation).\n"),
            table_splits(rows), ""]


def run_set_parts(args, paths, labels, payload):
    """The parts that evaluate methods on the set; returns their markdown."""
    data = split_halves(paths, labels, 8, seed=0)
    md = []
    if "accuracy" in args.parts:
        payload["accuracy"] = part_accuracy(args, paths, labels)
        md += accuracy_markdown(args, payload["accuracy"], np.unique(labels).size)
    if "align" in args.parts:
        payload["align"] = part_align(args, data)
        md += ["\n## Crop offsets: multiples of 8 vs any pixel (DSF+ patch mode)\n",
               _table(payload["align"]), ""]
    if "patches" in args.parts:
        payload["patches"] = part_patches(args, data)
        md += ["\n## patches_per_image (DSF+ patch mode)\n",
               _table(payload["patches"]).replace("| method |", "| patches per image |"),
               ""]
    if "front_end" in args.parts:
        payload["front_end"] = part_front_end(args, data)
        md += ["\n## The input of phi (`front_end`, DSF+ patch mode)\n",
               _table(payload["front_end"], cols=("bag", "image", "bag_nearest",
                                                  "image_nearest")), ""]
    if "augment" in args.parts:
        payload["augment"] = part_augment(args, data)
        md += ["\n## Post-processing augmentation (DSF+ patch mode; test bags as "
               "they are and re-encoded as JPEG q75; nearest fingerprint by "
               "correlation, as in `skfingerprint fit`)\n",
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
            + ("_quick" if args.quick else ""))


def main(argv=None):
    args = parse_args(argv)
    env = environment()
    payload = {"environment": env, "settings": {k: v for k, v in vars(args).items()}}
    md = intro_markdown(args, env)
    t0 = time.perf_counter()
    if set(PARTS[:-1]) & set(args.parts):
        with tempfile.TemporaryDirectory() as tmp:
            paths, labels, line = make_data(args, tmp, payload, t0)
            md.append(line)
            md += run_set_parts(args, paths, labels, payload)
    if "memory" in args.parts:
        payload["memory"] = part_memory(args)
        md += memory_markdown(payload["memory"])
    payload["total_seconds"] = round(time.perf_counter() - t0, 1)
    md.append(f"\nTotal: {payload['total_seconds']} s.\n")
    write_results(results_name(args), "\n".join(md), payload)


if __name__ == "__main__":
    main()
