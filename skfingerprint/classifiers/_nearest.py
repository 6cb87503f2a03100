"""NearestFingerprintClassifier: attribute a bag to the closest source fingerprint."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["NearestFingerprintClassifier"]

_METRICS = ("correlation", "euclidean")


def _standardize_rows(A):
    """Rows centred and scaled to unit norm; constant rows become 0."""
    A = A - A.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(A, axis=1, keepdims=True)
    return np.divide(A, norm, out=np.zeros_like(A), where=norm > 1e-12 * (1 + norm.max()))


def _scores(X, F, metric):
    """Similarity of every row of X to every fingerprint (higher = closer)."""
    if metric == "correlation":
        return _standardize_rows(X) @ _standardize_rows(F).T
    d2 = (
        np.einsum("ij,ij->i", X, X)[:, None]
        - 2.0 * X @ F.T
        + np.einsum("ij,ij->i", F, F)[None, :]
    )
    return -np.sqrt(np.maximum(d2, 0.0))


class NearestFingerprintClassifier(ClassifierMixin, BaseEstimator):
    """Assign each bag to the source with the closest fingerprint.

    A source's fingerprint is the mean of its training features (one row per
    bag, e.g. the output of :class:`~skfingerprint.baselines.PRNUFingerprint`
    or :class:`~skfingerprint.SetFingerprintEncoder`).  A bag is attributed
    to the source whose fingerprint it correlates with most
    (``metric="correlation"``, Marra et al.'s attribution with PRNU
    residuals) or lies nearest to (``metric="euclidean"``, a nearest
    centroid classifier).

    Parameters
    ----------
    metric : {"correlation", "euclidean"}, default="correlation"
        ``"correlation"``: the score of a source is the Pearson correlation
        between the bag's feature vector and the source's fingerprint (a
        constant vector correlates 0 with everything).  ``"euclidean"``: the
        score is minus the Euclidean distance.
    temperature : float or "auto", default="auto"
        Temperature ``T`` of ``predict_proba = softmax(scores / T)``.
        ``"auto"`` fits ``T`` in ``fit`` by minimising the log-loss of the
        training bags scored against leave-one-out fingerprints (each bag
        left out of its own source's mean, so the probabilities are not
        overconfident on the training data); the result is ``temperature_``.
        A number fixes it; scores are correlations in [-1, 1] or distances in
        feature units, so a fixed ``T`` depends on the metric and the scale
        of the features.  ``T`` changes the probabilities, never the
        predictions.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sources seen in ``fit``, sorted.
    fingerprints_ : ndarray of shape (n_classes, n_features)
        Mean training feature of each source, in the order of ``classes_``.
    temperature_ : float
        The temperature used by ``predict_proba``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    skfingerprint.baselines.PRNUFingerprint : Mean noise residuals of bags.
    sklearn.neighbors.NearestCentroid : The euclidean rule without
        probabilities.

    Notes
    -----
    Open-set attribution (rejecting bags of unknown sources, enrolling new
    ones) is planned: ``decision_function`` gives the scores it will
    threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.classifiers import NearestFingerprintClassifier
    >>> X = np.array([[1., 2., 3.], [1., 2., 4.], [3., 2., 1.], [4., 2., 1.]])
    >>> clf = NearestFingerprintClassifier().fit(X, ["a", "a", "b", "b"])
    >>> clf.predict([[0., 1., 2.], [2., 1., 0.]]).tolist()
    ['a', 'b']
    >>> clf.fingerprints_.shape
    (2, 3)
    """

    def __init__(self, metric="correlation", *, temperature="auto"):
        self.metric = metric
        self.temperature = temperature

    def _check_params(self):
        if not isinstance(self.metric, str) or self.metric not in _METRICS:
            raise ValueError(
                f"metric must be 'correlation' or 'euclidean', got {self.metric!r}."
            )
        t = self.temperature
        if isinstance(t, str):
            if t != "auto":
                raise ValueError(
                    f"temperature must be 'auto' or a positive number, got {t!r}."
                )
        elif (
            isinstance(t, bool)
            or not isinstance(t, numbers.Real)
            or not np.isfinite(t)
            or t <= 0
        ):
            raise ValueError(f"temperature must be 'auto' or a positive number, got {t!r}.")

    def fit(self, X, y):
        """Compute the fingerprint (mean feature) of every source.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)
            Features of the training bags.
        y : array-like of shape (n_bags,)
            Source of each bag.

        Returns
        -------
        self : NearestFingerprintClassifier
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        n_classes = self.classes_.size
        counts = np.bincount(y_idx, minlength=n_classes).astype(np.float64)
        sums = np.zeros((n_classes, X.shape[1]))
        np.add.at(sums, y_idx, X)
        self.fingerprints_ = sums / counts[:, None]
        if self.temperature == "auto":
            self.temperature_ = self._fit_temperature(X, y_idx, sums, counts)
        else:
            self.temperature_ = float(self.temperature)
        return self

    def _fit_temperature(self, X, y_idx, sums, counts):
        if self.classes_.size < 2:
            return 1.0
        S = _scores(X, self.fingerprints_, self.metric)
        # replace each bag's own-source score by its leave-one-out score
        rows = np.flatnonzero(counts[y_idx] > 1)
        if rows.size:
            c = y_idx[rows]
            loo = (sums[c] - X[rows]) / (counts[c] - 1)[:, None]
            if self.metric == "correlation":
                own = np.sum(_standardize_rows(X[rows]) * _standardize_rows(loo), axis=1)
            else:
                own = -np.linalg.norm(X[rows] - loo, axis=1)
            S[rows, c] = own
        spread = float(np.std(S))
        if not np.isfinite(spread) or spread <= 0:
            return 1.0

        def nll(log_t):
            logp = log_softmax(S / np.exp(log_t), axis=1)
            return -float(np.mean(logp[np.arange(len(y_idx)), y_idx]))

        lo, hi = np.log(spread) - 9.0, np.log(spread) + 9.0
        res = minimize_scalar(nll, bounds=(lo, hi), method="bounded")
        return float(np.exp(res.x))

    def _raw_scores(self, X):
        check_is_fitted(self, "fingerprints_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _scores(X, self.fingerprints_, self.metric)

    def decision_function(self, X):
        """Score of every source for every bag (higher = closer).

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        scores : ndarray of shape (n_bags, n_classes), or (n_bags,) for two sources
            Correlations (``metric="correlation"``) or minus Euclidean
            distances (``"euclidean"``) to each fingerprint, in the order of
            ``classes_``.  With two sources, as in scikit-learn, the score
            of ``classes_[1]`` minus that of ``classes_[0]``.
        """
        S = self._raw_scores(X)
        if S.shape[1] == 2:
            return S[:, 1] - S[:, 0]
        return S

    def predict(self, X):
        """Source of each bag: the one with the highest score.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_bags,)
        """
        scores = self._raw_scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Probability of each source: ``softmax(scores / temperature_)``.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        proba : ndarray of shape (n_bags, n_classes)
            Rows sum to 1; the columns follow ``classes_``.
        """
        return softmax(self._raw_scores(X) / self.temperature_, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (computed stably).

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_bags, n_classes)
        """
        return log_softmax(self._raw_scores(X) / self.temperature_, axis=1)
