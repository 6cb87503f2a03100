"""Probabilities and open-set rejection calibrated on bags held out from training.

Also the functions that work through a fitted Pipeline ending with a
nearest-fingerprint classifier: :func:`calibrate_threshold` and
:func:`calibrate_temperature` (on held-out bags) and :func:`enroll` (a new
source, without retraining).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import Bunch, _safe_indexing, check_random_state
from sklearn.utils.metadata_routing import (
    MetadataRouter, MethodMapping, _routing_enabled, process_routing)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_method_params, check_is_fitted, column_or_1d

from .._bags import check_label_values, check_source_target
from .._pipeline import final_step, final_step_input
from ._conformal import conformal_threshold
from ._temperature import fit_temperature

__all__ = ["HeldOutRejectionClassifier", "calibrate_temperature", "calibrate_threshold",
           "enroll"]


def _take(X, idx):
    """Rows ``idx`` of an array, a DataFrame or a list of bags."""
    if not hasattr(X, "shape") and not hasattr(X, "iloc") and not isinstance(X, (list, tuple)):
        X = np.asarray(X)
    return _safe_indexing(X, idx)


def cross_fit_folds(y, n_splits, random_state):
    """Fold number of every bag: each source's bags dealt out over ``n_splits`` folds.

    Every source keeps at least 2 training bags in every fold's complement
    and gives its bags to as many folds as it has (at most ``n_splits``); a
    clear ``ValueError`` when a source has fewer than 3 bags.
    """
    rng = check_random_state(random_state)
    folds = np.empty(len(y), dtype=np.intp)
    offset = int(rng.randint(n_splits))
    for source in np.unique(y).tolist():
        idx = rng.permutation(np.flatnonzero(y == source))
        if idx.size < 3:
            raise ValueError(
                f"Source {source!r} has {idx.size} bag(s): cross-fitting holds "
                "bags out of training and keeps at least 2 for it; give at least "
                "3 bags per source."
            )
        per_fold = -(-idx.size // n_splits)
        if idx.size - per_fold < 2:
            raise ValueError(
                f"Source {source!r} has {idx.size} bag(s): too few for "
                f"n_splits={n_splits} (each fold must leave 2 for training). "
                "Give more bags or lower n_splits."
            )
        folds[idx] = (np.arange(idx.size) + offset) % n_splits
        offset = (offset + idx.size) % n_splits
    return folds


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
    """Attribution calibrated on held-out bags: probabilities and rejection threshold.

    ``NearestFingerprintClassifier`` calibrates its temperature (and, with
    ``reject_threshold="auto"``, its threshold) on its own training bags; in
    a Pipeline the encoder trained on those bags too, so new bags of known
    sources may lie farther from their fingerprints: their probabilities can
    be overconfident, and they are rejected more often than
    ``false_rejection_rate`` (the open-set guide says how much).  This
    meta-estimator scores bags that the fitted model did not see and, on
    them,

    - fits the temperature of :meth:`~NearestFingerprintClassifier.predict_proba`
      (temperature scaling: the one that minimises their log-loss, see
      :meth:`NearestFingerprintClassifier.calibrate_temperature`), unless
      ``calibrate_proba=False``;
    - for an open set (the classifier's ``reject_threshold`` is not None),
      sets the threshold with the split-conformal rule
      (:func:`conformal_threshold`), so that bags of known sources are
      rejected at most ``false_rejection_rate`` of the time, in expectation,
      for any number of bags.

    The held-out scores come from one of two schemes:

    - ``calibration="cross_fit"`` (default): the bags of each source are
      dealt out over ``n_splits`` folds; for each fold, a clone of
      ``estimator`` is fitted on the other folds and scores the fold's bags
      (:meth:`NearestFingerprintClassifier.unknown_score` and
      :meth:`~NearestFingerprintClassifier.decision_function`); the
      temperature and the threshold are set on these out-of-fold scores of
      *every* bag, and the final ``estimator_`` is fitted on all bags (its
      predictions are those of ``estimator`` fitted alone).
      ``n_splits + 1`` fits.  With 10
      bags per source and 12 sources, 120 calibration scores, enough for a
      5% rate (at least 19 are needed, :func:`min_calibration_bags`).
    - ``calibration="split"``: ``calibration_size`` of each source's bags
      are held out, ``estimator`` is fitted on the rest, the temperature and
      the threshold are set on the held-out bags, which are then enrolled so
      that the fingerprints use every bag.  One fit, the exact
      split-conformal guarantee, but few calibration bags and an encoder
      trained on fewer bags.

    Parameters
    ----------
    estimator : estimator
        A Pipeline ending with a :class:`NearestFingerprintClassifier`, or
        such a classifier alone (then ``X`` holds features).  With its
        ``reject_threshold`` not None (e.g. ``"auto"``), its
        ``false_rejection_rate`` is the rate the threshold is set for and its
        ``rejection_score`` the score thresholded; with
        ``reject_threshold=None`` (a closed set), only the probabilities are
        calibrated.
    calibration : {"cross_fit", "split"}, default="cross_fit"
        How calibration scores are obtained (see above).
    n_splits : int, default=5
        Folds of ``calibration="cross_fit"``, at least 2.  Every source needs
        enough bags to leave 2 for training in each fold.
    calibration_size : float, default=0.2
        For ``calibration="split"``: share of each source's bags held out to
        calibrate the threshold, in (0, 1).  Every source needs at least 1
        calibration and 2 training bags.
    random_state : int, RandomState instance or None, default=None
        Draws the held-out bags (or folds).
    calibrate_proba : bool, default=True
        Fit the final classifier's ``temperature_`` on the held-out scores
        (temperature scaling).  False keeps the classifier's own
        ``temperature`` (leave-one-out on its training bags, or fixed); it
        then needs an open-set classifier, as there is nothing else to
        calibrate.

    Attributes
    ----------
    estimator_ : estimator
        The fitted ``estimator``, with the calibrated threshold; it predicts
        alone (and can be saved alone).
    classes_ : ndarray of shape (n_classes,)
        The known sources.
    threshold_ : float
        The calibrated threshold on ``unknown_score`` (``inf``, with a
        warning, when there are too few calibration bags for the rate;
        ``inf`` for a closed set).
    temperature_ : float
        The final classifier's temperature: fitted on the held-out scores
        with ``calibrate_proba=True`` (its ``temperature_calibration_`` says
        ``"held-out"`` or ``"cross-fitted"``).
    calibration_indices_ : ndarray of int
        The bags of ``X`` that gave calibration scores (all of them with
        cross-fitting).
    calibration_scores_ : ndarray of shape (n_calibration,)
        Their unknown scores (out-of-fold with cross-fitting), in the order
        of ``calibration_indices_``.
    n_features_in_ : int
        Only when ``estimator`` defines it (e.g. a classifier of features).

    See Also
    --------
    NearestFingerprintClassifier.calibrate_threshold : The calibration step.
    NearestFingerprintClassifier.calibrate_temperature : The temperature
        scaling step.
    conformal_threshold : The split-conformal rule.
    sklearn.calibration.CalibratedClassifierCV : Calibration of any
        classifier's probabilities by cross-validation.

    Notes
    -----
    What is guaranteed: if the bags given to ``fit`` and a new bag of a
    known source are exchangeable (drawn the same way from the same
    sources), the new bag is rejected with probability at most
    ``false_rejection_rate`` (averaged over the draw of the calibration
    bags).  With ``"split"`` this is exact (the enrolled calibration bags
    only move fingerprints closer to new bags).  With ``"cross_fit"`` the
    calibration scores come from models fitted on ``(n_splits - 1) /
    n_splits`` of the bags, and the final model on all of them, whose new
    bags lie at least as close to their fingerprints: the guarantee holds
    if adding bags does not make the scores larger.  Not guaranteed: the
    share of bags of *unknown* sources that are flagged, bags drawn
    differently (other image sizes, other post-processing), and the rate
    for one particular source (the rate is over all known bags).

    The temperature is one number fitted by maximum likelihood on the
    held-out bags: the probabilities are calibrated on average over bags
    drawn like them (of the same size, from the same sources), not for
    each source, and a source enrolled later inherits it.

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
    >>> print(clf.rejection_guarantee())  # doctest: +ELLIPSIS
    At most 5% of bags from known sources are flagged as unknown, in expectation ...
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "calibration": [StrOptions({"cross_fit", "split"})],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "calibrate_proba": ["boolean"],
    }

    def __init__(self, estimator, *, calibration="cross_fit", n_splits=5,
                 calibration_size=0.2, random_state=None, calibrate_proba=True):
        self.estimator = estimator
        self.calibration = calibration
        self.n_splits = n_splits
        self.calibration_size = calibration_size
        self.random_state = random_state
        self.calibrate_proba = calibrate_proba

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit, and calibrate on scores of bags the scoring model did not see.

        Parameters
        ----------
        X : array-like
            Bags (or features), in the input format of ``estimator``.
        y : array-like of shape (n_bags,)
            Source of each bag.
        **fit_params : dict
            Passed to ``estimator.fit`` on every model it fits (the fold
            models and the final one), per-bag arrays restricted to that
            model's training bags: e.g. ``fp__groups=groups`` for a Pipeline
            whose step ``fp`` is a
            :class:`~skfingerprint.SetFingerprintEncoder`.  With scikit-learn's
            metadata routing enabled, only the metadata that ``estimator``
            requests (``set_fit_request(groups=True)``) is routed.

        Returns
        -------
        self : HeldOutRejectionClassifier
        """
        final = final_step(self.estimator)
        if not all(hasattr(final, m) for m in (
                "calibrate_threshold", "calibrate_temperature", "enroll")):
            raise TypeError(
                f"{type(final).__name__} cannot calibrate a rejection threshold "
                "or a temperature; end the estimator with a "
                "NearestFingerprintClassifier."
            )
        if getattr(final, "reject_threshold", None) is None and not self.calibrate_proba:
            raise ValueError(
                "Nothing to calibrate: the final NearestFingerprintClassifier has "
                "reject_threshold=None (a closed set) and calibrate_proba=False. "
                "Set reject_threshold='auto' to reject unknown sources, or "
                "calibrate_proba=True to calibrate the probabilities."
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
        if _routing_enabled():
            params = process_routing(self, "fit", **fit_params).estimator.fit
        else:
            params = Bunch(**fit_params)
        from ._conformal import last_calibration_warning

        # one warning of too few calibration bags, not one per fit of a fold
        with last_calibration_warning(lambda: final_step(self.estimator_).threshold_):
            if self.calibration == "split":
                self._fit_split(X, y, params)
            else:
                self._fit_cross(X, y, params)
        final = final_step(self.estimator_)
        self.classes_ = final.classes_
        self.threshold_ = final.threshold_
        self.temperature_ = final.temperature_
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _fit_split(self, X, y, params):
        train, cal = calibration_split(y, self.calibration_size, self.random_state)
        self.estimator_ = clone(self.estimator).fit(
            _take(X, train), y[train], **_check_method_params(X, params, train))
        final = final_step(self.estimator_)
        Z = np.asarray(final_step_input(self.estimator_, _take(X, cal)))
        if self.calibrate_proba:  # first: the "proba" rejection score uses it
            final.calibrate_temperature(Z, y[cal])
        if final.reject_threshold is not None:
            final.calibrate_threshold(Z, y[cal])
        self.calibration_scores_ = final.unknown_score(Z)
        for source in np.unique(y[cal]):
            final.enroll(Z[y[cal] == source], source)
        self.calibration_indices_ = cal

    def _fit_cross(self, X, y, params):
        folds = cross_fit_folds(y, self.n_splits, self.random_state)
        fold_models, S = [], None
        for k in np.unique(folds):
            held = np.flatnonzero(folds == k)
            train = np.flatnonzero(folds != k)
            model = clone(self.estimator).fit(_take(X, train), _take(y, train),
                                              **_check_method_params(X, params, train))
            last = final_step(model)
            Z = np.asarray(final_step_input(model, _take(X, held)))
            # every source trains every fold model: the columns follow np.unique(y)
            S_held = last._raw_scores(Z)
            if S is None:
                S = np.empty((len(y), S_held.shape[1]))
            S[held] = S_held
            fold_models.append((held, last, S_held, np.asarray(Z, dtype=np.float64)))
        temperature = None
        if self.calibrate_proba:  # first: the "proba" rejection score uses it
            temperature = fit_temperature(S, np.searchsorted(np.unique(y), y))
        scores = np.empty(len(y))
        for held, last, S_held, Z in fold_models:
            if temperature is not None:
                last._set_temperature(temperature, "cross-fitted", len(y))
            scores[held] = last._unknown_score_from(S_held, Z)  # the scores once
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        final = final_step(self.estimator_)
        if temperature is not None:
            final._set_temperature(temperature, "cross-fitted", len(y))
        if final.reject_threshold is not None:
            final._set_threshold(conformal_threshold(scores, final.false_rejection_rate),
                                 "cross-fitted", scores.size)
        self.calibration_indices_ = np.arange(len(y))
        self.calibration_scores_ = scores

    def get_metadata_routing(self):
        """How ``fit`` routes metadata to ``estimator`` (scikit-learn metadata routing).

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        return MetadataRouter(owner=self).add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def predict(self, X):
        """Known source of each bag, or the classifier's ``unknown_label``."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        """Probabilities of the known sources (see the final classifier)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def unknown_score(self, X):
        """The final classifier's unknown score of each bag (higher = unknown)."""
        check_is_fitted(self, "estimator_")
        return final_step(self.estimator_).unknown_score(final_step_input(self.estimator_, X))

    def rejection_guarantee(self):
        """What the threshold guarantees, in words (see
        :meth:`NearestFingerprintClassifier.rejection_guarantee`).

        Returns
        -------
        text : str
        """
        check_is_fitted(self, "estimator_")
        return final_step(self.estimator_).rejection_guarantee()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        return tags


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

    final = final_step(estimator)
    if not hasattr(final, "enroll"):
        if isinstance(estimator, Pipeline):
            raise TypeError(
                f"The last step of the Pipeline ({type(final).__name__}) has no "
                "enroll method; end the Pipeline with a "
                "NearestFingerprintClassifier to enroll new sources."
            )
        raise TypeError(
            f"{type(estimator).__name__} has no enroll method; pass a fitted "
            "NearestFingerprintClassifier or a Pipeline ending with one."
        )
    final.enroll(final_step_input(estimator, X), label)
    return estimator


