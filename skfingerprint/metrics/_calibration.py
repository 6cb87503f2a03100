"""Top-label calibration of predicted probabilities: reliability curve and ECE."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_consistent_length, column_or_1d

__all__ = ["expected_calibration_error", "top_label_calibration_curve"]


def _top_label(y_true, proba, labels):
    """Confidence (top probability) and correctness of every prediction."""
    y_true = column_or_1d(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:  # binary: the probability of labels[1]
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2:
        raise ValueError(
            f"proba must be of shape (n_samples, n_classes), got shape {proba.shape}."
        )
    check_consistent_length(y_true, proba)
    if proba.shape[0] == 0:
        raise ValueError("y_true and proba are empty: give at least one sample.")
    if not np.all(np.isfinite(proba)) or proba.min() < 0 or proba.max() > 1:
        raise ValueError(
            "proba must hold probabilities in [0, 1] (e.g. the output of "
            "predict_proba), got values outside it or NaN."
        )
    if labels is None:
        labels = np.unique(y_true)
        if labels.size != proba.shape[1]:
            raise ValueError(
                f"y_true has {labels.size} distinct labels but proba has "
                f"{proba.shape[1]} columns: pass labels, the classes of the "
                "columns (e.g. the classifier's classes_)."
            )
    else:
        labels = column_or_1d(labels)
        if labels.size != proba.shape[1]:
            raise ValueError(
                f"labels has {labels.size} entries but proba has {proba.shape[1]} "
                "columns: give one label per column, in the order of the columns."
            )
    top = np.argmax(proba, axis=1)
    confidence = proba[np.arange(proba.shape[0]), top]
    correct = labels[top] == y_true
    return confidence, correct.astype(np.float64)


_PARAMS = {
    "y_true": ["array-like"],
    "proba": ["array-like"],
    "n_bins": [Interval(Integral, 1, None, closed="left")],
    "labels": [None, "array-like"],
}


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def top_label_calibration_curve(y_true, proba, *, n_bins=10, labels=None):
    """Accuracy against confidence of the top predicted label, in bins.

    Every sample's confidence is its largest probability, and the prediction
    is correct when that column's label is the true one.  The samples are
    grouped into ``n_bins`` equal-width bins of confidence, ``(0, 1/n_bins]``
    (0 included), ``(1/n_bins, 2/n_bins]``, ..., ``((n_bins - 1)/n_bins, 1]``;
    empty bins are left out.  For calibrated probabilities, the accuracy of
    every bin matches its mean confidence.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, e.g. the output of ``predict_proba``; a 1-D
        array is the probability of the second of two labels.
    n_bins : int, default=10
        Number of equal-width confidence bins in [0, 1].
    labels : array-like of shape (n_classes,), default=None
        The label of each column of ``proba`` (e.g. the classifier's
        ``classes_``); None: the sorted distinct labels of ``y_true``, which
        must then be as many as the columns.

    Returns
    -------
    accuracy : ndarray of shape (n_nonempty_bins,)
        Share of correct top labels in each non-empty bin.
    confidence : ndarray of shape (n_nonempty_bins,)
        Mean top probability in each non-empty bin.
    counts : ndarray of shape (n_nonempty_bins,)
        Number of samples in each non-empty bin.

    See Also
    --------
    expected_calibration_error : The weighted gap between the two.
    sklearn.calibration.calibration_curve : The same for the positive class
        of a binary problem.

    Examples
    --------
    >>> from skfingerprint.metrics import top_label_calibration_curve
    >>> y = ["a", "a", "b", "b"]
    >>> proba = [[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.8, 0.2]]
    >>> acc, conf, counts = top_label_calibration_curve(y, proba, n_bins=4)
    >>> acc.tolist(), conf.round(3).tolist(), counts.tolist()
    ([1.0, 0.5], [0.625, 0.85], [2, 2])
    """
    confidence, correct = _top_label(y_true, proba, labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bins are closed on the right: a confidence of exactly k / n_bins goes to bin k - 1
    idx = np.searchsorted(edges[1:-1], confidence, side="left")
    counts = np.bincount(idx, minlength=n_bins)
    nonempty = counts > 0
    acc = np.bincount(idx, weights=correct, minlength=n_bins)[nonempty] / counts[nonempty]
    conf = np.bincount(idx, weights=confidence, minlength=n_bins)[nonempty] / counts[nonempty]
    return acc, conf, counts[nonempty]


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def expected_calibration_error(y_true, proba, *, n_bins=10, labels=None):
    """Top-label expected calibration error (ECE) of predicted probabilities.

    The samples are grouped into ``n_bins`` equal-width bins of their top
    probability (the bins of :func:`top_label_calibration_curve`), and the
    error is the mean over bins of the gap between accuracy and mean
    confidence, weighted by the share of samples in the bin::

        ECE = sum_b (n_b / n) * |accuracy_b - confidence_b|

    0 for calibrated probabilities; at most 1.  A small sample has a
    positive ECE even for calibrated probabilities (the accuracy of a bin
    of few samples is noisy).

    Parameters
    ----------
    y_true, proba, n_bins, labels
        As in :func:`top_label_calibration_curve`: true labels, predicted
        probabilities (``(n_samples, n_classes)``, or the probability of the
        second of two labels), number of bins (default 10) and the label of
        each column of ``proba`` (default: the sorted labels of ``y_true``).

    Returns
    -------
    ece : float
        In [0, 1].

    See Also
    --------
    top_label_calibration_curve : Accuracy and confidence of every bin.
    skfingerprint.visualization.ReliabilityDisplay : Draws them.

    Examples
    --------
    >>> from skfingerprint.metrics import expected_calibration_error
    >>> y = ["a", "a", "b", "b"]
    >>> proba = [[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.8, 0.2]]
    >>> round(expected_calibration_error(y, proba, n_bins=4), 4)
    0.3625
    """
    acc, conf, counts = top_label_calibration_curve(y_true, proba, n_bins=n_bins,
                                                    labels=labels)
    return float(np.sum(counts * np.abs(acc - conf)) / np.sum(counts))
