"""Inputs are never modified: read-only arrays, memmaps and image folders."""

import hashlib
import os

import numpy as np
import pytest

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint._bags import check_bags
from skfingerprint.datasets import load_image_folder, make_fingerprinted_images

FAST = dict(
    embedding_dim=4, channels=(4,), full_res_layers=1, rho_hidden=8,
    max_epochs=1, batch_size=4, device="cpu", random_state=0,
)


def _digest(arr):
    arr = np.asarray(arr)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _readonly(arr):
    arr = np.array(arr)  # a private copy: the test owns it
    arr.setflags(write=False)
    return arr


def _folder_state(root):
    """(relative path, sha256, size, mtime_ns) of every file below ``root``."""
    state = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            state.append((os.path.relpath(path, root), digest, st.st_size,
                          st.st_mtime_ns))
    return state


@pytest.fixture(scope="module")
def images():
    data = make_fingerprinted_images(
        n_models=2, n_images_per_model=16, image_size=8, random_state=0
    )
    return _readonly(data.images), _readonly(data.labels)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize(
    "kwargs",
    [dict(bag_size=4), dict(bag_size=4, n_bags_per_model=3),
     dict(bag_size=4, n_bags_per_model=6, replace=True)],
)
def test_make_bags_leaves_inputs_alone(images, dtype, kwargs):
    imgs, labels = images
    imgs = imgs if dtype is np.uint8 else _readonly(imgs / np.asarray(255, dtype))
    before = _digest(imgs), _digest(labels)
    X, y = make_bags(imgs, labels, random_state=0, **kwargs)
    assert (_digest(imgs), _digest(labels)) == before
    assert not imgs.flags.writeable and not labels.flags.writeable
    # the bags do not write through to the images either
    if X.flags.writeable:
        X[...] = 0
        assert _digest(imgs) == before[0]


def test_make_bags_paths_leave_inputs_alone(tmp_path):
    paths = _readonly([str(tmp_path / f"{i}.png") for i in range(8)])
    labels = _readonly(np.repeat([0, 1], 4))
    before = _digest(paths), _digest(labels)
    make_bags(paths, labels, bag_size=2, random_state=0)
    assert (_digest(paths), _digest(labels)) == before


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_encoder_leaves_inputs_alone(images, dtype):
    imgs, labels = images
    X, y = make_bags(imgs, labels, bag_size=4, random_state=0)
    if dtype is not np.uint8:
        X = X / np.float32(255)
    X, y = _readonly(X), _readonly(y)
    before = _digest(X), _digest(y)
    check_bags(X)
    enc = SetFingerprintEncoder(**FAST).fit(X, y)
    enc.transform(X)
    enc.fit_transform(X, y)
    # random sub-bags and re-drawn bags index into the same arrays
    SetFingerprintEncoder(bag_size=2, n_bags_per_model=3, **FAST).fit(X, y)
    assert (_digest(X), _digest(y)) == before


def test_encoder_scalar_bags_leave_inputs_alone():
    rng = np.random.RandomState(0)
    X = _readonly(rng.rand(12, 5))
    y = _readonly(np.repeat(["a", "b"], 6))
    before = _digest(X), _digest(y)
    SetFingerprintEncoder(**FAST).fit(X, y).transform(X)
    assert (_digest(X), _digest(y)) == before


def test_encoder_on_readonly_memmap(images, tmp_path):
    imgs, labels = images
    X, y = make_bags(imgs, labels, bag_size=4, random_state=0)
    path = tmp_path / "bags.npy"
    np.save(path, X)
    state = _folder_state(tmp_path)
    mm = np.load(path, mmap_mode="r")
    enc = SetFingerprintEncoder(**FAST).fit(mm, y)
    np.testing.assert_array_equal(enc.transform(mm), enc.transform(X))
    del mm
    assert _folder_state(tmp_path) == state


def test_nearest_fingerprint_classifier_leaves_inputs_alone():
    from skfingerprint.classifiers import NearestFingerprintClassifier

    rng = np.random.RandomState(0)
    Z = _readonly(rng.rand(10, 3))
    y = _readonly(np.repeat(["a", "b"], 5))
    before = _digest(Z), _digest(y)
    clf = NearestFingerprintClassifier().fit(Z, y)
    clf.predict(Z)
    clf.predict_proba(Z)
    assert (_digest(Z), _digest(y)) == before


def test_make_fingerprinted_images_returns_fresh_arrays():
    kwargs = dict(n_models=2, n_images_per_model=4, image_size=8, random_state=0)
    first = make_fingerprinted_images(**kwargs)
    expected = _digest(first.images)
    # scribbling on an output must not leak into a cache behind later calls
    first.images[...] = 0
    first.labels[...] = first.labels[0]
    again = make_fingerprinted_images(**kwargs)
    assert _digest(again.images) == expected
    assert len(set(again.labels.tolist())) == 2


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image

    data = make_fingerprinted_images(
        n_models=2, n_images_per_model=8, image_size=8, random_state=0
    )
    root = tmp_path / "images"
    for i, (img, label) in enumerate(zip(data.images, data.labels)):
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / label / f"{i:03d}.png")
    # a stale, old mtime makes any rewrite visible even on coarse clocks
    for folder, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(folder, name), ns=(10**18, 10**18))
    return root


def test_image_folder_pipeline_leaves_files_alone(image_folder):
    before = _folder_state(image_folder)
    dirs_before = sorted(os.walk(image_folder))
    data = load_image_folder(image_folder, verify=True)
    X, y = make_bags(data.paths, data.labels, bag_size=4, random_state=0)
    enc = SetFingerprintEncoder(**FAST).fit(X, y)
    enc.transform(X)
    # resizing while decoding works on copies as well
    SetFingerprintEncoder(image_size=4, **FAST).fit(X, y).transform(X)
    assert _folder_state(image_folder) == before
    assert sorted(os.walk(image_folder)) == dirs_before  # nothing created
