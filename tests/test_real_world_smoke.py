"""Smoke test of the main set of ``benchmarks.real_world``: the zoo's
images cropped (never resized) to mixed sizes, half JPEG, half PNG, in one
folder per source.  The accuracy figures are measured by real runs."""

import os

import numpy as np
import pytest
from PIL import Image
from sklearn.utils import Bunch

from benchmarks import real_world, real_world_train_bags


def test_zoo_set_crops_to_mixed_sizes_half_jpeg(monkeypatch, tmp_path):
    from skfingerprint import datasets

    sources = ["real", "score_ddim", "ldm_a_ddim"]
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (3 * 6, 48, 48, 3), dtype=np.uint8)
    calls = []

    def fake_zoo(preset, *, sample_size, n_samples, random_state):
        calls.append((preset, sample_size, n_samples))
        return Bunch(images=images, labels=np.repeat(sources, 6), sources=np.array(sources),
                     lineage={s: (s,) for s in sources})

    monkeypatch.setattr(datasets, "make_model_zoo", fake_zoo)
    paths, labels, info = real_world.make_zoo_set(str(tmp_path), 6, sample_size=48,
                                                  sizes=(24, 48))
    assert calls == [("small", 48, 6)]
    assert sorted(info["lineage"]) == sorted(sources)
    assert labels.tolist() == np.repeat(sources, 6).tolist()
    sizes, formats = set(), []
    for path, label in zip(paths, labels):
        assert os.path.basename(os.path.dirname(path)) == label
        with Image.open(path) as im:
            formats.append(im.format)
            w, h = im.size
            pixels = np.asarray(im.convert("RGB"))
        assert 24 <= h <= 48 and 24 <= w <= 48
        sizes.add((h, w))
        if im.format == "PNG":  # lossless: a crop of one of the source's own images
            own = images[np.repeat(sources, 6) == label]
            assert any(
                (pixels == img[t : t + h, l : l + w]).all()
                for img in own for t in range(48 - h + 1) for l in range(48 - w + 1)
            )
    assert len(sizes) > 1  # mixed sizes
    assert formats.count("JPEG") == formats.count("PNG") == 9


def test_accuracy_is_measured_over_several_splits(monkeypatch, tmp_path):
    """``--split-seeds``: every method on each train/test draw, both classifiers."""
    from types import SimpleNamespace

    from skfingerprint.baselines import SpectrumFingerprint

    rng = np.random.RandomState(0)
    paths, labels = [], []
    for k, source in enumerate(["A", "B"]):
        os.makedirs(tmp_path / source)
        checker = 20.0 * k * (np.indices((24, 24)).sum(0) % 2)[..., None]
        for j in range(32):  # B: a checkerboard trace on the noise
            image = np.clip(128 + rng.normal(0, 10, (24, 24, 3)) + checker, 0, 255)
            path = str(tmp_path / source / f"{j}.png")
            Image.fromarray(image.astype(np.uint8)).save(path)
            paths.append(path)
            labels.append(source)
    monkeypatch.setattr(real_world, "_methods", lambda args, patch: {
        "Spectrum patch mode": SpectrumFingerprint(patch_size=16, patches_per_image=2)})
    args = SimpleNamespace(split_seeds=(0, 1))
    rows = real_world.part_accuracy(args, np.array(paths, dtype=object), np.array(labels))
    row = rows["Spectrum patch mode"]
    assert row["splits"] == [0, 1] and row["test_bags"] == 2 * 4  # 2 x 16 test images / 8
    for c in ("bag", "image", "bag_nearest", "image_nearest"):
        assert len(row[c + "_per_split"]) == 2
        assert row[c] == np.mean(row[c + "_per_split"])
    assert row["image_nearest"] > 0.9  # the trace is easy to find
    table = real_world.table_splits(rows)
    assert table.count("\n") == 2 and "| Spectrum patch mode | **" in table
    # pooled over the draws: counts, the Wilson interval, the summed confusion
    assert row["bag_n"] == 8 and row["image_n"] == 2 * 32 and row["train_bags_per_split"] == 4
    assert row["bag_correct"] == round(row["bag"] * 8)
    k, n = row["image_nearest_correct"], row["image_nearest_n"]
    low, high = row["image_nearest_interval"]
    assert (low, high) == real_world.wilson_interval(k, n) and low < k / n <= high
    assert row["classes"] == ["A", "B"]
    confusion = np.array(row["confusion"]["bag"])
    assert confusion.sum() == 8 and confusion.trace() == row["bag_correct"]
    pooled = real_world.table_pooled(rows)
    assert pooled.count("\n") == 2 and "| 8 / 64 | 4 |" in pooled
    assert real_world.format_wilson(row["bag_correct"], 8) in pooled


