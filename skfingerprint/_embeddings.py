"""Bag embeddings and their source labels: validation shared by the package.

``Z`` of shape (n_bags, n_features) with the source ``y`` of every bag is what
:mod:`skfingerprint.metrics`, :mod:`skfingerprint.cluster`,
:mod:`skfingerprint.classifiers` and :mod:`skfingerprint.visualization` take;
they validate it, resolve the sources and standardise rows here, so that they
all say the same thing about the same mistake.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, column_or_1d

from ._bags import check_label_values, check_source_target

__all__ = [
    "DATA_CONSTRAINTS",
    "METRIC_CONSTRAINTS",
    "SOURCES_CONSTRAINTS",
    "bags_and_fingerprints",
    "check_embeddings",
    "check_source_labels",
    "euclidean_distances",
    "resolve_labels",
    "standardize_rows",
    "validate_embeddings",
]

# Parameter constraints (``validate_params``) of functions of (Z, y, *,
# fingerprints=None, labels=None): Z and y are checked by validate_embeddings,
# with messages about bags.
DATA_CONSTRAINTS = {"Z": "no_validation", "y": "no_validation"}
SOURCES_CONSTRAINTS = {"fingerprints": ["array-like", None], "labels": ["array-like", None]}
# How a bag is compared with a fingerprint when sources are clustered or
# drawn (fingerprint_distances and the displays built on it).
METRIC_CONSTRAINTS = {"metric": [StrOptions({"correlation", "euclidean"})]}


def check_embeddings(Z, name="Z"):
    """``Z`` as a finite float64 array of shape (n_rows, n_features), or a clear error."""
    if Z is None:
        raise ValueError(
            f"{name} is None; pass an array of shape (n_bags, n_features), e.g. "
            "the output of an encoder's transform."
        )
    if not hasattr(Z, "iloc") and not sp.issparse(Z):
        try:
            arr = np.asarray(Z)
        except ValueError:
            arr = None
        if arr is None or (
            arr.dtype.kind == "O"
            and arr.ndim == 1
            and any(isinstance(v, (list, tuple, np.ndarray)) for v in arr)
        ):
            raise ValueError(
                f"{name} is ragged: its rows do not all have the same length. "
                "Every bag needs an embedding of the same n_features values."
            )
        if arr.dtype.kind == "c":
            raise ValueError(
                f"Complex data not supported: {name} has dtype {arr.dtype}; "
                "embeddings must be real numbers."
            )
        if arr.dtype.kind in ("U", "S", "O"):
            try:
                arr.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{name} must hold numbers (one embedding vector per bag), but "
                    f"it holds {'strings' if arr.dtype.kind != 'O' else 'objects'} "
                    "that are not numbers. Pass the output of an encoder's "
                    "transform, not the bags or their labels."
                ) from None
    return check_array(Z, dtype=np.float64, ensure_2d=True, input_name=name)


def check_source_labels(y, n_rows, name="y"):
    """1-D labels naming the source of each of ``n_rows`` bags."""
    if y is None:
        raise ValueError(
            f"{name} is None; give the source of every bag (one label per row of Z)."
        )
    check_label_values(np.asarray(y), name=name)
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but Z has {n_rows} rows (bags); give "
            "one label per bag."
        )
    check_source_target(y, name=name)
    return y


def validate_embeddings(Z, y):
    """Validate ``Z`` (n_bags, n_features) and ``y`` (n_bags,); return float64 Z."""
    Z = check_embeddings(Z, "Z")
    y = check_source_labels(y, Z.shape[0])
    if Z.shape[1] < 2:
        raise ValueError(
            f"Z has {Z.shape[1]} feature(s); the Pearson correlation between an "
            "embedding and a fingerprint is taken across embedding dimensions and "
            "needs at least 2 of them."
        )
    return Z, y


def resolve_labels(y, labels):
    """Return the sources (sorted unique ``y`` by default) and each bag's index."""
    if labels is None:
        classes, indices = np.unique(y, return_inverse=True)
        return classes, indices.ravel()
    classes = np.asarray(labels)
    if classes.ndim != 1 or classes.size == 0:
        raise ValueError("labels must be a non-empty 1-D array-like.")
    if np.unique(classes).size != classes.size:
        raise ValueError("labels must not contain duplicates.")
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    indices = np.array([lookup.get(label, -1) for label in y.tolist()], dtype=np.intp)
    missing = np.setdiff1d(np.arange(classes.size), indices)
    if missing.size:
        raise ValueError(
            f"labels {classes[missing].tolist()} have no bag in y; every source in "
            "labels needs at least one evaluated bag."
        )
    return classes, indices


