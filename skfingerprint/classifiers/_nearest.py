"""NearestFingerprintClassifier: attribute a bag to the closest source fingerprint.

Its rejection scores (open set) are in :mod:`._rejection`; the functions that
enroll or calibrate through a Pipeline are beside the held-out calibration, in
:mod:`._calibrated`.
"""

from __future__ import annotations

import numbers
from numbers import Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._bags import check_label_values, label_kind
from .._embeddings import euclidean_distances, standardize_rows
from ..metrics import model_fingerprints
from ._conformal import conformal_threshold
from ._rejection import (
    REJECTION_SCORES,
    fit_precisions,
    fit_score_scale,
    guarantee_text,
    rejection_score,
)
from ._temperature import fit_temperature

__all__ = ["NearestFingerprintClassifier"]

_METRICS = ("correlation", "euclidean")


def _unit_rows(A):
    """Rows centred and scaled to unit norm, constant rows 0 (see ``standardize_rows``)."""
    return standardize_rows(A)[0]


def _scores(X, F, metric):
    """Similarity of every row of X to every fingerprint (higher = closer)."""
    if metric == "correlation":
        return _unit_rows(X) @ _unit_rows(F).T
    return -euclidean_distances(X, F)


def _distances(S, metric):
    """All distances (``1 - correlation`` or Euclidean) from the scores ``S``."""
    return 1.0 - S if metric == "correlation" else -S


def _is_label_scalar(value):
    return (
        isinstance(value, (str, numbers.Number, np.generic))
        and not isinstance(value, (bool, np.bool_))
        and np.ndim(value) == 0
    )


