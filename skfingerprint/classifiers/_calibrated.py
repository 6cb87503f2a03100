"""Open-set rejection calibrated on bags held out from training."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from scipy.sparse import issparse
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._bags import check_label_values, check_source_target

__all__ = ["HeldOutRejectionClassifier"]


def _final_step(estimator):
    from sklearn.pipeline import Pipeline

    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _features(estimator, X):
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1].transform(X)
    return X


def _take(X, idx):
    """Rows ``idx`` of an array, a DataFrame or a list of bags."""
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if hasattr(X, "shape") and hasattr(X, "__getitem__"):
        return X[idx]
    if isinstance(X, (list, tuple)):
        return [X[i] for i in idx]
    return np.asarray(X)[idx]


def calibration_split(y, calibration_size, random_state):
    """Training and calibration indices: ``calibration_size`` of each source's bags.

    Every source keeps at least 2 training bags (a positive pair for the
    encoder) and gives at least 1 calibration bag; a clear ``ValueError``
    otherwise.
    """
    rng = check_random_state(random_state)
    train, calibration = [], []
    for source in np.unique(y).tolist():
        idx = rng.permutation(np.flatnonzero(y == source))
        n_cal = max(1, int(round(calibration_size * idx.size)))
        if idx.size - n_cal < 2:
            raise ValueError(
                f"Source {source!r} has {idx.size} bag(s): too few to hold out "
                f"calibration_size={calibration_size} of them and keep 2 for "
                "training. Give at least 3 bags per source, or lower "
                "calibration_size."
            )
        calibration.append(idx[:n_cal])
        train.append(idx[n_cal:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(calibration))


class HeldOutRejectionClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Open-set attribution with the rejection threshold set on held-out bags.

    ``NearestFingerprintClassifier(reject_threshold="auto")`` calibrates its
    threshold on its own training bags; in a Pipeline the encoder trained on
    those bags too, so new bags of known sources lie farther from their
    fingerprints and are rejected more often than ``false_rejection_rate``
    (0.18 instead of 0.05 on the model zoo). This meta-estimator holds
    ``calibration_size`` of each source's bags out of training, fits
    ``estimator`` on the rest, sets the threshold on the held-out bags
    (:meth:`NearestFingerprintClassifier.calibrate_threshold`), and then
    enrolls them, so that the fingerprints use every bag. The encoder is
    trained once, on the training share.

    Parameters
    ----------
    estimator : estimator
        A Pipeline ending with a :class:`NearestFingerprintClassifier` whose
        ``reject_threshold`` is not None (e.g. ``"auto"``), or such a
        classifier alone (then ``X`` holds features). Its
        ``false_rejection_rate`` is the rate the threshold is set for.
    calibration_size : float, default=0.2
        Share of each source's bags held out to calibrate the threshold, in
        (0, 1). Every source needs at least 1 calibration and 2 training
        bags.
    random_state : int, RandomState instance or None, default=None
        Draws the held-out bags.

    Attributes
    ----------
    estimator_ : estimator
        The fitted ``estimator``, with the calibrated threshold and the
        held-out bags enrolled; it predicts alone (and can be saved alone).
    classes_ : ndarray of shape (n_classes,)
        The known sources.
    threshold_ : float
        The calibrated threshold on ``unknown_score``.
    calibration_indices_ : ndarray of int
        The bags of ``X`` held out for the calibration.

    See Also
    --------
    NearestFingerprintClassifier.calibrate_threshold : The calibration step.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.classifiers import (
    ...     HeldOutRejectionClassifier, NearestFingerprintClassifier)
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(8, 1, (60, 2))]
    >>> y = np.repeat(["a", "b"], 60)
    >>> clf = HeldOutRejectionClassifier(
    ...     NearestFingerprintClassifier("euclidean", reject_threshold="auto"),
    ...     random_state=0,
    ... ).fit(X, y)
    >>> clf.predict([[0.0, 0.5], [4.0, -20.0]]).tolist()
    ['a', 'unknown']
    """

    def __init__(self, estimator, *, calibration_size=0.2, random_state=None):
        self.estimator = estimator
        self.calibration_size = calibration_size
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on the training share, calibrate and enroll the held-out share.

        Parameters
        ----------
        X : array-like
            Bags (or features), in the input format of ``estimator``.
        y : array-like of shape (n_bags,)
            Source of each bag.

        Returns
        -------
        self : HeldOutRejectionClassifier
        """
        c = self.calibration_size
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not 0 < c < 1:
            raise ValueError(
                f"calibration_size must be a number in (0, 1), got {c!r}."
            )
        final = _final_step(self.estimator)
        if not hasattr(final, "calibrate_threshold") or not hasattr(final, "enroll"):
            raise TypeError(
                f"{type(final).__name__} cannot calibrate a rejection threshold; "
                "end the estimator with NearestFingerprintClassifier("
                "reject_threshold='auto')."
            )
        if getattr(final, "reject_threshold", None) is None:
            raise ValueError(
                "The final NearestFingerprintClassifier has reject_threshold=None "
                "(a closed set): set reject_threshold='auto' to reject unknown "
                "sources."
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: give the source of every bag."
            )
        if issparse(X):
            raise TypeError(
                "Sparse data was passed, but dense data (bags or features) is "
                "required."
            )
        y = column_or_1d(y, warn=True)
        if not hasattr(X, "shape") and not hasattr(X, "__len__"):
            X = np.asarray(X)
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if n != y.shape[0]:
            raise ValueError(
                f"X has {n} samples (bags) but y has {y.shape[0]} labels; give one "
                "label per bag."
            )
        if n == 1:
            raise ValueError(
                "n_samples=1: one bag cannot be split into training and calibration "
                "bags."
            )
        check_label_values(y, name="y")
        check_source_target(y, name="y")
        train, cal = calibration_split(y, c, self.random_state)
        self.estimator_ = clone(self.estimator).fit(_take(X, train), y[train])
        final = _final_step(self.estimator_)
        Z = _features(self.estimator_, _take(X, cal))
        if not hasattr(Z, "shape"):  # a list of feature rows
            Z = np.asarray(Z)
        final.calibrate_threshold(Z, y[cal])
        for source in np.unique(y[cal]):
            final.enroll(Z[y[cal] == source], source)
        self.classes_ = final.classes_
        self.threshold_ = final.threshold_
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        self.calibration_indices_ = cal
        return self

    def predict(self, X):
        """Known source of each bag, or the classifier's ``unknown_label``."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        """Probabilities of the known sources (see the final classifier)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def unknown_score(self, X):
        """Distance of each bag to its nearest fingerprint (higher = unknown)."""
        check_is_fitted(self, "estimator_")
        return _final_step(self.estimator_).unknown_score(_features(self.estimator_, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        return tags
