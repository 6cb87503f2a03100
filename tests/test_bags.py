
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from skfingerprint import make_bags
from skfingerprint._bags import check_bag_labels, check_bags


def _png(path, size=(8, 8), value=0):
    Image.fromarray(np.full(size + (3,), value, dtype=np.uint8)).save(path)
    return str(path)


# ----------------------------------------------------------------- check_bags
@pytest.mark.parametrize(
    "shape, image_shape",
    [((3, 2, 8, 8, 3), (8, 8, 3)), ((3, 2, 8, 8), (8, 8, 1)), ((3, 2), (1, 1, 1))],
)
def test_accepted_shapes(shape, image_shape):
    bags = check_bags(np.zeros(shape, dtype=np.float32))
    assert (bags.n_bags, bags.bag_size, bags.image_shape) == (3, 2, image_shape)
    batch = bags.take([0, 2], [[0, 1], [1, 0]])
    assert batch.shape == (2, 2) + image_shape


def test_take_returns_the_right_images():
    X = np.arange(2 * 3 * 2 * 2 * 1, dtype=np.uint8).reshape(2, 3, 2, 2, 1)
    out = check_bags(X).take([1, 0], [[2, 0], [1, 1]])
    np.testing.assert_array_equal(out[0, 0], X[1, 2])
    np.testing.assert_array_equal(out[0, 1], X[1, 0])
    np.testing.assert_array_equal(out[1, 1], X[0, 1])


def test_memmap_is_accepted_without_loading(tmp_path):
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.uint8,
                                   shape=(4, 3, 8, 8, 3))
    mm[:] = 7
    mm.flush()
    ro = np.load(tmp_path / "x.npy", mmap_mode="r")
    bags = check_bags(ro)
    assert bags.data is ro  # no copy
    assert bags.take([3], [[0, 1, 2]]).mean() == 7


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros(5), "Reshape your data"),
        (np.zeros((2, 3, 4)), "3 dimensions"),
        (np.zeros((1, 2, 3, 4, 5, 6)), "dimensions"),
        (np.zeros((2, 3, 4, 4, 7)), "channels"),
        (np.zeros((0, 3, 4, 4, 3)), "empty"),
        (np.zeros((2, 0, 4, 4, 3)), "0 images"),
        (np.full((2, 2, 4, 4, 3), np.nan), "NaN"),
        (np.full((2, 2, 4, 4, 3), np.inf), "NaN or infinity"),
        (np.full((2, 2, 4, 4, 3), 1.5), r"outside \[0, 1\]"),
        (np.full((2, 2, 4, 4, 3), -0.1), r"outside \[0, 1\]"),
        (np.full((2, 2, 4, 4, 3), 300, dtype=np.int32), r"outside \[0, 255\]"),
        (np.full((2, 2), np.nan), "NaN"),
        (np.zeros((2, 2), dtype=complex), "Complex"),
    ],
)
def test_bad_arrays_raise_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        check_bags(X)


def test_ragged_bags_raise():
    ragged = [np.zeros((2, 4, 4, 3)), np.zeros((3, 4, 4, 3))]
    with pytest.raises(ValueError, match="ragged"):
        check_bags(ragged)
    with pytest.raises(ValueError, match="ragged"):
        check_bags([[np.zeros((4, 4))], [np.zeros((5, 5))]])


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((2, 2, 4, 4, 3), dtype=bool), "boolean"),
        (np.array([[1, "a"], [2, "b"]], dtype=object), "mixed types"),
        ("folder/", "single string"),
        (42, "array of bags"),
    ],
)
def test_bad_types_raise_type_error(X, match):
    with pytest.raises(TypeError, match=match):
        check_bags(X)


def test_2d_scalar_bags_take_any_real_value():
    bags = check_bags(np.array([[-3.0, 5.0], [0.5, 100.0]]))
    assert bags.is_scalar and bags.image_shape == (1, 1, 1)


def test_integer_images_become_uint8_losslessly():
    X = np.arange(24, dtype=np.int64).reshape(1, 2, 3, 4)
    bags = check_bags(X)
    assert bags.data.dtype == np.uint8
    np.testing.assert_array_equal(bags.data, X)


