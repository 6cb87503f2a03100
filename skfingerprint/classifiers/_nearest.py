"""NearestFingerprintClassifier: attribute a bag to the closest source fingerprint.

Open-set attribution (rejecting bags of sources never seen in ``fit``) and
enrollment of new sources without retraining live here too.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._bags import check_label_values

__all__ = ["NearestFingerprintClassifier", "calibrate_threshold", "enroll"]

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


def _distance_to_nearest(S, metric):
    """Distance of each row to its nearest fingerprint, from the scores ``S``.

    ``1 - correlation`` (in [0, 2]) or the Euclidean distance.
    """
    best = S.max(axis=1)
    return 1.0 - best if metric == "correlation" else -best


def _is_label_scalar(value):
    return (
        isinstance(value, (str, numbers.Number, np.generic))
        and not isinstance(value, (bool, np.bool_))
        and np.ndim(value) == 0
    )


def _label_kind(value):
    """"str", "number" or "other", for the compatibility of labels."""
    if isinstance(value, (str, np.str_, bytes, np.bytes_)):
        return "str"
    if isinstance(value, (numbers.Number, np.number)):
        return "number"
    return "other"


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
        left out of its own source's mean, so the probabilities are not
        overconfident on the training data); the result is ``temperature_``.
        A number fixes it; scores are correlations in [-1, 1] or distances in
        feature units, so a fixed ``T`` depends on the metric and the scale
        of the features.  ``T`` changes the probabilities, never the
        predictions.
    reject_threshold : None, float or "auto", default=None
        Open-set rejection.  ``None``: closed set, every bag is attributed
        to a known source.  A number: the largest accepted distance to the
        nearest fingerprint (see :meth:`unknown_score`: ``1 - correlation``
        for ``metric="correlation"``, the Euclidean distance for
        ``"euclidean"``); bags farther than that are predicted
        ``unknown_label``.  ``"auto"``: the threshold is calibrated in
        ``fit`` so that about ``false_rejection_rate`` of the training bags
        would be rejected, each training bag being scored against
        leave-one-out fingerprints (its own source's mean without it, as for
        ``temperature="auto"``), so the threshold is not fitted to bags the
        fingerprints have already seen.  The threshold used is
        ``threshold_``.
    false_rejection_rate : float, default=0.05
        For ``reject_threshold="auto"``: the fraction of known (training)
        bags that the calibrated threshold rejects, in [0, 1).  Lower values
        reject fewer bags of known sources and miss more unknown ones.
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
    threshold_ : float
        Bags whose :meth:`unknown_score` exceeds it are predicted
        ``unknown_label``; ``inf`` for a closed set
        (``reject_threshold=None``).
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

    The threshold is one for all sources.  Bags of a source that are more
    spread around its fingerprint than those of the others (or, with the
    correlation, whose fingerprint has less contrast) are rejected more
    often than ``false_rejection_rate``, and so are bags of a source
    enrolled from few bags: the mean of a few bags is a noisier fingerprint
    (enrolling as many bags as there were training bags per source restores
    the calibrated rate).

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

    def __init__(
        self,
        metric="correlation",
        *,
        temperature="auto",
        reject_threshold=None,
        false_rejection_rate=0.05,
        unknown_label="unknown",
    ):
        self.metric = metric
        self.temperature = temperature
        self.reject_threshold = reject_threshold
        self.false_rejection_rate = false_rejection_rate
        self.unknown_label = unknown_label

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
        r = self.reject_threshold
        if r is not None and not (isinstance(r, str) and r == "auto") and (
            isinstance(r, (bool, str))
            or not isinstance(r, numbers.Real)
            or np.isnan(r)
        ):
            raise ValueError(
                f"reject_threshold must be None, 'auto' or a number (the largest "
                f"accepted distance to the nearest fingerprint), got {r!r}."
            )
        f = self.false_rejection_rate
        if (
            isinstance(f, bool)
            or not isinstance(f, numbers.Real)
            or not (0 <= f < 1)
        ):
            raise ValueError(
                f"false_rejection_rate must be a number in [0, 1), got {f!r}."
            )
        if not _is_label_scalar(self.unknown_label) or (
            isinstance(self.unknown_label, numbers.Real)
            and not isinstance(self.unknown_label, numbers.Integral)
            and np.isnan(self.unknown_label)
        ):
            raise ValueError(
                "unknown_label must be a string or a number (not NaN), got "
                f"{self.unknown_label!r}."
            )

    def _check_not_unknown(self, labels, what):
        unknown = self.unknown_label
        if _label_kind(unknown) == "other":  # pragma: no cover - validated
            return
        for c in np.asarray(labels, dtype=object).reshape(-1).tolist():
            if _label_kind(c) == _label_kind(unknown) and c == unknown:
                raise ValueError(
                    f"unknown_label={unknown!r} is also {what}; the answer for "
                    "rejected bags must differ from every source. Choose another "
                    "unknown_label."
                )

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
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if self.reject_threshold is not None:
            self._check_not_unknown(self.classes_, "a training label")
        n_classes = self.classes_.size
        counts = np.bincount(y_idx, minlength=n_classes)
        sums = np.zeros((n_classes, X.shape[1]))
        np.add.at(sums, y_idx, X)
        self.fingerprints_ = sums / counts[:, None]
        self.class_counts_ = counts
        loo = None
        if self.temperature == "auto" or self.reject_threshold == "auto":
            loo = self._loo_scores(X, y_idx, sums, counts.astype(np.float64))
        if self.temperature == "auto":
            self.temperature_ = self._fit_temperature(loo[0], y_idx)
        else:
            self.temperature_ = float(self.temperature)
        if self.reject_threshold is None:
            self.threshold_ = float(np.inf)
        elif self.reject_threshold == "auto":
            self.threshold_ = self._calibrate_threshold(*loo)
        else:
            self.threshold_ = float(self.reject_threshold)
        return self

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
                own = np.sum(_standardize_rows(X[rows]) * _standardize_rows(loo), axis=1)
            else:
                own = -np.linalg.norm(X[rows] - loo, axis=1)
            S[rows, c] = own
        return S, rows

    def _fit_temperature(self, S, y_idx):
        if self.classes_.size < 2:
            return 1.0
        spread = float(np.std(S))
        if not np.isfinite(spread) or spread <= 0:
            return 1.0

        def nll(log_t):
            logp = log_softmax(S / np.exp(log_t), axis=1)
            return -float(np.mean(logp[np.arange(len(y_idx)), y_idx]))

        lo, hi = np.log(spread) - 9.0, np.log(spread) + 9.0
        res = minimize_scalar(nll, bounds=(lo, hi), method="bounded")
        return float(np.exp(res.x))

    def _calibrate_threshold(self, S, rows):
        if rows.size == 0:
            raise ValueError(
                "reject_threshold='auto' calibrates on leave-one-out fingerprints "
                "and needs at least 2 training bags of one source; every source "
                "has one sample (a single bag). Give more bags per source or a "
                "numeric reject_threshold."
            )
        # bags of single-bag sources have no left-out score: not used
        d = _distance_to_nearest(S[rows], self.metric)
        return float(np.quantile(d, 1.0 - float(self.false_rejection_rate)))

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

    def unknown_score(self, X):
        """How likely each bag comes from an unknown source (higher = more).

        The distance of the bag to its nearest fingerprint: ``1 -
        correlation`` (in [0, 2]) for ``metric="correlation"``, the
        Euclidean distance for ``"euclidean"``.  :meth:`predict` answers
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
        return _distance_to_nearest(self._raw_scores(X), self.metric)

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
        S = self._raw_scores(X)
        pred = self.classes_[np.argmax(S, axis=1)]
        threshold = getattr(self, "threshold_", np.inf)
        if np.isposinf(threshold):
            return pred
        pred = pred.astype(self._output_dtype())
        pred[_distance_to_nearest(S, self.metric) > threshold] = self.unknown_label
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

    def calibrate_threshold(self, X, y=None):
        """Recalibrate ``threshold_`` on held-out bags of known sources.

        ``reject_threshold="auto"`` calibrates on the training bags with
        leave-one-out fingerprints, but when the features come from an
        encoder trained on those same bags, they sit closer to their
        fingerprints than new bags will, and more than
        ``false_rejection_rate`` of new known bags are rejected.  Bags that
        neither the encoder nor this classifier saw give the calibrated
        rate: ``threshold_`` becomes the ``1 - false_rejection_rate``
        quantile of their :meth:`unknown_score`.  Fingerprints and
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
        >>> rejected = clf.predict(X_cal) == "unknown"
        >>> bool(0.05 < rejected.mean() < 0.15)
        True
        """
        check_is_fitted(self, "fingerprints_")
        self._check_params()
        score = self.unknown_score(X)
        if score.size == 0:
            raise ValueError("calibrate_threshold needs at least one bag, got 0.")
        if y is not None:
            y = np.asarray(y)
            if y.shape != score.shape:
                raise ValueError(
                    f"y has {y.shape[0] if y.ndim else 0} labels for {score.size} bags."
                )
            unseen = sorted(set(y.tolist()) - set(self.classes_.tolist()))
            if unseen:
                raise ValueError(
                    f"calibrate_threshold takes bags of known sources only; "
                    f"{unseen!r} not in classes_ {self.classes_.tolist()!r}."
                )
        self.threshold_ = float(
            np.quantile(score, 1.0 - float(self.false_rejection_rate))
        )
        return self

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
        kind = _label_kind(label)
        known_kinds = {_label_kind(c) for c in classes.tolist()}
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
        return self


