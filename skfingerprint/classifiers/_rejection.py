"""Open-set rejection scores of the nearest-fingerprint classifier.

How far a bag lies from the known sources, in the forms that
``NearestFingerprintClassifier(rejection_score=...)`` offers, the per-source
statistics they are fitted with, and the sentence that says what a threshold
on them guarantees.
"""

import numpy as np
from scipy.special import softmax

__all__ = [
    "REJECTION_SCORES",
    "fit_precisions",
    "fit_score_scale",
    "guarantee_text",
    "rejection_score",
]

REJECTION_SCORES = ("distance", "relative_distance", "ratio", "mahalanobis", "proba")


def rejection_score(kind, S, D, X, *, temperature, score_scale=None, fingerprints=None,
                    precisions=None, own=None):
    """The rejection score ``kind`` of rows ``X`` (higher = more likely unknown).

    Parameters
    ----------
    kind : str
        One of :data:`REJECTION_SCORES`.
    S, D : ndarray of shape (n_rows, n_sources)
        Similarities of the rows to every fingerprint (higher = closer) and
        the distances they stand for.
    X : ndarray of shape (n_rows, n_features)
        The rows (for ``"mahalanobis"``).
    temperature : float
        Of the softmax (for ``"proba"``).
    score_scale, fingerprints, precisions : ndarray
        The fitted spread of each source (``"relative_distance"``), its
        fingerprint and precision matrix (``"mahalanobis"``).
    own : ndarray of shape (n_rows,), default=None
        The source each row is scored against; by default its nearest.
    """
    if kind == "proba":
        return 1.0 - softmax(S / temperature, axis=1).max(axis=1)
    nearest = np.argmin(D, axis=1) if own is None else own
    d1 = D[np.arange(D.shape[0]), nearest]
    if kind == "distance":
        return D.min(axis=1) if own is None else d1
    if kind == "relative_distance":
        return d1 / score_scale[nearest]
    if kind == "ratio":
        if D.shape[1] < 2:
            return d1
        D2 = D.copy()
        D2[np.arange(D.shape[0]), nearest] = np.inf
        d2 = D2.min(axis=1)
        return np.divide(d1, d2, out=np.ones_like(d1), where=d2 > 0)
    # mahalanobis
    diff = X - fingerprints[nearest]
    q = np.einsum("ij,ijk,ik->i", diff, precisions[nearest], diff)
    return np.sqrt(np.maximum(q, 0.0))


def fit_score_scale(own, y_idx, rows, n_classes):
    """Median leave-one-out distance of each source's bags to its fingerprint.

    ``own[i]``: the distance of bag ``i`` to its own source's fingerprint,
    left out of it for the bags in ``rows``.  Sources without a left-out
    distance get the median over all bags; a zero spread is raised to a
    tiny positive one, so that dividing by it is defined.
    """
    pool = own[rows] if rows.size else own
    default = float(np.median(pool)) if pool.size else 1.0
    scale = np.full(n_classes, default)
    has_loo = np.zeros(len(y_idx), dtype=bool)
    has_loo[rows] = True
    for c in range(n_classes):
        mine = own[(y_idx == c) & has_loo]
        if mine.size:
            scale[c] = float(np.median(mine))
    tiny = 1e-12 * max(1.0, float(np.max(np.abs(scale))))
    return np.where(scale > tiny, scale, max(default, tiny, 1e-300))


def fit_precisions(X, fingerprints, y_idx):
    """Per-source LedoitWolf precision; the pooled one for sources with < 3 bags."""
    from sklearn.covariance import LedoitWolf

    resid = X - fingerprints[y_idx]
    pooled = LedoitWolf(assume_centered=True).fit(resid).precision_
    n_classes = fingerprints.shape[0]
    out = np.empty((n_classes, X.shape[1], X.shape[1]))
    for c in range(n_classes):
        mine = resid[y_idx == c]
        out[c] = (LedoitWolf(assume_centered=True).fit(mine).precision_
                  if mine.shape[0] >= 3 else pooled)
    return out


def guarantee_text(clf):
    """The sentence of :meth:`NearestFingerprintClassifier.rejection_guarantee`."""
    cal = getattr(clf, "calibration_", None) or {"method": "fixed", "n_bags": 0}
    t = clf.threshold_
    method = cal["method"]
    if method == "closed set" or np.isposinf(t) and method in ("closed set", "fixed"):
        return ("Closed set: every bag is attributed to a known source; none is "
                "flagged as unknown.")
    rate = cal.get("false_rejection_rate", clf.false_rejection_rate)
    score = cal.get("rejection_score", clf.rejection_score)
    pct = f"{100 * rate:g}%"
    if method == "fixed":
        return (f"Bags whose {score} exceeds the fixed threshold {t:.6g} are flagged as "
                "unknown; no rate is guaranteed.")
    n = cal["n_bags"]
    if np.isposinf(t):
        return (f"No bag is flagged as unknown: {n} calibration bag(s) are too few for "
                f"a conformal threshold at {pct}.")
    if method == "leave-one-out":
        return (f"About {pct} of the training bags would be flagged as unknown "
                f"(threshold {t:.6g} on {score}, leave-one-out on {n} training bags); "
                "new bags of known sources are not guaranteed this rate, as the "
                "features were fitted on those bags. Calibrate on held-out bags "
                "(HeldOutRejectionClassifier) for a guarantee.")
    how = ("bags held out of training" if method == "held-out"
           else "out-of-fold bags of cross-fitted models")
    return (f"At most {pct} of bags from known sources are flagged as unknown, in "
            f"expectation (conformal threshold {t:.6g} on {score}, set on {n} {how}, "
            "for new bags drawn like them); the share of bags of unknown sources "
            "that are flagged is not guaranteed.")
