"""Rendering tests of ReliabilityDisplay."""

import numpy as np
import pytest

from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.metrics import expected_calibration_error, top_label_calibration_curve
from skfingerprint.visualization import ReliabilityDisplay


def _fitted():
    rng = np.random.RandomState(0)
    y = np.repeat(["a", "b", "c"], 40)
    X = rng.normal(size=(3, 5))[np.searchsorted(["a", "b", "c"], y)] + rng.normal(
        size=(120, 5))
    return NearestFingerprintClassifier("euclidean").fit(X[::2], y[::2]), X[1::2], y[1::2]


def test_from_estimator_draws_the_curve_and_the_diagonal():
    clf, X, y = _fitted()
    disp = ReliabilityDisplay.from_estimator(clf, X, y, n_bins=5)
    acc, conf, counts = top_label_calibration_curve(y, clf.predict_proba(X), n_bins=5)
    np.testing.assert_allclose(disp.line_.get_xdata(), conf)
    np.testing.assert_allclose(disp.line_.get_ydata(), acc)
    assert disp.counts.tolist() == counts.tolist()
    assert disp.ece == pytest.approx(
        expected_calibration_error(y, clf.predict_proba(X), n_bins=5))
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert labels[0] == "Perfectly calibrated"
    assert labels[1].startswith("NearestFingerprintClassifier (ECE 0.")
    assert disp.ax_.get_xlabel().startswith("Confidence")
    assert disp.figure_ is disp.ax_.figure


def test_from_predictions_on_given_axes_without_reference():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    disp = ReliabilityDisplay.from_predictions(
        ["a", "b"], [[0.9, 0.1, 0.0], [0.6, 0.4, 0.0]], labels=["a", "b", "c"],
        name="mine", ref_line=False, ax=ax, line_kw={"color": "red"})
    assert disp.ax_ is ax and len(ax.lines) == 1
    assert disp.line_.get_color() == "red"
    assert ax.get_legend().get_texts()[0].get_text() == "mine (ECE 0.350)"


def test_bad_arguments_name_the_argument():
    clf, X, y = _fitted()
    with pytest.raises(ValueError, match="'estimator' parameter"):
        ReliabilityDisplay.from_estimator(object(), X, y)
    with pytest.raises(ValueError, match="'n_bins' parameter"):
        ReliabilityDisplay.from_predictions(y, clf.predict_proba(X), n_bins=0)
    with pytest.raises(ValueError, match="'ref_line' parameter"):
        ReliabilityDisplay.from_predictions(y, clf.predict_proba(X), ref_line="no")
    with pytest.raises(ValueError, match="same length"):
        ReliabilityDisplay([0.5, 1.0], [0.5], [1, 1]).plot()