def test_input_is_not_modified():
    X = np.random.RandomState(0).rand(3, 2, 4, 4, 3)
    before = X.copy()
    X.setflags(write=False)
    check_bags(X).take([0, 1], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(X, before)


# --------------------------------------------------------------------- paths
def test_path_bags_decode_lazily(tmp_path):
    paths = np.array([[_png(tmp_path / f"{b}_{i}.png", value=10 * b + i)
                       for i in range(2)] for b in range(3)])
    bags = check_bags(paths)
    assert bags.kind == "paths" and bags.image_shape == (8, 8, 3)
    out = bags.take([2], [[1, 0]])
    assert out.dtype == np.uint8 and out[0, 0].max() == 21 and out[0, 1].max() == 20


def test_missing_files_are_named(tmp_path):
    good = _png(tmp_path / "a.png")
    with pytest.raises(ValueError, match="do not exist.*nope.png"):
        check_bags(np.array([[good, str(tmp_path / "nope.png")]]))


def test_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    good = _png(tmp_path / "a.png")
    bags = check_bags(np.array([[good, str(bad)]]))
    with pytest.raises(ValueError, match="bad.png"):
        bags.take([0], [[1]])


def test_mixed_sizes_in_files_raise_and_image_size_fixes_it(tmp_path):
    a = _png(tmp_path / "a.png", size=(8, 8))
    b = _png(tmp_path / "b.png", size=(12, 10))
    paths = np.array([[a, b]])
    with pytest.raises(ValueError, match="mixed sizes.*image_size"):
        check_bags(paths).take([0], [[0, 1]])
    out = check_bags(paths, image_size=6).take([0], [[0, 1]])
    assert out.shape == (1, 2, 6, 6, 3)


# ----------------------------------------------------------------- labels
def test_labels_checks():
    with pytest.raises(ValueError, match="one label per bag"):
        check_bag_labels(["a", "b"], 3)
    with pytest.raises(ValueError, match="requires y"):
        check_bag_labels(None, 3)
    with pytest.raises(ValueError, match="Unknown label type"):
        check_bag_labels([0.1, 0.2, 0.3], 3)
    assert list(check_bag_labels(["a", "b", "a"], 3)) == ["a", "b", "a"]


# ----------------------------------------------------------------- make_bags
def test_make_bags_disjoint_and_grouped():
    images = np.arange(20, dtype=np.uint8)[:, None, None, None] * np.ones(
        (1, 2, 2, 3), dtype=np.uint8)
    labels = np.array(["b"] * 12 + ["a"] * 8)
    X, y = make_bags(images, labels, bag_size=4, random_state=0)
    assert X.shape == (5, 4, 2, 2, 3)
    assert list(y) == ["a", "a", "b", "b", "b"]
    ids = X[:, :, 0, 0, 0].ravel()
    assert len(set(ids)) == ids.size  # every image at most once
    for bag, label in zip(X[:, :, 0, 0, 0], y):
        assert set(labels[bag]) == {label}


def test_make_bags_paths_and_replace():
    paths = np.array([f"img{i}.png" for i in range(10)])
    labels = np.array(["x"] * 5 + ["y"] * 5)
    X, y = make_bags(paths, labels, bag_size=3, n_bags_per_model=4, replace=True,
                     random_state=0)
    assert X.shape == (8, 3) and X.dtype.kind == "U"
    for bag in X:
        assert len(set(bag)) == 3  # distinct inside a bag


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bag_size=6), "fewer than one bag"),
        (dict(bag_size=2, n_bags_per_model=4), "replace=True"),
        (dict(bag_size=0), "'bag_size' parameter"),
        (dict(bag_size=2, n_bags_per_model=0), "n_bags_per_model"),
    ],
)
def test_make_bags_errors(kwargs, match):
    images = np.zeros((10, 4, 4, 3), dtype=np.uint8)
    labels = np.array(["x"] * 5 + ["y"] * 5)
    with pytest.raises(ValueError, match=match):
        make_bags(images, labels, **kwargs)


def test_make_bags_length_mismatch_and_ndim():
    with pytest.raises(ValueError, match="one label per image"):
        make_bags(np.zeros((10, 4, 4)), np.zeros(9), bag_size=2)
    with pytest.raises(ValueError, match="Already bagged"):
        make_bags(np.zeros((10, 2, 4, 4, 3)), np.zeros(10), bag_size=2)
    with pytest.raises(ValueError, match="NaN"):
        make_bags(np.full((4, 4, 4), np.nan), np.zeros(4), bag_size=2)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 15), min_size=1, max_size=4),
    bag_size=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_make_bags_invariants(counts, bag_size, seed):
    labels = np.concatenate([[f"s{i}"] * c for i, c in enumerate(counts)])
    images = np.arange(labels.size).astype(np.float64).reshape(-1, 1, 1) / labels.size
    if min(counts) < bag_size:
        with pytest.raises(ValueError, match="fewer than one bag"):
            make_bags(images, labels, bag_size=bag_size, random_state=seed)
        return
    X, y = make_bags(images, labels, bag_size=bag_size, random_state=seed)
    ids = np.rint(X[:, :, 0, 0] * labels.size).astype(int)
    assert X.shape[1:] == (bag_size, 1, 1)
    assert len(np.unique(ids)) == ids.size  # disjoint
    assert (labels[ids] == y[:, None]).all()  # labels preserved
    for i, c in enumerate(counts):
        assert (y == f"s{i}").sum() == c // bag_size


@pytest.mark.parametrize("kind", ["encoder", "baseline"])
def test_the_encoder_and_the_baselines_share_one_bag_input_contract(kind):
    from skfingerprint import SetFingerprintEncoder
    from skfingerprint.baselines import PRNUFingerprint

    rng = np.random.RandomState(0)
    X = (rng.rand(4, 2, 16, 16, 3) * 255).astype(np.uint8)
    est = (SetFingerprintEncoder(embedding_dim=4, channels=(4,), rho_hidden=8,
                                 max_epochs=1, random_state=0)
           if kind == "encoder" else PRNUFingerprint())
    est.fit(X, ["a", "a", "b", "b"])
    name = type(est).__name__
    assert est.patch_size_ is None and not hasattr(est, "n_features_in_")
    with pytest.raises(ValueError, match=rf"1 channel\(s\), but {name} was fitted on "
                                         r"images with 3"):
        est.transform(X[:, :, :, :, 0])
    with pytest.raises(ValueError, match=rf"size \(8, 16\), but {name} was fitted on "
                                         r"images of size \(16, 16\)"):
        est.transform(X[:, :, :8])
    with pytest.raises(ValueError, match="bags of scalar items.*unlike the bags seen"):
        est.transform(np.zeros((2, 3)))