def enroll(estimator, X, label):
    """Enroll a new source in a fitted Pipeline (or classifier), without refitting.

    The bags ``X`` go through every step of the Pipeline but the last (e.g.
    a fitted :class:`~skfingerprint.SetFingerprintEncoder`), and the last
    step's ``enroll`` method (e.g.
    :meth:`NearestFingerprintClassifier.enroll`) adds the mean of the
    resulting rows as the fingerprint of ``label``.  Nothing is retrained:
    the encoder has never seen the new source and embeds it with what it
    learnt from the others.

    Parameters
    ----------
    estimator : Pipeline or NearestFingerprintClassifier
        A fitted Pipeline whose last step has an ``enroll(X, label)`` method,
        or such an estimator itself (then ``X`` holds its features).
    X : array-like
        Bags of the new source, in the input format of the Pipeline (e.g.
        an array of shape ``(n_bags, bag_size, H, W, C)``).
    label : str or number
        The new source (or a known one, whose fingerprint is then updated).

    Returns
    -------
    estimator : Pipeline or NearestFingerprintClassifier
        The same object, with the source enrolled.

    Raises
    ------
    TypeError
        If the (last step of the) estimator has no ``enroll`` method.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfingerprint.classifiers import NearestFingerprintClassifier, enroll
    >>> X = np.array([[0., 0.], [0., 1.], [5., 5.], [5., 6.]])
    >>> pipe = make_pipeline(StandardScaler(), NearestFingerprintClassifier("euclidean"))
    >>> pipe = pipe.fit(X, ["a", "a", "b", "b"])
    >>> enroll(pipe, [[10., 0.], [10., 1.]], "c")[-1].classes_.tolist()
    ['a', 'b', 'c']
    >>> pipe.predict([[9., 0.]]).tolist()
    ['c']
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        final = estimator.steps[-1][1]
        if not hasattr(final, "enroll"):
            raise TypeError(
                f"The last step of the Pipeline ({type(final).__name__}) has no "
                "enroll method; end the Pipeline with a "
                "NearestFingerprintClassifier to enroll new sources."
            )
        Z = estimator[:-1].transform(X) if len(estimator.steps) > 1 else X
        final.enroll(Z, label)
        return estimator
    if not hasattr(estimator, "enroll"):
        raise TypeError(
            f"{type(estimator).__name__} has no enroll method; pass a fitted "
            "NearestFingerprintClassifier or a Pipeline ending with one."
        )
    estimator.enroll(X, label)
    return estimator


def calibrate_threshold(estimator, X, y=None):
    """Recalibrate the rejection threshold of a fitted Pipeline on held-out bags.

    The bags ``X`` (of known sources, seen neither by the encoder nor by the
    classifier) go through every step of the Pipeline but the last, and the
    last step's :meth:`NearestFingerprintClassifier.calibrate_threshold`
    sets its ``threshold_`` so that about ``false_rejection_rate`` of such
    bags are rejected as unknown.

    Parameters
    ----------
    estimator : Pipeline or NearestFingerprintClassifier
        A fitted Pipeline ending with a NearestFingerprintClassifier, or the
        classifier itself (then ``X`` holds its features).
    X : array-like
        Held-out bags of known sources, in the input format of the Pipeline.
    y : array-like of shape (n_bags,), default=None
        Their sources, checked to be known.

    Returns
    -------
    estimator : Pipeline or NearestFingerprintClassifier
        The same object, recalibrated.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfingerprint.classifiers import (
    ...     NearestFingerprintClassifier, calibrate_threshold)
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (40, 2)), rng.normal(8, 1, (40, 2))]
    >>> y = np.repeat(["a", "b"], 40)
    >>> pipe = make_pipeline(StandardScaler(), NearestFingerprintClassifier(
    ...     "euclidean", reject_threshold="auto")).fit(X, y)
    >>> pipe = calibrate_threshold(pipe, X[::2] + 0.1, y[::2])
    >>> bool(np.isfinite(pipe[-1].threshold_))
    True
    """
    from sklearn.pipeline import Pipeline

    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if not hasattr(final, "calibrate_threshold"):
        raise TypeError(
            f"{type(final).__name__} has no calibrate_threshold method; end the "
            "Pipeline with a NearestFingerprintClassifier."
        )
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        X = estimator[:-1].transform(X)
    final.calibrate_threshold(X, y)
    return estimator