def calibrate_temperature(estimator, X, y):
    """Calibrate the probabilities of a fitted Pipeline on held-out bags.

    The bags ``X`` (of known sources, seen neither by the encoder nor by the
    classifier) go through every step of the Pipeline but the last, and the
    last step's :meth:`NearestFingerprintClassifier.calibrate_temperature`
    fits its ``temperature_`` on them (temperature scaling), so that its
    ``predict_proba`` is calibrated on bags drawn like them.

    Parameters
    ----------
    estimator, X
        As in :func:`calibrate_threshold`: a fitted Pipeline ending with a
        NearestFingerprintClassifier (or the classifier itself), and held-out
        bags of known sources in its input format.
    y : array-like of shape (n_bags,)
        Their sources.

    Returns
    -------
    estimator : Pipeline or NearestFingerprintClassifier
        The same object, its temperature recalibrated.

    Examples
    --------
    With the encoder's fingerprints the Pipeline is ``encoder ->
    classifier``; here the features are given directly:

    >>> import numpy as np
    >>> from skfingerprint.classifiers import (
    ...     NearestFingerprintClassifier, calibrate_temperature)
    >>> rng = np.random.RandomState(0)
    >>> Z = np.r_[rng.normal(0, 1, (40, 2)), rng.normal(2, 1, (40, 2))]
    >>> sources = np.repeat(["a", "b"], 40)
    >>> clf = NearestFingerprintClassifier("euclidean").fit(Z[::2], sources[::2])
    >>> clf = calibrate_temperature(clf, Z[1::2], sources[1::2])
    >>> clf.temperature_calibration_["method"]
    'held-out'
    """
    final = final_step(estimator)
    if not hasattr(final, "calibrate_temperature"):
        raise TypeError(
            f"{type(final).__name__} has no calibrate_temperature method; end the "
            "Pipeline with a NearestFingerprintClassifier."
        )
    final.calibrate_temperature(final_step_input(estimator, X), y)
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
    final = final_step(estimator)
    if not hasattr(final, "calibrate_threshold"):
        raise TypeError(
            f"{type(final).__name__} has no calibrate_threshold method; end the "
            "Pipeline with a NearestFingerprintClassifier."
        )
    final.calibrate_threshold(final_step_input(estimator, X), y)
    return estimator