def standardize_rows(A):
    """Center and scale each row to unit norm; flag rows that are constant.

    The one row standardisation of the package (the correlation metric of
    ``NearestFingerprintClassifier`` and the correlation matrices of
    :mod:`skfingerprint.metrics`).  A row is constant when its centred norm
    is at rounding level *relative to its own magnitude*:
    ``norm <= n_features * eps * max(|row|)``.  The rule is per row and
    scale-free, so a row's verdict does not depend on the other rows or on
    the units (``[1e10, 1e10 + 1]`` is not constant; a row
    of zeros is).  A constant row has no defined Pearson correlation; it is
    returned as zeros, so that its correlation with anything is 0.

    Returns
    -------
    standardized : ndarray of the shape of ``A``
    constant : ndarray of bool, one per row
    """
    centered = A - A.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centered, axis=1)
    scale = np.abs(A).max(axis=1)
    constant = norms <= A.shape[1] * np.finfo(np.float64).eps * scale
    out = np.zeros_like(centered)
    ok = ~constant
    out[ok] = centered[ok] / norms[ok, None]
    return out, constant


def euclidean_distances(X, F):
    """Euclidean distance of every row of ``X`` to every row of ``F``
    ``(n_rows, n_fingerprints)``: the one used to attribute
    (``NearestFingerprintClassifier("euclidean")``) and to cluster families
    (``fingerprint_distances(metric="euclidean")``)."""
    d2 = (
        np.einsum("ij,ij->i", X, X)[:, None]
        - 2.0 * X @ F.T
        + np.einsum("ij,ij->i", F, F)[None, :]
    )
    return np.sqrt(np.maximum(d2, 0.0))


def bags_and_fingerprints(Z, y, *, fingerprints=None, labels=None):
    """The bags of ``labels``' sources and the fingerprints they are compared with.

    The one preparation of
    :func:`~skfingerprint.metrics.fingerprint_correlation_matrix` and of the
    Euclidean :func:`~skfingerprint.cluster.fingerprint_distances`.

    Returns
    -------
    Z : ndarray of shape (n_kept, n_features)
        The bags of the sources in ``labels``.
    idx : ndarray of shape (n_kept,)
        Row of each bag's source in ``F``.
    F : ndarray of shape (n_sources, n_features)
        ``fingerprints``, or the class means of ``Z``.
    own : ndarray of shape (n_kept, n_features) or None
        Without given fingerprints, each bag's own-source fingerprint with
        that bag left out (None when ``fingerprints`` is given).
    """
    Z, y = validate_embeddings(Z, y)
    classes, idx = resolve_labels(y, labels)
    keep = idx >= 0
    Z, idx = Z[keep], idx[keep]
    n_sources = classes.size
    counts = np.bincount(idx, minlength=n_sources)
    if fingerprints is not None:
        F = check_embeddings(fingerprints, "fingerprints")
        if F.shape != (n_sources, Z.shape[1]):
            raise ValueError(
                f"fingerprints has shape {F.shape}; expected (n_sources, n_features) "
                f"= ({n_sources}, {Z.shape[1]}), one row per source in labels "
                "(or in np.unique(y))."
            )
        return Z, idx, F, None
    if np.any(counts < 2):
        few = classes[counts < 2].tolist()
        raise ValueError(
            f"Sources {few} have fewer than 2 bags. Without given fingerprints, "
            "each bag is compared with its source's mean over the other bags, "
            "which needs at least 2 bags per source. Use more bags per source "
            "(in cross-validation, a StratifiedKFold with enough bags per fold) "
            "or pass fingerprints estimated on other bags."
        )
    sums = np.zeros((n_sources, Z.shape[1]))
    np.add.at(sums, idx, Z)
    F = sums / counts[:, None]
    # own-source fingerprint without the evaluated bag
    own = (sums[idx] - Z) / (counts[idx] - 1)[:, None]
    return Z, idx, F, own