class NearestFingerprintClassifier(ClassifierMixin, BaseEstimator):
    """Assign each bag to the source with the closest fingerprint.

    A source's fingerprint is the mean of its training features (one row per
    bag, e.g. the output of :class:`~skfingerprint.baselines.PRNUFingerprint`
    or :class:`~skfingerprint.SetFingerprintEncoder`).  A bag is attributed
    to the source whose fingerprint it correlates with most
    (``metric="correlation"``, Marra et al.'s attribution with PRNU
    residuals) or lies nearest to (``metric="euclidean"``, a nearest
    centroid classifier).

    The classifier can also work in an *open set*: with ``reject_threshold``
    it answers ``unknown_label`` for bags that lie too far from every known
    fingerprint (a generator never seen in training), and :meth:`enroll`
    adds the fingerprint of a new source without retraining anything.

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
        left out of its own source's mean); the result is ``temperature_``.
        When the features come from an encoder trained on the same bags,
        these bags may lie closer to their fingerprints than new bags will,
        and the probabilities be overconfident: fit ``T`` on held-out bags
        instead (:meth:`calibrate_temperature`, or
        :class:`HeldOutRejectionClassifier`, which does it by default).
        A number fixes it; scores are correlations in [-1, 1] or distances in
        feature units, so a fixed ``T`` depends on the metric and the scale
        of the features.  ``T`` changes the probabilities, never the
        predictions.
    reject_threshold : None, float or "auto", default=None
        Open-set rejection.  ``None``: closed set, every bag is attributed
        to a known source.  A number: the largest accepted
        :meth:`unknown_score` (for ``rejection_score="distance"`` the
        distance to the nearest fingerprint: ``1 - correlation`` for
        ``metric="correlation"``, the Euclidean distance for
        ``"euclidean"``); bags above it are predicted ``unknown_label``.
        ``"auto"``: the threshold is calibrated in ``fit`` on the training
        bags, each scored against leave-one-out fingerprints (its own
        source's mean without it, as for ``temperature="auto"``), with the
        conformal rule of :func:`conformal_threshold`.  When the features
        come from an encoder trained on the same bags, new bags are rejected
        more often than ``false_rejection_rate``: calibrate on held-out bags
        (:meth:`calibrate_threshold`, or
        :class:`HeldOutRejectionClassifier`, the documented recipe).  The
        threshold used is ``threshold_``.
    false_rejection_rate : float, default=0.05
        For ``reject_threshold="auto"`` and :meth:`calibrate_threshold`: the
        target fraction of bags of known sources that are rejected, in
        [0, 1).  On held-out calibration bags the rate is guaranteed to be
        at most this, in expectation (see :func:`conformal_threshold`).
        Lower values reject fewer bags of known sources and miss more
        unknown ones.
    rejection_score : {"relative_distance", "distance", "ratio", \
            "mahalanobis", "proba"}, default="relative_distance"
        What :meth:`unknown_score` measures (higher = more likely unknown),
        for a bag attributed to source ``c`` (its nearest fingerprint):

        - ``"relative_distance"``: the distance to ``c``'s fingerprint
          divided by ``score_scale_[c]``, the median leave-one-out distance
          of ``c``'s training bags, so that one threshold fits sources of
          different spreads;
        - ``"distance"``: the distance to the nearest fingerprint;
        - ``"ratio"``: nearest over second-nearest distance (in [0, 1]);
        - ``"mahalanobis"``: the Mahalanobis distance to ``c``'s
          fingerprint under ``c``'s covariance, shrunk by
          :class:`sklearn.covariance.LedoitWolf` (sources with fewer than 3
          bags use the pooled within-source covariance); calibrate it on
          held-out bags only: with ``reject_threshold="auto"`` the
          covariance has been fitted on the very bags that calibrate, and
          new bags are rejected far more often than the target;
        - ``"proba"``: ``1 - max predict_proba``.

        It changes which bags are rejected, never the attributed source.
    unknown_label : str or number, default="unknown"
        What :meth:`predict` answers for rejected bags.  With
        ``reject_threshold`` set, it must differ from every training label
        (a ValueError in ``fit`` otherwise).  It is not part of
        ``classes_``.  With numeric training labels and a string
        ``unknown_label``, :meth:`predict` returns an object array; pass a
        number (e.g. ``-1``) to keep a numeric one (scikit-learn's metrics
        refuse a mix of strings and numbers).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The known sources (seen in ``fit`` or added by :meth:`enroll`),
        sorted.  ``unknown_label`` is never among them.
    fingerprints_ : ndarray of shape (n_classes, n_features)
        Mean training feature of each source, in the order of ``classes_``.
    class_counts_ : ndarray of shape (n_classes,)
        Number of rows (bags) averaged into each fingerprint.
    temperature_ : float
        The temperature used by ``predict_proba``.
    temperature_calibration_ : dict
        How ``temperature_`` was set: ``"method"`` (``"fixed"``,
        ``"leave-one-out"`` on the training bags, ``"held-out"`` by
        :meth:`calibrate_temperature` or ``"cross-fitted"`` by
        :class:`HeldOutRejectionClassifier`) and ``"n_bags"`` (the bags it
        was fitted on, 0 for a fixed one).
    threshold_ : float
        Bags whose :meth:`unknown_score` exceeds it are predicted
        ``unknown_label``; ``inf`` for a closed set
        (``reject_threshold=None``).
    score_scale_ : ndarray of shape (n_classes,)
        Typical distance of each source's bags to its fingerprint (median
        leave-one-out distance; sources with one bag get the median over
        all bags), the divisor of ``rejection_score="relative_distance"``.
    precisions_ : ndarray of shape (n_classes, n_features, n_features)
        Inverse shrunk covariance of each source, for
        ``rejection_score="mahalanobis"`` only.
    calibration_ : dict
        How ``threshold_`` was set: ``"method"`` (``"closed set"``,
        ``"fixed"``, ``"leave-one-out"``, ``"held-out"`` or
        ``"cross-fitted"``), ``"n_bags"`` (calibration bags),
        ``"false_rejection_rate"`` and ``"guaranteed"`` (True for a
        conformal threshold on held-out bags).  :meth:`rejection_guarantee`
        puts it in words.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    enroll : Enroll a new source in a fitted Pipeline that ends with this
        classifier.
    skfingerprint.baselines.PRNUFingerprint : Mean noise residuals of bags.
    sklearn.neighbors.NearestCentroid : The euclidean rule without
        probabilities.

    Notes
    -----
    With rejection, :meth:`predict` can answer ``unknown_label``, which is
    not in ``classes_``; :meth:`predict_proba` and :meth:`decision_function`
    still cover the known sources only.  ``score`` (accuracy) counts a
    rejected bag of a known source as an error, and a bag of an unknown
    source as correct only if its true label is ``unknown_label``.  For the
    separation of known from unknown sources, independently of any
    threshold, compute the ROC AUC of :meth:`unknown_score`.

    The threshold is one for all sources.  With ``rejection_score="distance"``,
    bags of a source that are more spread around its fingerprint than those
    of the others (or, with the correlation, whose fingerprint has less
    contrast) are rejected more often than ``false_rejection_rate``; the
    default ``"relative_distance"`` divides by each source's spread so that
    one threshold fits all.  Bags of a source enrolled from few bags are
    still rejected more often: the mean of a few bags is a noisier
    fingerprint.

    ``metric="correlation"`` standardises rows with
    ``skfingerprint.metrics``' rule (one implementation): a row whose
    centred norm is at rounding level relative to its own largest value is
    constant and correlates 0 with everything.

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

    Open set: a bag far from every fingerprint is rejected.

    >>> rng = np.random.RandomState(0)
    >>> F = rng.standard_normal((3, 20))
    >>> X = np.repeat(F, 10, axis=0) + 0.3 * rng.standard_normal((30, 20))
    >>> y = np.repeat(["a", "b", "c"], 10)
    >>> clf = NearestFingerprintClassifier(reject_threshold="auto").fit(X, y)
    >>> new = rng.standard_normal((1, 20))
    >>> clf.predict(np.vstack([F[1], new])).tolist()
    ['b', 'unknown']
    >>> clf.enroll(new + 0.3 * rng.standard_normal((3, 20)), "d").classes_.tolist()
    ['a', 'b', 'c', 'd']
    >>> clf.predict(new).tolist()
    ['d']
    """

    _parameter_constraints: dict = {
        "metric": [StrOptions(set(_METRICS))],
        "temperature": [StrOptions({"auto"}), Interval(Real, 0, np.inf, closed="neither")],
        "reject_threshold": [None, StrOptions({"auto"}),
                             Interval(Real, None, None, closed="neither")],
        "false_rejection_rate": [Interval(Real, 0, 1, closed="left")],
        "rejection_score": [StrOptions(set(REJECTION_SCORES))],
        "unknown_label": [str, Real],
    }

    def __init__(
        self,
        metric="correlation",
        *,
        temperature="auto",
        reject_threshold=None,
        false_rejection_rate=0.05,
        rejection_score="relative_distance",
        unknown_label="unknown",
    ):
        self.metric = metric
        self.temperature = temperature
        self.reject_threshold = reject_threshold
        self.false_rejection_rate = false_rejection_rate
        self.rejection_score = rejection_score
        self.unknown_label = unknown_label

    def _check_params(self):
        """What the constraints cannot say: booleans and NaN are not numbers here."""
        for name in ("temperature", "reject_threshold", "false_rejection_rate"):
            if isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be a number "
                    f"or an option, not a boolean; got {getattr(self, name)!r}."
                )
        if not _is_label_scalar(self.unknown_label) or (
            isinstance(self.unknown_label, numbers.Real)
            and not isinstance(self.unknown_label, numbers.Integral)
            and np.isnan(self.unknown_label)
        ):
            raise ValueError(
                f"The 'unknown_label' parameter of {type(self).__name__} must be a "
                f"string or a number (not NaN, not a boolean), got {self.unknown_label!r}."
            )

    def _check_not_unknown(self, labels, what):
        unknown = self.unknown_label
        if label_kind(unknown) not in ("strings", "numbers"):  # pragma: no cover
            return  # validated
        for c in np.asarray(labels, dtype=object).reshape(-1).tolist():
            if label_kind(c) == label_kind(unknown) and c == unknown:
                raise ValueError(
                    f"unknown_label={unknown!r} is also {what}; the answer for "
                    "rejected bags must differ from every source. Choose another "
                    "unknown_label."
                )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute the fingerprint (mean feature) of every source.

        With ``reject_threshold="auto"``, also calibrate the rejection
        threshold on the training bags (leave-one-out, see the class
        documentation).

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
        check_label_values(np.asarray(y), name="y")  # mixed str/int, None
        check_classification_targets(y)
        if self.metric == "correlation" and X.shape[1] < 2:
            raise ValueError(
                f"X has {X.shape[1]} feature(s); metric='correlation' correlates "
                "a bag's features with each fingerprint across features and "
                "needs at least 2 of them. Use metric='euclidean'."
            )
        if X.shape[1] >= 2:
            self.classes_, self.fingerprints_ = model_fingerprints(X, y)
        else:  # model_fingerprints wants 2 features (for correlations): duplicate the one
            self.classes_, F = model_fingerprints(np.repeat(X, 2, axis=1), y)
            self.fingerprints_ = F[:, :1]
        y_idx = np.searchsorted(self.classes_, y)
        if self.reject_threshold is not None:
            self._check_not_unknown(self.classes_, "a training label")
        counts = np.bincount(y_idx, minlength=self.classes_.size)
        sums = self.fingerprints_ * counts[:, None]
        self.class_counts_ = counts
        S, rows = self._loo_scores(X, y_idx, sums, counts.astype(np.float64))
        own = _distances(S[np.arange(len(y_idx)), y_idx], self.metric)
        self.score_scale_ = fit_score_scale(own, y_idx, rows, self.classes_.size)
        if self.rejection_score == "mahalanobis":
            self.precisions_ = fit_precisions(X, self.fingerprints_, y_idx)
        if self.temperature == "auto":
            self._set_temperature(fit_temperature(S, y_idx), "leave-one-out", len(y_idx))
        else:
            self._set_temperature(float(self.temperature), "fixed", 0)
        if self.reject_threshold is None:
            self._set_threshold(np.inf, "closed set", 0)
        elif self.reject_threshold == "auto":
            if rows.size == 0:
                raise ValueError(
                    "reject_threshold='auto' calibrates on leave-one-out fingerprints "
                    "and needs at least 2 training bags of one source; every source "
                    "has one sample (a single bag). Give more bags per source or a "
                    "numeric reject_threshold."
                )
            # bags of single-bag sources have no left-out score: not used
            loo = self._unknown_score_from(S[rows], X[rows])
            self._set_threshold(
                conformal_threshold(loo, self.false_rejection_rate), "leave-one-out",
                rows.size)
        else:
            self._set_threshold(float(self.reject_threshold), "fixed", 0)
        return self

    def _set_threshold(self, threshold, method, n_bags):
        self.threshold_ = float(threshold)
        self.calibration_ = {
            "method": method,
            "n_bags": int(n_bags),
            "false_rejection_rate": float(self.false_rejection_rate),
            "rejection_score": self.rejection_score,
            "guaranteed": method in ("held-out", "cross-fitted"),
        }

    def _unknown_score_from(self, S, X, own=None):
        """The rejection score of rows ``X`` whose similarities are ``S``.

        ``own``: the source each row is scored against (default: its nearest).
        """
        return rejection_score(
            self.rejection_score, S, _distances(S, self.metric), X,
            temperature=getattr(self, "temperature_", None),
            score_scale=getattr(self, "score_scale_", None),
            fingerprints=self.fingerprints_,
            precisions=getattr(self, "precisions_", None), own=own)

    def _loo_scores(self, X, y_idx, sums, counts):
        """Scores of the training bags, own source left out of its mean.

        Returns the score matrix and the rows for which the own-source
        score is a leave-one-out score (sources with 2 bags or more; a
        single bag keeps its in-sample score).
        """
        S = _scores(X, self.fingerprints_, self.metric)
        rows = np.flatnonzero(counts[y_idx] > 1)
        if rows.size:
            c = y_idx[rows]
            loo = (sums[c] - X[rows]) / (counts[c] - 1)[:, None]
            if self.metric == "correlation":
                own = np.sum(_unit_rows(X[rows]) * _unit_rows(loo), axis=1)
            else:
                own = -np.linalg.norm(X[rows] - loo, axis=1)
            S[rows, c] = own
        return S, rows

    def _set_temperature(self, temperature, method, n_bags):
        self.temperature_ = float(temperature)
        self.temperature_calibration_ = {"method": method, "n_bags": int(n_bags)}

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

    def source_distances(self, X):
        """Distance of every bag to the fingerprint of every known source.

        The distances the attribution rests on: ``1 - correlation``
        (``metric="correlation"``) or Euclidean, one column per source in
        the order of ``classes_`` (enrolled sources included).  For a bag of
        an unknown generator, the smallest are its nearest known relatives.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        distances : ndarray of shape (n_bags, n_classes)

        Examples
        --------
        >>> import numpy as np
        >>> from skfingerprint.classifiers import NearestFingerprintClassifier
        >>> X = np.array([[0., 0.], [0., 1.], [4., 0.], [4., 1.]])
        >>> clf = NearestFingerprintClassifier("euclidean").fit(X, ["a", "a", "b", "b"])
        >>> clf.source_distances([[1., 0.5]]).round(2).tolist()
        [[1.0, 3.0]]
        """
        return _distances(self._raw_scores(X), self.metric)

    def unknown_score(self, X):
        """How likely each bag comes from an unknown source (higher = more).

        The ``rejection_score`` of each bag (by default its distance to the
        fingerprint of the source it is attributed to, divided by that
        source's ``score_scale_``).  :meth:`predict` answers
        ``unknown_label`` where it exceeds ``threshold_``.  Use it as the
        score of a ROC curve of known (0) against unknown (1) sources, e.g.
        ``roc_auc_score(is_unknown, clf.unknown_score(X))``.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        score : ndarray of shape (n_bags,)
        """
        check_is_fitted(self, "fingerprints_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._unknown_score_from(_scores(X, self.fingerprints_, self.metric), X)

    def rejection_guarantee(self):
        """What the rejection threshold guarantees, in words.

        Returns
        -------
        text : str
            E.g. "At most 5% of bags from known sources are flagged as
            unknown, in expectation (...)", with the threshold, the score
            and how it was calibrated; for a threshold without a guarantee,
            why not.

        Examples
        --------
        >>> import numpy as np
        >>> from skfingerprint.classifiers import NearestFingerprintClassifier
        >>> X = np.r_[np.zeros((3, 2)), np.ones((3, 2))] + np.arange(6)[:, None] * 0.01
        >>> clf = NearestFingerprintClassifier("euclidean").fit(X, [0, 0, 0, 1, 1, 1])
        >>> clf.rejection_guarantee()
        'Closed set: every bag is attributed to a known source; none is flagged as unknown.'
        """
        check_is_fitted(self, "threshold_")
        return guarantee_text(self)

    def _output_dtype(self):
        classes = self.classes_
        unknown = np.asarray(self.unknown_label)
        if classes.dtype.kind in "US" and unknown.dtype.kind in "US":
            return np.result_type(classes.dtype, unknown.dtype)
        if classes.dtype.kind in "iuf" and unknown.dtype.kind in "iuf":
            return np.result_type(classes.dtype, unknown.dtype)
        return np.dtype(object)

    def predict(self, X):
        """Source of each bag: the one with the highest score, or unknown.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_bags,)
            Elements of ``classes_``; with ``reject_threshold`` set, also
            ``unknown_label`` for bags whose :meth:`unknown_score` exceeds
            ``threshold_``.  Then the dtype holds both (an object array for
            numeric classes and a string ``unknown_label``), whether or not a
            bag is rejected.
        """
        check_is_fitted(self, "fingerprints_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        S = _scores(X, self.fingerprints_, self.metric)
        pred = self.classes_[np.argmax(S, axis=1)]
        threshold = getattr(self, "threshold_", np.inf)
        if np.isposinf(threshold):
            return pred
        pred = pred.astype(self._output_dtype())
        pred[self._unknown_score_from(S, X) > threshold] = self.unknown_label
        return pred

    def predict_proba(self, X):
        """Probability of each source: ``softmax(scores / temperature_)``.

        Known sources only: rejection does not change the probabilities.

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

    def calibrate_temperature(self, X, y):
        """Fit ``temperature_`` on held-out bags of known sources (temperature scaling).

        ``temperature="auto"`` fits the temperature on the training bags
        (leave-one-out), but when the features come from an encoder trained
        on those bags, they sit closer to their fingerprints than new bags
        will, and :meth:`predict_proba` can be overconfident.  This method sets
        ``temperature_`` to the one that minimises the log-loss of the
        sources ``y`` of bags that neither the encoder nor this classifier
        saw, so that on bags drawn like them the probabilities are
        calibrated (the top probability matches the accuracy).  One
        parameter is fitted: predictions, fingerprints and ``threshold_``
        are unchanged.  With ``rejection_score="proba"``, which depends on
        the temperature, call it before :meth:`calibrate_threshold`.

        The calibration holds for bags like the held-out ones: of the same
        number of images (larger bags are more separable, and their
        probabilities more confident) and drawn from the same sources.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)
            Features of held-out bags of known sources.
        y : array-like of shape (n_bags,)
            Their sources, all in ``classes_``.

        Returns
        -------
        self : NearestFingerprintClassifier
            The classifier, with the new ``temperature_``.

        See Also
        --------
        calibrate_temperature : The same through a fitted Pipeline, from bags
            of images.
        HeldOutRejectionClassifier : Holds the calibration bags out of
            training (or cross-fits them) for you.
        skfingerprint.metrics.expected_calibration_error : How far the
            probabilities are from calibrated.

        Examples
        --------
        >>> import numpy as np
        >>> from skfingerprint.classifiers import NearestFingerprintClassifier
        >>> rng = np.random.RandomState(0)
        >>> X = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(2, 1, (20, 2))]
        >>> y = np.repeat(["a", "b"], 20)
        >>> clf = NearestFingerprintClassifier("euclidean").fit(X, y)
        >>> X_cal = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(2, 1, (50, 2))]
        >>> clf = clf.calibrate_temperature(X_cal, np.repeat(["a", "b"], 50))
        >>> clf.temperature_calibration_
        {'method': 'held-out', 'n_bags': 100}
        """
        check_is_fitted(self, "fingerprints_")
        S = self._raw_scores(X)
        if y is None:
            raise ValueError(
                "calibrate_temperature needs the source of every held-out bag: "
                "pass y (labels in classes_)."
            )
        self._check_known(y, S.shape[0], "calibrate_temperature")
        y_idx = np.searchsorted(self.classes_, np.asarray(y))
        self._set_temperature(fit_temperature(S, y_idx), "held-out", S.shape[0])
        return self

    def calibrate_threshold(self, X, y=None):
        """Set ``threshold_`` on held-out bags of known sources (split conformal).

        ``reject_threshold="auto"`` calibrates on the training bags with
        leave-one-out fingerprints, but when the features come from an
        encoder trained on those same bags, they sit closer to their
        fingerprints than new bags will, and more than
        ``false_rejection_rate`` of new known bags are rejected.  Bags that
        neither the encoder nor this classifier saw give a guarantee:
        ``threshold_`` becomes the conformal threshold of their
        :meth:`unknown_score` (:func:`conformal_threshold`, the
        ``ceil((n + 1)(1 - false_rejection_rate))``-th smallest of the ``n``
        scores), so that a new bag of a known source, exchangeable with
        them, is rejected with probability at most
        ``false_rejection_rate``.  With fewer than
        :func:`min_calibration_bags` bags the threshold is ``inf`` (nothing
        is rejected) and a warning says so.  Fingerprints and
        ``temperature_`` are unchanged.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)
            Features of held-out bags of known sources.
        y : array-like of shape (n_bags,), default=None
            Their sources; when given, they must all be in ``classes_``
            (bags of unknown sources would inflate the threshold).

        Returns
        -------
        self : NearestFingerprintClassifier
            The classifier, with the new ``threshold_``.

        See Also
        --------
        calibrate_threshold : The same through a fitted Pipeline, from bags
            of images.
        HeldOutRejectionClassifier : Holds the calibration bags out of
            training (or cross-fits them) for you.

        Examples
        --------
        >>> import numpy as np
        >>> from skfingerprint.classifiers import NearestFingerprintClassifier
        >>> rng = np.random.RandomState(0)
        >>> X = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(10, 1, (50, 2))]
        >>> y = np.repeat(["a", "b"], 50)
        >>> clf = NearestFingerprintClassifier(
        ...     "euclidean", reject_threshold="auto", false_rejection_rate=0.1
        ... ).fit(X, y)
        >>> X_cal = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(10, 1, (100, 2))]
        >>> clf = clf.calibrate_threshold(X_cal, np.repeat(["a", "b"], 100))
        >>> X_new = np.r_[rng.normal(0, 1, (500, 2)), rng.normal(10, 1, (500, 2))]
        >>> rejected = clf.predict(X_new) == "unknown"
        >>> bool(0.05 < rejected.mean() < 0.15)
        True
        """
        check_is_fitted(self, "fingerprints_")
        self._validate_params()
        self._check_params()
        score = self.unknown_score(X)
        if score.size == 0:  # pragma: no cover - validate_data refuses 0 rows
            raise ValueError("calibrate_threshold needs at least one bag, got 0.")
        if y is not None:
            self._check_known(y, score.size, "calibrate_threshold")
        self._set_threshold(
            conformal_threshold(score, self.false_rejection_rate), "held-out", score.size)
        return self

    def _check_known(self, y, n, caller):
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(
                f"y has {y.shape[0] if y.ndim else 0} labels for {n} bags."
            )
        unseen = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unseen:
            raise ValueError(
                f"{caller} takes bags of known sources only; "
                f"{unseen!r} not in classes_ {self.classes_.tolist()!r}."
            )

    def enroll(self, X, label):
        """Add (or update) the fingerprint of one source, without refitting.

        The fingerprint of ``label`` is the mean of the rows of ``X``
        (features of bags of the new source, e.g. the output of the
        encoder's ``transform``).  A new source is inserted into
        ``classes_`` at its sorted position (``fingerprints_``,
        ``class_counts_`` and the columns of :meth:`predict_proba` follow);
        for a source already known, its fingerprint becomes the mean of its
        previous rows and the new ones (weighted by ``class_counts_``).

        ``temperature_`` and ``threshold_`` are kept as calibrated in
        ``fit``: the enrollment rows are too few for a leave-one-out
        calibration, and the calibrated values transfer to a new source
        whose bags are as spread as the known ones.  Call ``fit`` again on
        all rows to recalibrate.

        Parameters
        ----------
        X : array-like of shape (n_bags, n_features)
            Features of one or more bags of the source.
        label : str or number
            The source.  It must be of the kind of ``classes_`` (a string for
            string labels, a number for numeric ones) and, when bags are
            rejected (``reject_threshold`` not None), differ from
            ``unknown_label``.

        Returns
        -------
        self : NearestFingerprintClassifier
            The classifier, with the source enrolled.

        See Also
        --------
        enroll : The same through a fitted Pipeline, from bags of images.

        Examples
        --------
        >>> import numpy as np
        >>> from skfingerprint.classifiers import NearestFingerprintClassifier
        >>> clf = NearestFingerprintClassifier("euclidean").fit(
        ...     [[0., 0.], [0., 1.], [5., 5.], [5., 6.]], ["a", "a", "b", "b"])
        >>> clf.enroll([[10., 0.], [10., 1.]], "c").classes_.tolist()
        ['a', 'b', 'c']
        >>> clf.fingerprints_[2].tolist()
        [10.0, 0.5]
        >>> clf.predict([[9., 0.]]).tolist()
        ['c']
        """
        check_is_fitted(self, "fingerprints_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if not _is_label_scalar(label):
            raise ValueError(f"label must be a string or a number, got {label!r}.")
        if not np.isposinf(getattr(self, "threshold_", np.inf)):
            self._check_not_unknown([label], "the enrolled label")
        classes = self.classes_
        kind = label_kind(label)
        known_kinds = {label_kind(c) for c in classes.tolist()}
        if known_kinds != {kind}:
            raise ValueError(
                f"Cannot enroll label {label!r} ({kind}) next to the classes "
                f"{classes.tolist()!r}: labels must all be strings or all numbers."
            )
        counts = getattr(self, "class_counts_", None)
        if counts is None:  # pragma: no cover - fitted before class_counts_
            counts = np.ones(classes.size, dtype=np.int64)
        m = X.shape[0]
        total = X.sum(axis=0)
        match = [i for i, c in enumerate(classes.tolist()) if c == label]
        if match:
            i = match[0]
            F = self.fingerprints_.copy()
            F[i] = (F[i] * counts[i] + total) / (counts[i] + m)
            counts = counts.copy()
            counts[i] += m
            self.fingerprints_, self.class_counts_ = F, counts
            return self
        new_classes = np.append(classes, np.asarray(label))
        order = np.argsort(new_classes, kind="stable")
        self.classes_ = new_classes[order]
        self.fingerprints_ = np.vstack([self.fingerprints_, total / m])[order]
        self.class_counts_ = np.append(counts, m)[order]
        scale = getattr(self, "score_scale_", None)
        if scale is not None:  # a new source: the median spread of the known ones
            self.score_scale_ = np.append(scale, np.median(scale))[order]
        prec = getattr(self, "precisions_", None)
        if prec is not None:  # ... and their mean precision
            self.precisions_ = np.concatenate([prec, prec.mean(axis=0)[None]])[order]
        return self
