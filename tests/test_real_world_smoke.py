"""Smoke test of the main set of ``benchmarks.real_world``: the zoo's
images cropped (never resized) to mixed sizes, half JPEG, half PNG, in one
folder per source.  The accuracy figures are measured by real runs."""

import os

import numpy as np
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
