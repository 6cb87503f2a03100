"""Top-label reliability diagram: accuracy against confidence of the top label."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ..metrics import expected_calibration_error, top_label_calibration_curve
from ._base import AX_CONSTRAINT, KW_CONSTRAINT, _forward, _get_ax


class ReliabilityDisplay:
    """Top-label reliability diagram: accuracy against confidence, in bins.

    The multiclass counterpart of scikit-learn's
    :class:`~sklearn.calibration.CalibrationDisplay`: every bag's confidence
    is its largest predicted probability, and the accuracy of the bags of
    each confidence bin is drawn against their mean confidence.  Calibrated
    probabilities lie on the diagonal; points below it are overconfident.
    Create it with :meth:`from_estimator` or :meth:`from_predictions`; all
    parameters are stored as attributes.

    Parameters
    ----------
    accuracy, confidence, counts : ndarray of shape (n_nonempty_bins,)
        What :func:`~skfingerprint.metrics.top_label_calibration_curve`
        returns: the share of correct top labels, the mean top probability
        and the number of samples of each non-empty bin.

    ece : float, default=None
        The expected calibration error, shown in the legend if given.

    estimator_name : str, default=None
        Name of the estimator, shown in the legend if given.

    Attributes
    ----------
    line_ : matplotlib Line2D
        Accuracy against confidence.

    ax_ : matplotlib Axes

    figure_ : matplotlib Figure

    See Also
    --------
    skfingerprint.metrics.top_label_calibration_curve : The points drawn.
    skfingerprint.metrics.expected_calibration_error : Their weighted gap to
        the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.classifiers import NearestFingerprintClassifier
    >>> from skfingerprint.visualization import ReliabilityDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat(["a", "b", "c"], 40)
    >>> X = rng.normal(size=(3, 5))[np.searchsorted(["a", "b", "c"], y)]
    >>> X = X + rng.normal(size=(120, 5))
    >>> clf = NearestFingerprintClassifier("euclidean").fit(X[::2], y[::2])
    >>> disp = ReliabilityDisplay.from_estimator(clf, X[1::2], y[1::2], n_bins=5)
    >>> int(disp.counts.sum())
    60
    """

    def __init__(self, accuracy, confidence, counts, *, ece=None, estimator_name=None):
        self.accuracy = accuracy
        self.confidence = confidence
        self.counts = counts
        self.ece = ece
        self.estimator_name = estimator_name

    @validate_params(
        {
            "name": [None, str],
            "ref_line": ["boolean"],
            "ax": AX_CONSTRAINT,
            "line_kw": KW_CONSTRAINT,
        },
        prefer_skip_nested_validation=True,
    )
    def plot(self, *, name=None, ref_line=True, ax=None, line_kw=None):
        """Draw the reliability diagram.

        Parameters
        ----------
        name : str, default=None
            Legend entry of the curve; ``estimator_name`` if None.  The ECE
            is appended when known.

        ref_line : bool, default=True
            Draw the diagonal of perfectly calibrated probabilities.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes if None.

        line_kw : dict, default=None
            Extra keywords for ``ax.plot``.

        Returns
        -------
        display : ReliabilityDisplay
        """
        fig, ax = _get_ax(ax, f"{type(self).__name__}.plot")
        accuracy = np.asarray(self.accuracy, dtype=float)
        confidence = np.asarray(self.confidence, dtype=float)
        if accuracy.shape != confidence.shape or accuracy.ndim != 1:
            raise ValueError(
                "accuracy and confidence must be 1-D arrays of the same length "
                f"(one value per non-empty bin); got shapes {accuracy.shape} and "
                f"{confidence.shape}."
            )
        name = self.estimator_name if name is None else name
        label = name
        if self.ece is not None:
            ece = f"ECE {float(self.ece):.3f}"
            label = ece if label is None else f"{label} ({ece})"
        if ref_line:
            ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1,
                    label="Perfectly calibrated")
        kw = {"marker": "s"}
        if label is not None:
            kw["label"] = label
        kw.update(line_kw or {})
        (self.line_,) = ax.plot(confidence, accuracy, **kw)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Confidence (mean top probability)")
        ax.set_ylabel("Accuracy of the top label")
        if label is not None or ref_line:
            ax.legend(loc="upper left", fontsize="small")
        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    @validate_params(
        {
            "y_true": ["array-like"],
            "proba": ["array-like"],
            "n_bins": [Interval(Integral, 1, None, closed="left")],
            "labels": [None, "array-like"],
        },
        prefer_skip_nested_validation=False,  # plot's options are checked by plot
    )
    def from_predictions(cls, y_true, proba, *, n_bins=10, labels=None, name=None,
                         ref_line=True, ax=None, line_kw=None):
        """Reliability diagram of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.

        proba : array-like of shape (n_samples, n_classes)
            Predicted probabilities, e.g. the output of ``predict_proba``.

        n_bins : int, default=10
            Number of equal-width confidence bins in [0, 1].

        labels : array-like of shape (n_classes,), default=None
            The label of each column of ``proba`` (e.g. ``classes_``); None:
            the sorted distinct labels of ``y_true``.

        name, ref_line, ax, line_kw
            See :meth:`plot`.

        Returns
        -------
        display : ReliabilityDisplay
        """
        arguments = locals()
        accuracy, confidence, counts = top_label_calibration_curve(
            y_true, proba, n_bins=n_bins, labels=labels)
        ece = expected_calibration_error(y_true, proba, n_bins=n_bins, labels=labels)
        disp = cls(accuracy, confidence, counts, ece=ece, estimator_name=name)
        return disp.plot(**_forward(disp.plot, arguments))

    @classmethod
    @validate_params(
        {
            "estimator": [HasMethods(["predict_proba"])],
            "X": ["array-like", list],
            "y": ["array-like"],
        },
        prefer_skip_nested_validation=False,
    )
    def from_estimator(cls, estimator, X, y, *, n_bins=10, name=None, ref_line=True,
                       ax=None, line_kw=None):
        """Reliability diagram of a fitted classifier's ``predict_proba`` on ``X``.

        Parameters
        ----------
        estimator : estimator
            A fitted classifier (or Pipeline) with ``predict_proba`` and
            ``classes_``.

        X : array-like
            Bags (or features) that the classifier did not train on, in its
            input format.

        y : array-like of shape (n_samples,)
            Their true sources.

        n_bins : int, default=10
            Number of equal-width confidence bins in [0, 1].

        name : str, default=None
            Legend entry; the estimator's class name if None.

        ref_line, ax, line_kw
            See :meth:`plot`.

        Returns
        -------
        display : ReliabilityDisplay
        """
        proba = estimator.predict_proba(X)
        if name is None:
            name = type(estimator).__name__
        return cls.from_predictions(
            y, proba, n_bins=n_bins, labels=getattr(estimator, "classes_", None),
            name=name, ref_line=ref_line, ax=ax, line_kw=line_kw)