def _fake_zoo(monkeypatch, sources, n, size):
    from skfingerprint import datasets

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (len(sources) * n, size, size, 3), dtype=np.uint8)

    def fake_zoo(preset, *, sample_size, n_samples, random_state):
        return Bunch(images=images, labels=np.repeat(sources, n), sources=np.array(sources),
                     lineage={s: (s,) for s in sources})

    monkeypatch.setattr(datasets, "make_model_zoo", fake_zoo)
    return images


def test_several_crops_per_sample_stay_together(monkeypatch, tmp_path):
    """``crops_per_image``: every sample gives several crops of its own sizes,
    half JPEG; a split keeps a sample's crops on one side, and each bag holds
    crops of different samples."""
    sources = ["a", "b"]
    images = _fake_zoo(monkeypatch, sources, 16, 48)
    paths, labels, groups, info = real_world.make_zoo_set(
        str(tmp_path), 16, sample_size=48, sizes=(24, 48), crops_per_image=3,
        return_groups=True)
    assert info["crops_per_image"] == 3 and len(paths) == 2 * 16 * 3
    assert groups.tolist() == np.repeat(np.arange(32), 3).tolist()
    formats, sizes = [], set()
    for path, group in zip(paths, groups):
        with Image.open(path) as im:
            formats.append(im.format)
            pixels = np.asarray(im.convert("RGB"))
        h, w = pixels.shape[:2]
        sizes.add((h, w))
        if im.format == "PNG":  # a crop of its own sample, at an offset on the 8 px grid
            own = images[group]
            assert any((pixels == own[t : t + h, l : l + w]).all()
                       for t in range(0, 48 - h + 1, 8) for l in range(0, 48 - w + 1, 8))
    assert formats.count("JPEG") == formats.count("PNG") and len(sizes) > 3

    (Xtr, ytr), (Xte, yte), (X1, y1) = real_world.split_halves(paths, labels, 4, 0,
                                                               groups=groups)
    group_of = dict(zip(paths, groups))
    train = {group_of[p] for p in Xtr.ravel()}
    test = {group_of[p] for p in Xte.ravel()}
    assert not train & test and len(train) == len(test) == 16  # 8 samples a source each side
    assert sorted(X1.ravel()) == sorted(Xte.ravel())  # every test crop, in bags and alone
    assert len(Xte) == len(Xtr) == 2 * 3 * 8 * 3 // 12  # 3 crops x 8 samples / 4, per source
    for X, y in ((Xtr, ytr), (Xte, yte)):
        assert y.tolist() == sorted(y.tolist())
        for bag, label in zip(X, y):
            assert len({group_of[p] for p in bag}) == 4  # different samples
            assert {labels[paths.tolist().index(p)] for p in bag} == {label}
    # train_crops: fewer crops of each training sample, the test unchanged
    (Xtr1, _), (Xte1, _), _ = real_world.split_halves(paths, labels, 4, 0, groups=groups,
                                                      train_crops=1)
    assert len(Xtr1) == len(Xtr) // 3 and (Xte1 == Xte).all()
    assert {group_of[p] for p in Xtr1.ravel()} == train


def test_one_crop_per_sample_keeps_the_former_split():
    """Without groups the split and the bags are ``halves_per_source`` and
    ``make_bags`` of the images, as before crops per image existed."""
    from benchmarks._common import halves_per_source
    from skfingerprint import make_bags

    paths = np.array([f"{i}.png" for i in range(48)], dtype=object)
    labels = np.repeat(["x", "y", "z"], 16)
    for seed in (0, 3):
        (Xtr, ytr), (Xte, yte), (X1, _) = real_world.split_halves(paths, labels, 4, seed)
        train, test = halves_per_source(labels, seed)
        Xtr0, ytr0 = make_bags(paths[train], labels[train], bag_size=4, random_state=seed)
        Xte0, _ = make_bags(paths[test], labels[test], bag_size=4, random_state=seed)
        assert (Xtr == Xtr0).all() and (ytr == ytr0).all() and (Xte == Xte0).all()
        assert (X1[:, 0] == paths[test]).all()


