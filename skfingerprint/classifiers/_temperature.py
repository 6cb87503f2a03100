"""Temperature scaling: the one temperature that makes ``softmax(S / T)`` calibrated.

The temperature minimises the log-loss (negative log-likelihood) of the true
sources of a set of bags given their scores ``S``.  Fitted on bags that
neither the encoder nor the fingerprints saw, it gives calibrated
probabilities; fitted on the training bags, the probabilities are
overconfident.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

__all__ = ["fit_temperature"]

# log T is searched within this many units of the log of the scores' spread
_LOG_RANGE = 9.0


def fit_temperature(S, y_idx):
    """The temperature ``T`` that minimises the log-loss of ``softmax(S / T)``.

    Parameters
    ----------
    S : ndarray of shape (n_bags, n_classes)
        Scores (higher = more likely) of every bag for every source.
    y_idx : ndarray of shape (n_bags,)
        Column of each bag's true source.

    Returns
    -------
    temperature : float
        Positive and finite; 1.0 when there is nothing to fit (fewer than 2
        sources, or all scores equal).  The search is bounded: bags that are
        all far on the right side of every boundary give the smallest
        temperature searched, ``exp(-9)`` times the spread of the scores.
    """
    S = np.asarray(S, dtype=np.float64)
    y_idx = np.asarray(y_idx, dtype=np.intp)
    if S.ndim != 2 or S.shape[1] < 2 or S.shape[0] == 0:
        return 1.0
    spread = float(np.std(S))
    if not np.isfinite(spread) or spread <= 0:
        return 1.0
    rows = np.arange(len(y_idx))

    def nll(log_t):
        logp = log_softmax(S / np.exp(log_t), axis=1)
        return -float(np.mean(logp[rows, y_idx]))

    lo, hi = np.log(spread) - _LOG_RANGE, np.log(spread) + _LOG_RANGE
    res = minimize_scalar(nll, bounds=(lo, hi), method="bounded")
    return float(np.exp(res.x))
