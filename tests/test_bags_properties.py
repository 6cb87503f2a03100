"""Property-based tests of the bag data model: ``make_bags`` and ``check_bags``.

``tests/test_bags.py`` checks the disjoint, label-preserving bags of
``make_bags`` with default arguments; these add ``n_bags_per_model``,
``replace=True``, paths, determinism, and the invariants of ``check_bags``
(shapes, ``take`` returning exactly the indexed images, no copy or change of
the input).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skfingerprint import make_bags
from skfingerprint._bags import check_bag_labels, check_bags

SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def labelled_images(draw, max_sources=4, max_per_source=12):
    """Images whose single pixel value is their index, with shuffled labels."""
    counts = draw(st.lists(st.integers(1, max_per_source), min_size=1,
                           max_size=max_sources))
    names = draw(st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=len(counts),
                          max_size=len(counts), unique=True))
    labels = np.concatenate([[name] * c for name, c in zip(names, counts)])
    order = draw(st.permutations(range(labels.size)))
    labels = labels[np.asarray(order)]
    n = labels.size
    channels = draw(st.sampled_from([None, 1, 3]))
    shape = (n, 2, 3) if channels is None else (n, 2, 3, channels)
    images = np.zeros(shape, dtype=np.float64)
    images[:, 0, 0, ...] = np.arange(n).reshape((n,) + (1,) * (len(shape) - 3)) / n
    return images, labels


def _ids(X, n):
    """Index of every image of the bags (its pixel [0, 0] encodes it)."""
    first = X[:, :, 0, 0] if X.ndim == 4 else X[:, :, 0, 0, 0]
    return np.rint(first * n).astype(int)


@SETTINGS
@given(data=labelled_images(), bag_size=st.integers(1, 5), seed=st.integers(0, 2**31 - 1),
       per_model=st.one_of(st.none(), st.integers(1, 6)))
def test_disjoint_bags(data, bag_size, seed, per_model):
    images, labels = data
    n = labels.size
    sources, counts = np.unique(labels, return_counts=True)
    possible = counts // bag_size
    wanted = possible if per_model is None else np.full(sources.size, per_model)
    if counts.min() < bag_size or (wanted > possible).any():
        with pytest.raises(ValueError, match="fewer than one bag|replace=True"):
            make_bags(images, labels, bag_size=bag_size, n_bags_per_model=per_model,
                      random_state=seed)
        return
    X, y = make_bags(images, labels, bag_size=bag_size, n_bags_per_model=per_model,
                     random_state=seed)
    # shapes: one bag per row, images unchanged
    assert X.shape == (wanted.sum(), bag_size) + images.shape[1:]
    assert y.shape == (X.shape[0],) and y.dtype == labels.dtype
    ids = _ids(X, n)
    # every image at most once, never invented
    assert np.unique(ids).size == ids.size
    assert ids.min() >= 0 and ids.max() < n
    np.testing.assert_array_equal(X, images[ids])
    # labels preserved: each bag's label is the label of all its images
    assert (labels[ids] == y[:, None]).all()
    # bag counts per source, grouped in sorted source order
    np.testing.assert_array_equal(y, np.repeat(sources, wanted))
    # the labels pass the estimators' label check
    check_bag_labels(y, X.shape[0])


@SETTINGS
@given(data=labelled_images(), bag_size=st.integers(1, 4), per_model=st.integers(1, 8),
       seed=st.integers(0, 2**31 - 1))
def test_bags_with_replacement(data, bag_size, per_model, seed):
    images, labels = data
    n = labels.size
    sources, counts = np.unique(labels, return_counts=True)
    if counts.min() < bag_size:
        with pytest.raises(ValueError, match="fewer than one bag"):
            make_bags(images, labels, bag_size=bag_size, n_bags_per_model=per_model,
                      replace=True, random_state=seed)
        return
    X, y = make_bags(images, labels, bag_size=bag_size, n_bags_per_model=per_model,
                     replace=True, random_state=seed)
    assert X.shape == (per_model * sources.size, bag_size) + images.shape[1:]
    ids = _ids(X, n)
    for bag in ids:  # bags may overlap, but an image appears once per bag
        assert np.unique(bag).size == bag_size
    assert (labels[ids] == y[:, None]).all()
    np.testing.assert_array_equal(y, np.repeat(sources, per_model))


@SETTINGS
@given(data=labelled_images(), bag_size=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
       replace=st.booleans())
def test_same_random_state_same_bags(data, bag_size, seed, replace):
    images, labels = data
    if np.unique(labels, return_counts=True)[1].min() < bag_size:
        return
    kw = dict(bag_size=bag_size, replace=replace)
    before = images.copy()
    X1, y1 = make_bags(images, labels, random_state=seed, **kw)
    X2, y2 = make_bags(images, labels, random_state=np.random.RandomState(seed), **kw)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(images, before)  # the caller's images are left alone


@SETTINGS
@given(counts=st.lists(st.integers(1, 10), min_size=1, max_size=3),
       bag_size=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_path_bags_keep_paths_and_labels(counts, bag_size, seed):
    labels = np.concatenate([[f"s{i}"] * c for i, c in enumerate(counts)])
    paths = np.array([f"/data/{lab}/{i}.png" for i, lab in enumerate(labels)])
    if min(counts) < bag_size:
        return
    X, y = make_bags(paths, labels, bag_size=bag_size, random_state=seed)
    assert X.shape == (sum(c // bag_size for c in counts), bag_size)
    assert X.dtype.kind == "U"
    flat = X.ravel()
    assert np.unique(flat).size == flat.size and set(flat) <= set(paths)
    for bag, label in zip(X, y):  # the path names its source
        assert all(p.split("/")[2] == label for p in bag)


# ----------------------------------------------------------------- check_bags
image_dtypes = st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64])


@st.composite
def bag_arrays(draw):
    dtype = np.dtype(draw(image_dtypes))
    ndim = draw(st.sampled_from([2, 4, 5]))
    n_bags, bag_size = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = (n_bags, bag_size)
    if ndim >= 4:
        shape += (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    if ndim == 5:
        shape += (draw(st.sampled_from([1, 2, 3, 4])),)
    if ndim == 2 and dtype.kind == "f":  # bags of scalar items: any finite value
        elements = st.floats(-1e6, 1e6, width=32)
    elif ndim == 2 and dtype != np.uint8:
        elements = st.integers(-100, 100)
    elif dtype.kind == "f":
        elements = st.floats(0, 1, width=32)
    else:
        elements = st.integers(0, 255)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@SETTINGS
@given(X=bag_arrays(), data=st.data())
def test_check_bags_shapes_and_take(X, data):
    before = X.copy()
    bags = check_bags(X)
    assert (bags.n_bags, bags.bag_size) == X.shape[:2] and len(bags) == X.shape[0]
    if X.ndim == 2:
        expected_shape = (1, 1, 1)
    elif X.ndim == 4:
        expected_shape = X.shape[2:] + (1,)
    else:
        expected_shape = X.shape[2:]
    assert bags.image_shape == expected_shape
    assert bags.is_scalar == (X.ndim == 2)
    # take returns exactly the indexed images, in the canonical form
    k = data.draw(st.integers(1, 3))
    rows = data.draw(st.lists(st.integers(0, X.shape[0] - 1), min_size=1, max_size=4))
    items = data.draw(hnp.arrays(np.intp, (len(rows), k),
                                 elements=st.integers(0, X.shape[1] - 1)))
    out = bags.take(rows, items)
    assert out.shape == (len(rows), k) + expected_shape
    want = X[np.asarray(rows)[:, None], items].reshape(out.shape)
    if X.dtype.kind == "f":
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, want.astype(np.float32))
    else:
        assert out.dtype == (np.uint8 if X.ndim > 2 or X.dtype == np.uint8 else np.float32)
        np.testing.assert_array_equal(out, want)
    assert bags.dtype == (np.uint8 if out.dtype == np.uint8 else np.float32)
    np.testing.assert_array_equal(X, before)  # the input is never changed


@SETTINGS
@given(X=bag_arrays())
def test_nested_lists_and_arrays_give_the_same_bags(X):
    a, b = check_bags(X), check_bags(X.tolist())
    assert (a.n_bags, a.bag_size, a.image_shape) == (b.n_bags, b.bag_size, b.image_shape)
    idx = np.arange(a.n_bags)
    items = np.broadcast_to(np.arange(a.bag_size), (a.n_bags, a.bag_size))
    np.testing.assert_allclose(a.take(idx, items), b.take(idx, items), rtol=1e-6)