def test_worst_pairs_and_their_table():
    confusion = [[8, 2, 0], [1, 9, 0], [0, 4, 6]]  # rows: true a, b, c
    pairs = real_world.worst_pairs(confusion, ["a", "b", "c"], k=5)
    assert pairs == [("b", "c", 0, 4, 20), ("a", "b", 2, 1, 20)]  # a/c never confused
    row = {"classes": ["a", "b", "c"],
           "confusion": {"bag": confusion, "bag_nearest": [[10, 0, 0], [0, 10, 0],
                                                           [0, 0, 10]]}}
    table = real_world.table_pairs(row)
    assert table.splitlines()[2].startswith("| `b` / `c` | 0 | 4 | 0.200 [")
    assert table.splitlines()[2].endswith("| 0.000 |") and table.count("\n") == 3
    rows = {"DSF+ patch mode": {"bag": 0.9}, "Spectrum": {"bag": 0.7}, "CNN": {"bag": 0.8}}
    assert real_world.best_baseline(rows) == "CNN"


def test_crops_per_image_defaults_and_checks():
    assert real_world.parse_args([]).crops_per_image == 4
    assert real_world.parse_args(["--quick"]).crops_per_image == 2
    assert real_world.parse_args(["--set", "roundtrip"]).crops_per_image == 1
    assert real_world.parse_args(["--crops-per-image", "1"]).crops_per_image == 1
    for argv in (["--set", "roundtrip", "--crops-per-image", "2"],
                 ["--crops-per-image", "0"], ["--crops-per-image", "2", "--train-crops", "3"]):
        with pytest.raises(SystemExit):
            real_world.parse_args(argv)


def test_training_on_smaller_bags_then_fingerprinting_whole_bags(monkeypatch):
    """``benchmarks.real_world_train_bags``: fitted on bags of one image, used on whole bags."""
    from skfingerprint import SetFingerprintEncoder, make_bags
    from skfingerprint.datasets import make_fingerprinted_images

    data = make_fingerprinted_images(n_models=2, n_families=2, n_images_per_model=32,
                                     image_size=8, random_state=0)
    X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
    enc = SetFingerprintEncoder(bag_size=1, n_bags_per_model=16, max_epochs=1,
                                random_state=0, num_workers=0)
    method = real_world_train_bags.WholeBagsAfterFit(enc)
    Z = method.fit_transform(X, y)
    assert enc.bag_size == 1 and Z.shape[0] == len(X)  # the model is left as fitted
    # the fingerprints are those of the whole bags, not of their first image
    first = method.transform(X[:, :1])
    assert not np.allclose(Z, first)
    np.testing.assert_allclose(enc.transform(X), first)  # bag_size=1: the first image
    np.testing.assert_allclose(method.transform(X), Z)


def test_lineage_part_leaves_each_source_with_a_relative_out(tmp_path):
    """``--parts lineage``: the sources with a relative are left out in turn,
    each method refitted without them; two lineages whose members share a
    periodic trace are found by both methods."""
    from types import SimpleNamespace

    rng = np.random.RandomState(0)
    lineage = {"a1": ("x", "a", "1"), "a2": ("x", "a", "2"),
               "b1": ("x", "b", "1"), "b2": ("x", "b", "2"), "real": ("real",)}
    paths, labels = [], []
    grid = np.indices((64, 64)).sum(0)
    for source in lineage:
        os.makedirs(tmp_path / source)
        period = {"a": 2, "b": 3}.get(source[0], None)
        trace = np.zeros((64, 64)) if period is None else 40.0 * (grid % period == 0)
        for j in range(32):  # 2 training bags of 8 a source
            image = np.clip(128 + rng.normal(0, 8, (64, 64, 3)) + trace[..., None], 0, 255)
            path = str(tmp_path / source / f"{j}.png")
            Image.fromarray(image.astype(np.uint8)).save(path)
            paths.append(path)
            labels.append(source)
    data = real_world.split_halves(np.array(paths, dtype=object), np.array(labels), 8, 0)
    args = SimpleNamespace(weights="pretrained", patches=2, epochs=None)
    rows = real_world.part_lineage(args, data, lineage)
    assert set(rows) == {"DSF+ patch mode, pretrained, zero-shot", "Spectrum patch mode"}
    for row in rows.values():
        assert sorted(row["loo"]) == ["a1", "a2", "b1", "b2"]  # "real" has no relative
        for s, entry in row["loo"].items():
            assert entry["nearest"] != s and entry["rank"] >= 1
            assert entry["nearest_is_relative"] == (entry["nearest"][0] == s[0])
    spectrum = rows["Spectrum patch mode"]
    assert all(e["nearest_is_relative"] for e in spectrum["loo"].values())
    assert spectrum["ari"] == 1.0
    md = "\n".join(real_world.lineage_markdown(rows, "one draw"))
    assert "| Spectrum patch mode | 1.00 (4) | 1.00 | 1.000 |" in md
    assert "| b2 |" in md


def test_lineage_part_needs_the_zoo_set():
    with pytest.raises(SystemExit):
        real_world.parse_args(["--set", "roundtrip", "--parts", "lineage"])
