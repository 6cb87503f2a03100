"""Model fingerprints: the mean embedding of each source's bags."""

import numpy as np
from sklearn.utils._param_validation import validate_params

from .._embeddings import (
    DATA_CONSTRAINTS,
    SOURCES_CONSTRAINTS,
    resolve_labels,
    validate_embeddings,
)

__all__ = ["model_fingerprints"]


@validate_params({**DATA_CONSTRAINTS, "labels": SOURCES_CONSTRAINTS["labels"]},
                 prefer_skip_nested_validation=True)
def model_fingerprints(Z, y, *, labels=None):
    """Fingerprint of each source: the mean embedding of its bags.

    Also importable from :mod:`skfingerprint.cluster`, where it was first
    documented (the same function).

    Parameters
    ----------
    Z : array-like of shape (n_bags, n_features)
        Bag embeddings.

    y : array-like of shape (n_bags,)
        Source of each bag.

    labels : array-like of shape (n_sources,), default=None
        Sources to include, in the order of the returned rows. If None, the
        sorted unique values of ``y``. Bags of other sources are ignored.

    Returns
    -------
    classes : ndarray of shape (n_sources,)
        The sources, in the order of the rows of ``fingerprints``.

    fingerprints : ndarray of shape (n_sources, n_features)
        Mean embedding of each source.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.metrics import model_fingerprints
    >>> Z = np.array([[0., 1.], [2., 3.], [10., 10.]])
    >>> classes, F = model_fingerprints(Z, ["b", "b", "a"])
    >>> classes.tolist()
    ['a', 'b']
    >>> F
    array([[10., 10.],
           [ 1.,  2.]])
    """
    Z, y = validate_embeddings(Z, y)
    classes, idx = resolve_labels(y, labels)
    keep = idx >= 0
    counts = np.bincount(idx[keep], minlength=classes.size)
    sums = np.zeros((classes.size, Z.shape[1]))
    np.add.at(sums, idx[keep], Z[keep])
    return classes, sums / counts[:, None]
