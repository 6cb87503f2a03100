"""Split-conformal thresholds: a false-rejection rate guaranteed for any sample size."""

from __future__ import annotations

import contextlib
import math
import warnings
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["conformal_threshold", "min_calibration_bags"]


class InsufficientCalibrationWarning(UserWarning):
    """Too few calibration bags for a finite conformal threshold at this rate."""


@validate_params(
    {"false_rejection_rate": [Interval(Real, 0, 1, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def min_calibration_bags(false_rejection_rate):
    """Smallest number of calibration bags that gives a finite conformal threshold.

    The threshold is the ``ceil((n + 1) * (1 - false_rejection_rate))``-th
    smallest of ``n`` calibration scores, which exists when ``n >= (1 -
    false_rejection_rate) / false_rejection_rate``.

    Parameters
    ----------
    false_rejection_rate : float in (0, 1)
        The target rate.

    Returns
    -------
    n : int

    Examples
    --------
    >>> from skfingerprint.classifiers import min_calibration_bags
    >>> min_calibration_bags(0.05), min_calibration_bags(0.1)
    (19, 9)
    """
    alpha = float(false_rejection_rate)
    n = max(1, math.ceil((1.0 - alpha) / alpha - 1e-9))
    while math.ceil((n + 1) * (1.0 - alpha) - 1e-9) > n:  # rounding guard
        n += 1
    return int(n)


@validate_params(
    {
        "scores": ["array-like"],
        "false_rejection_rate": [Interval(Real, 0, 1, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def conformal_threshold(scores, false_rejection_rate=0.05):
    """Split-conformal rejection threshold on unknown scores of calibration bags.

    With ``n`` calibration scores, the threshold is the ``k``-th smallest,
    ``k = ceil((n + 1) * (1 - false_rejection_rate))``.  If the calibration
    bags and a new bag of a known source are exchangeable (drawn the same
    way, scored by the same fitted model that saw none of them), the
    probability that the new bag's score exceeds the threshold, i.e. that it
    is rejected, is at most ``false_rejection_rate``, whatever ``n`` (it is
    at least ``false_rejection_rate - 1 / (n + 1)`` without ties).

    When ``k > n`` (fewer than :func:`min_calibration_bags` scores), no
    calibration score is high enough: the threshold is ``inf`` (no bag is
    rejected, which keeps the guarantee) and an
    ``InsufficientCalibrationWarning`` (a ``UserWarning``) says how many
    bags are needed.

    Parameters
    ----------
    scores : array-like of shape (n_bags,)
        Unknown scores (higher = more unknown) of calibration bags of known
        sources.
    false_rejection_rate : float in [0, 1), default=0.05
        The target rate ``alpha``; 0 gives ``inf``.

    Returns
    -------
    threshold : float
        Bags with a score strictly above it are rejected.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.classifiers import conformal_threshold
    >>> scores = np.arange(1.0, 20.0)  # 19 calibration bags
    >>> conformal_threshold(scores, 0.05)  # k = ceil(20 * 0.95) = 19
    19.0
    >>> conformal_threshold(scores, 0.2)  # k = ceil(20 * 0.8) = 16
    16.0
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0:
        raise ValueError("scores is empty: the threshold needs at least one calibration bag.")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contains NaN or infinity; calibration scores must be finite.")
    alpha = float(false_rejection_rate)
    n = s.size
    k = math.ceil((n + 1) * (1.0 - alpha) - 1e-9)  # guard 0.95 * 20 = 19.000000000000004
    if k > n:
        if alpha > 0:
            warnings.warn(
                f"{n} calibration bag(s) are too few for a conformal threshold at "
                f"false_rejection_rate={alpha:g} (at least {_bags_needed(alpha)} "
                "needed): no bag will be rejected. "
                "Give more calibration bags (e.g. cross-fitting), or raise "
                "false_rejection_rate.",
                InsufficientCalibrationWarning,
                stacklevel=3,
            )
        return float(np.inf)
    return float(np.partition(s, k - 1)[k - 1])


def _bags_needed(alpha):
    """:func:`min_calibration_bags` in words: a number of at most 9 digits,
    else its order of magnitude."""
    approx = (1.0 - alpha) / alpha
    if approx < 1e9:
        return str(min_calibration_bags(alpha))
    return f"about {approx:.3g}" if np.isfinite(approx) else "more than 1e+308"


@contextlib.contextmanager
def last_calibration_warning(threshold):
    """At most one ``InsufficientCalibrationWarning`` for the block.

    The fits in the block may set thresholds of their own (leave-one-out on
    their training bags) that the block's calibration then replaces: their
    warnings are held back, and the last one (the calibration's) is issued
    after the block if ``threshold()`` is then infinite.  Other warnings
    pass through as usual.
    """
    held = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", InsufficientCalibrationWarning)
        show = warnings.showwarning

        def hold(message, category, *args, **kwargs):
            if issubclass(category, InsufficientCalibrationWarning):
                held.append(message)
            else:
                show(message, category, *args, **kwargs)

        warnings.showwarning = hold
        yield
    if held and np.isposinf(threshold()):
        warnings.warn(held[-1], stacklevel=4)
