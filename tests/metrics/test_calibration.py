"""expected_calibration_error and top_label_calibration_curve."""

import numpy as np
import pytest

from skfingerprint.metrics import expected_calibration_error, top_label_calibration_curve


def _brute_force_ece(y, proba, labels, n_bins):
    """ECE by its definition, one sample and one bin at a time."""
    bins = [[] for _ in range(n_bins)]
    for label, row in zip(y, proba):
        top = max(range(len(row)), key=lambda j: row[j])  # first of ties, as argmax
        conf = row[top]
        # bin b holds (b / n_bins, (b + 1) / n_bins]; bin 0 also holds 0
        b = 0
        while b < n_bins - 1 and conf > (b + 1) / n_bins:
            b += 1
        bins[b].append((conf, labels[top] == label))
    total = 0.0
    for members in bins:
        if members:
            acc = sum(ok for _, ok in members) / len(members)
            conf = sum(c for c, _ in members) / len(members)
            total += len(members) / len(y) * abs(acc - conf)
    return total


def test_tiny_example_by_hand():
    y = ["a", "b", "c", "a", "b"]
    proba = [[0.70, 0.20, 0.10],   # a, correct, bin (0.6, 0.7]
             [0.30, 0.50, 0.20],   # b, correct, bin (0.4, 0.5]
             [0.45, 0.15, 0.40],   # a, wrong, bin (0.4, 0.5]
             [0.10, 0.85, 0.05],   # b, wrong, bin (0.8, 0.9]
             [0.05, 0.90, 0.05]]   # b, correct, bin (0.8, 0.9]
    # bin (0.4, 0.5]: acc 1/2, conf 0.475; (0.6, 0.7]: 1 vs 0.7; (0.8, 0.9]: 1/2 vs 0.875
    expected = (2 * abs(0.5 - 0.475) + abs(1 - 0.7) + 2 * abs(0.5 - 0.875)) / 5
    assert expected_calibration_error(y, proba) == pytest.approx(expected)
    assert _brute_force_ece(y, proba, ["a", "b", "c"], 10) == pytest.approx(expected)
    acc, conf, counts = top_label_calibration_curve(y, proba)
    np.testing.assert_allclose(acc, [0.5, 1.0, 0.5])
    np.testing.assert_allclose(conf, [0.475, 0.7, 0.875])
    assert counts.tolist() == [2, 1, 2]


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("n_bins", [1, 3, 10])
def test_matches_brute_force(seed, n_bins):
    rng = np.random.RandomState(seed)
    n, k = rng.randint(1, 30), rng.randint(2, 5)
    logits = rng.normal(0, 3, (n, k))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if seed % 4 == 0:  # confidences exactly on bin edges
        proba = np.tile([0.5, 0.3, 0.2, 0.0, 0.0][:k], (n, 1))
        proba[:, 0] += 1 - proba.sum(axis=1)
    labels = np.array(["x", "y", "z", "w"][:k])
    y = labels[rng.randint(0, k, n)]
    assert expected_calibration_error(y, proba, n_bins=n_bins, labels=labels) == (
        pytest.approx(_brute_force_ece(y, proba, labels, n_bins)))


def test_edges_zero_one_and_binary():
    # a confidence of exactly 0.5 is in the bin (0.4, 0.5], 1.0 in (0.9, 1]
    acc, conf, counts = top_label_calibration_curve([0, 1], [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(conf, [0.5, 1.0])
    assert counts.tolist() == [1, 1]
    # perfectly calibrated: ECE 0; a 1-D array is the probability of labels[1]
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    assert expected_calibration_error(y, np.full(10, 0.3)) == pytest.approx(0.0)
    assert expected_calibration_error([1, 0], [1.0, 1.0]) == pytest.approx(0.5)


def test_labels_name_the_columns():
    proba = [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]]
    # "c" never occurs: labels are needed to know the columns
    assert expected_calibration_error(["a", "b"], proba, labels=["a", "b", "c"]) == (
        pytest.approx(0.15))
    with pytest.raises(ValueError, match="2 distinct labels but proba has 3 columns.*labels"):
        expected_calibration_error(["a", "b"], proba)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_bins=0), "'n_bins' parameter"),
    (dict(n_bins=2.5), "'n_bins' parameter"),
    (dict(labels=["a"]), "labels has 1 entries but proba has 2 columns"),
    (dict(proba=[[1.5, -0.5], [0.5, 0.5]]), r"probabilities in \[0, 1\]"),
    (dict(proba=[[np.nan, 1.0], [0.5, 0.5]]), r"probabilities in \[0, 1\]"),
    (dict(proba=[[0.5, 0.5]]), "inconsistent numbers of samples"),
    (dict(proba=np.ones((2, 2, 2))), "shape"),
])
def test_bad_input_names_the_problem(kwargs, match):
    args = dict(y_true=["a", "b"], proba=[[0.6, 0.4], [0.3, 0.7]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(**args)
