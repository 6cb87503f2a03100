"""Tests of fingerprint_correlation_matrix and decorrelation_score."""

import warnings

import numpy as np
import pytest
from scipy.linalg import hadamard
from scipy.stats import pearsonr
from sklearn.exceptions import UndefinedMetricWarning

from skfingerprint.metrics import decorrelation_score, fingerprint_correlation_matrix


def brute_force_rho(Z, y, fingerprints=None, labels=None):
    """Paper Eq. 3-5 with loops: leave-one-out class means unless fingerprints."""
    Z, y = np.asarray(Z, dtype=float), np.asarray(y)
    classes = np.unique(y) if labels is None else np.asarray(labels)
    rho = np.zeros((len(classes), len(classes)))
    for i, ci in enumerate(classes):
        bags = [b for b in range(len(y)) if y[b] == ci]
        for j, cj in enumerate(classes):
            values = []
            for b in bags:
                if fingerprints is None:
                    others = [k for k in range(len(y)) if y[k] == cj and k != b]
                    f = Z[others].mean(axis=0)
                else:
                    f = np.asarray(fingerprints[j], dtype=float)
                if np.ptp(Z[b]) == 0 or np.ptp(f) == 0:
                    values.append(0.0)  # undefined correlation, taken as 0
                else:
                    values.append(abs(pearsonr(Z[b], f)[0]))
            rho[i, j] = np.mean(values)
    return rho


def brute_force_scores(rho):
    M = rho.shape[0]
    off = [rho[i, j] for i in range(M) for j in range(M) if i != j]
    contrast = np.mean(np.diag(rho)) - np.mean(off)
    frob = 1 - np.sqrt(sum((rho[i, j] - (i == j)) ** 2 for i in range(M) for j in range(M))) / M
    return contrast, frob


def class_data(rng, n_per_class=(6, 4, 9), n_features=12, noise=1.0, names=None):
    n_per_class = list(n_per_class)
    names = names if names is not None else [f"m{k}" for k in range(len(n_per_class))]
    centers = rng.normal(size=(len(n_per_class), n_features))
    idx = np.repeat(np.arange(len(n_per_class)), n_per_class)
    Z = centers[idx] + noise * rng.normal(size=(idx.size, n_features))
    y = np.asarray(names)[idx]
    perm = rng.permutation(idx.size)
    return Z[perm], y[perm]


def test_matches_brute_force_leave_one_out():
    rng = np.random.RandomState(0)
    Z, y = class_data(rng)
    rho = fingerprint_correlation_matrix(Z, y)
    np.testing.assert_allclose(rho, brute_force_rho(Z, y), rtol=1e-10, atol=1e-12)
    contrast, frob = brute_force_scores(rho)
    assert decorrelation_score(Z, y) == pytest.approx(contrast, abs=1e-12)
    assert decorrelation_score(Z, y, kind="frobenius") == pytest.approx(frob, abs=1e-12)


def test_matches_brute_force_given_fingerprints_and_int_labels():
    rng = np.random.RandomState(1)
    Z, y = class_data(rng, n_per_class=(1, 3, 2, 5), names=[3, 1, 2, 0])
    F = rng.normal(size=(4, Z.shape[1]))
    rho = fingerprint_correlation_matrix(Z, y, fingerprints=F)
    np.testing.assert_allclose(rho, brute_force_rho(Z, y, fingerprints=F), atol=1e-12)


def test_labels_order_subset_and_ignored_bags():
    rng = np.random.RandomState(2)
    Z, y = class_data(rng, n_per_class=(5, 5, 5), names=["a", "b", "c"])
    labels = ["c", "a"]
    rho = fingerprint_correlation_matrix(Z, y, labels=labels)
    keep = np.isin(y, labels)
    expected = brute_force_rho(Z[keep], y[keep], labels=labels)
    np.testing.assert_allclose(rho, expected, atol=1e-12)
    full = fingerprint_correlation_matrix(Z, y)  # sorted: a, b, c
    np.testing.assert_allclose(rho, full[np.ix_([2, 0], [2, 0])], atol=1e-12)


def test_invariant_to_bag_order_and_affine_maps_of_embeddings():
    rng = np.random.RandomState(3)
    Z, y = class_data(rng)
    rho = fingerprint_correlation_matrix(Z, y)
    perm = rng.permutation(len(y))
    np.testing.assert_allclose(fingerprint_correlation_matrix(Z[perm], y[perm]), rho, atol=1e-12)
    # Pearson ignores a common scale and shift of all embeddings.
    np.testing.assert_allclose(fingerprint_correlation_matrix(-3 * Z + 7, y), rho, atol=1e-10)
    assert np.all((rho >= 0) & (rho <= 1))


def test_perfectly_distinct_fingerprints_score_one():
    # Rows of a Hadamard matrix (except the constant one) are centered and
    # orthogonal: each bag correlates 1 with its own source and 0 with others.
    centers = hadamard(8)[1:6].astype(float)
    y = np.repeat(np.arange(5), 3)
    Z = centers[y]
    rho = fingerprint_correlation_matrix(Z, y)
    np.testing.assert_allclose(rho, np.eye(5), atol=1e-12)
    assert decorrelation_score(Z, y) == pytest.approx(1.0)
    assert decorrelation_score(Z, y, kind="frobenius") == pytest.approx(1.0)


@pytest.mark.parametrize("n_sources", [3, 12])
def test_random_embeddings_baselines(n_sources):
    # Contrast: about 0 whatever M. Frobenius complement: about 1 - 1/sqrt(M).
    rng = np.random.RandomState(n_sources)
    y = np.repeat(np.arange(n_sources), 30)
    Z = rng.normal(size=(y.size, 256))
    assert abs(decorrelation_score(Z, y)) < 0.02
    frob = decorrelation_score(Z, y, kind="frobenius")
    assert frob == pytest.approx(1 - 1 / np.sqrt(n_sources), abs=0.04)


def test_separated_beats_random_and_paper_form_falls():
    rng = np.random.RandomState(4)
    y = np.repeat(np.arange(5), 20)
    Z_random = rng.normal(size=(100, 64))
    Z_separated = rng.normal(size=(5, 64))[y] + 0.5 * rng.normal(size=(100, 64))
    for kind in ("contrast", "frobenius"):
        assert decorrelation_score(Z_separated, y, kind=kind) > (
            decorrelation_score(Z_random, y, kind=kind) + 0.25
        )
    # Eq. 6 read literally, ||rho - I|| / M**2, is smaller for the better embedding.
    literal = [
        np.linalg.norm(fingerprint_correlation_matrix(Z, y) - np.eye(5)) / 25
        for Z in (Z_random, Z_separated)
    ]
    assert literal[1] < literal[0] <= 1 / 5


def test_negative_when_bags_match_other_sources():
    # Each source's held-out fingerprint points away from its own bags: the
    # fingerprints passed for a and b are swapped.
    rng = np.random.RandomState(5)
    Z, y = class_data(rng, n_per_class=(8, 8), noise=0.3, names=["a", "b"])
    F = np.array([Z[y == "b"].mean(0), Z[y == "a"].mean(0)])
    assert decorrelation_score(Z, y, fingerprints=F) < -0.3


def test_single_source():
    rng = np.random.RandomState(6)
    Z, y = rng.normal(size=(4, 5)), np.zeros(4)
    rho = fingerprint_correlation_matrix(Z, y)
    assert rho.shape == (1, 1)
    np.testing.assert_allclose(rho, brute_force_rho(Z, y))
    for kind in ("contrast", "frobenius"):
        with pytest.raises(ValueError, match="at least 2 of them; got 1"):
            decorrelation_score(Z, y, kind=kind)


def test_source_with_one_bag():
    rng = np.random.RandomState(7)
    Z, y = rng.normal(size=(5, 6)), np.array(["a", "a", "b", "b", "lonely"])
    with pytest.raises(ValueError, match=r"\['lonely'\] have fewer than 2 bags"):
        fingerprint_correlation_matrix(Z, y)
    with pytest.raises(ValueError, match="fewer than 2 bags"):
        decorrelation_score(Z, y)
    # With fingerprints estimated elsewhere, one bag is enough.
    F = rng.normal(size=(3, 6))
    score = decorrelation_score(Z, y, fingerprints=F)
    assert np.isfinite(score)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_constant_embeddings_give_zero_not_nan(dtype):
    y = np.repeat([0, 1, 2], 4)
    Z = np.full((12, 8), 0.1, dtype=dtype)
    with pytest.warns(UndefinedMetricWarning, match="constant"):
        rho = fingerprint_correlation_matrix(Z, y)
    np.testing.assert_array_equal(rho, np.zeros((3, 3)))
    with pytest.warns(UndefinedMetricWarning):
        assert decorrelation_score(Z, y) == 0.0
    with pytest.warns(UndefinedMetricWarning):
        frob = decorrelation_score(Z, y, kind="frobenius")
    assert frob == pytest.approx(1 - 1 / np.sqrt(3))


def test_one_constant_embedding_among_others():
    rng = np.random.RandomState(8)
    Z, y = class_data(rng, n_per_class=(4, 4))
    Z[0] = 5.0
    with pytest.warns(UndefinedMetricWarning):
        rho = fingerprint_correlation_matrix(Z, y)
    assert np.all(np.isfinite(rho))
    # The constant bag's correlations count as 0; everything else as usual.
    np.testing.assert_allclose(rho, brute_force_rho(Z, y), atol=1e-12)
    assert rho[np.unique(y).tolist().index(y[0])].max() < 1


def test_no_warning_for_ordinary_embeddings():
    rng = np.random.RandomState(9)
    Z, y = class_data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fingerprint_correlation_matrix(Z.astype(np.float32), y)


@pytest.mark.parametrize(
    "Z, y, message",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), [0, 1], "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), [0, 1], "infinity"),
        (np.zeros((3, 2)), [0, 1], "one label per bag"),
        (np.arange(4.0), [0, 0, 1, 1], "Expected 2D array"),
        (np.zeros((4, 1)), [0, 0, 1, 1], "at least 2 of them"),
    ],
)
def test_invalid_input(Z, y, message):
    with pytest.raises(ValueError, match=message):
        fingerprint_correlation_matrix(Z, y)


def test_invalid_fingerprints_labels_and_kind():
    rng = np.random.RandomState(10)
    Z, y = class_data(rng, n_per_class=(3, 3), names=["a", "b"])
    with pytest.raises(ValueError, match=r"expected \(n_sources, n_features\) = \(2, 12\)"):
        fingerprint_correlation_matrix(Z, y, fingerprints=np.zeros((3, 12)))
    with pytest.raises(ValueError, match="NaN"):
        fingerprint_correlation_matrix(Z, y, fingerprints=np.full((2, 12), np.nan))
    with pytest.raises(ValueError, match=r"\['z'\] have no bag"):
        fingerprint_correlation_matrix(Z, y, labels=["a", "z"])
    with pytest.raises(ValueError, match="duplicates"):
        fingerprint_correlation_matrix(Z, y, labels=["a", "a"])
    with pytest.raises(ValueError, match="'kind' parameter.*among"):
        decorrelation_score(Z, y, kind="paper")
