"""Distances between model fingerprints, and families of sources (Sec. 4.2)."""

import numbers

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.utils._param_validation import Interval, validate_params

from .._embeddings import (
    DATA_CONSTRAINTS,
    METRIC_CONSTRAINTS,
    SOURCES_CONSTRAINTS,
    bags_and_fingerprints,
    euclidean_distances,
    resolve_labels,
    validate_embeddings,
)
from ..metrics import fingerprint_correlation_matrix


def _euclidean_distances(Z, y, fingerprints, labels):
    """Mean Euclidean distance of each source's bags to each fingerprint, symmetrised."""
    Z, idx, F, own = bags_and_fingerprints(Z, y, fingerprints=fingerprints, labels=labels)
    dist = euclidean_distances(Z, F)  # (n_bags, n_sources)
    if own is not None:
        dist[np.arange(Z.shape[0]), idx] = np.linalg.norm(Z - own, axis=1)
    n_sources = F.shape[0]
    M = np.zeros((n_sources, n_sources))
    np.add.at(M, idx, dist)
    M /= np.bincount(idx, minlength=n_sources)[:, None]
    D = (M + M.T) / 2.0
    np.fill_diagonal(D, 0.0)
    return D


@validate_params({**DATA_CONSTRAINTS, **SOURCES_CONSTRAINTS, **METRIC_CONSTRAINTS},
                 prefer_skip_nested_validation=True)
def fingerprint_distances(Z, y, *, fingerprints=None, labels=None, metric="correlation"):
    """Distances between sources from how their bags lie to their fingerprints.

    With ``metric="correlation"`` (the paper's), ``D = 1 - (rho + rho.T) / 2``
    with a zero diagonal, where ``rho`` is
    :func:`~skfingerprint.metrics.fingerprint_correlation_matrix`: two sources
    are close when the bags of each correlate with the other's fingerprint;
    ``D`` has values in [0, 1].  With ``metric="euclidean"`` (the distance
    :class:`~skfingerprint.SetFingerprintEncoder` is trained on; which of the
    two finds families better depends on the space, so try both),
    ``D = (M + M.T) / 2``
    with a zero diagonal, where ``M[i, j]`` is the mean Euclidean distance of
    the bags of source ``i`` to the fingerprint of source ``j`` (own source:
    left out as for the correlation).  Either ``D`` is exactly symmetric and
    ready for
    ``AgglomerativeClustering(metric="precomputed", linkage="average")`` and,
    through :func:`scipy.spatial.distance.squareform`, for
    :func:`scipy.cluster.hierarchy.linkage`.

    Parameters
    ----------
    Z : array-like of shape (n_bags, n_features)
        Bag embeddings, ``n_features >= 2``.

    y : array-like of shape (n_bags,)
        Source of each bag.

    fingerprints : array-like of shape (n_sources, n_features), default=None
        As in :func:`~skfingerprint.metrics.fingerprint_correlation_matrix`;
        by default the class means of ``Z`` (leave-one-out for a bag's own
        source, which needs at least 2 bags per source).

    labels : array-like of shape (n_sources,), default=None
        Sources, in the order of the rows and columns of ``D``; by default the
        sorted unique values of ``y``.

    metric : {"correlation", "euclidean"}, default="correlation"
        How a bag is compared with a fingerprint: ``1 - |Pearson
        correlation|`` or the Euclidean distance (the metric of
        :class:`~skfingerprint.classifiers.NearestFingerprintClassifier` and
        :class:`NearestRelatives`).

    Returns
    -------
    D : ndarray of shape (n_sources, n_sources)

    See Also
    --------
    cluster_families : Families as a dict source -> cluster id.

    Examples
    --------
    Families with scikit-learn or SciPy:

    >>> import numpy as np
    >>> from scipy.cluster.hierarchy import fcluster, linkage
    >>> from scipy.spatial.distance import squareform
    >>> from sklearn.cluster import AgglomerativeClustering
    >>> from skfingerprint.cluster import fingerprint_distances
    >>> rng = np.random.RandomState(0)
    >>> family = rng.normal(size=(2, 32))
    >>> centers = family[[0, 0, 1, 1]] + 0.3 * rng.normal(size=(4, 32))
    >>> y = np.repeat(["gan1", "gan2", "vae1", "vae2"], 6)
    >>> Z = centers[np.repeat(np.arange(4), 6)] + 0.3 * rng.normal(size=(24, 32))
    >>> D = fingerprint_distances(Z, y)
    >>> AgglomerativeClustering(n_clusters=2, metric="precomputed",
    ...                         linkage="average").fit_predict(D).tolist()
    [1, 1, 0, 0]
    >>> fcluster(linkage(squareform(D), method="average"), 2,
    ...          criterion="maxclust").tolist()
    [1, 1, 2, 2]
    """
    if metric == "euclidean":
        return _euclidean_distances(Z, y, fingerprints, labels)
    rho = fingerprint_correlation_matrix(Z, y, fingerprints=fingerprints, labels=labels)
    return correlation_distances(rho)


def _check_square(M, name):
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix (n_sources, n_sources); "
                         f"got shape {M.shape}.")
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{name} contains NaN or infinity; compute it from finite embeddings.")
    return M


@validate_params({"rho": ["array-like"]}, prefer_skip_nested_validation=True)
def correlation_distances(rho):
    """Distances between sources from a fingerprint correlation matrix.

    ``D = 1 - (rho + rho.T) / 2`` with a zero diagonal: the one definition
    used by :func:`fingerprint_distances`, the demo and the CLI (for instance
    on a correlation matrix averaged over cross-validation folds).

    Parameters
    ----------
    rho : array-like of shape (n_sources, n_sources)
        ``rho[i, j]``: mean correlation of the bags of source ``i`` with the
        fingerprint of source ``j``
        (:func:`~skfingerprint.metrics.fingerprint_correlation_matrix`).

    Returns
    -------
    D : ndarray of shape (n_sources, n_sources)
        Exactly symmetric, zero diagonal.

    Examples
    --------
    >>> from skfingerprint.cluster import correlation_distances
    >>> correlation_distances([[1.0, 0.2], [0.4, 0.9]])
    array([[0. , 0.7],
           [0.7, 0. ]])
    """
    rho = _check_square(rho, "rho")
    D = 1.0 - (rho + rho.T) / 2.0
    np.fill_diagonal(D, 0.0)
    return D


def _average_linkage(D):
    return linkage(squareform(D, checks=False), method="average", optimal_ordering=True)


@validate_params({"D": ["array-like"]}, prefer_skip_nested_validation=True)
def family_linkage(D):
    """The average-linkage tree of the sources (SciPy linkage matrix).

    The one clustering back-end of the library: :func:`cluster_families`,
    :func:`cut_families`,
    :class:`~skfingerprint.visualization.FamilyDendrogramDisplay` and the
    correlation-matrix display's ordering all cut or draw this tree, so they
    always agree.  Leaves are in optimal order.

    Parameters
    ----------
    D : array-like of shape (n_sources, n_sources)
        Symmetric distances with a zero diagonal, e.g.
        :func:`fingerprint_distances`; at least 2 sources.

    Returns
    -------
    Z : ndarray of shape (n_sources - 1, 4)
        As :func:`scipy.cluster.hierarchy.linkage`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.cluster.hierarchy import leaves_list
    >>> from skfingerprint.cluster import family_linkage
    >>> D = np.array([[0.0, 0.1, 0.9], [0.1, 0.0, 0.8], [0.9, 0.8, 0.0]])
    >>> family_linkage(D)[:, 2].round(2)
    array([0.1 , 0.85])
    >>> leaves_list(family_linkage(D)).tolist()
    [2, 1, 0]
    """
    D = _check_square(D, "D")
    if D.shape[0] < 2:
        raise ValueError(f"A linkage needs at least 2 sources; got {D.shape[0]}.")
    return _average_linkage(D)


@validate_params(
    {
        "D": ["array-like"],
        "n_families": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "distance_threshold": [Interval(numbers.Real, 0, np.inf, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def cut_families(D, *, n_families=None, distance_threshold=None):
    """Family ids from a distance matrix: :func:`family_linkage` cut.

    Give exactly one of ``n_families`` (cut into that many families) and
    ``distance_threshold`` (clusters closer than it are merged).

    Parameters
    ----------
    D : array-like of shape (n_sources, n_sources)
        Symmetric distances with a zero diagonal.

    n_families : int, default=None
        Number of families, at most ``n_sources``.

    distance_threshold : float, default=None
        Merge only clusters whose average distance is below it.

    Returns
    -------
    ids : ndarray of shape (n_sources,)
        Family of each source, numbered 0, 1, ... in order of first
        appearance along the rows of ``D``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.cluster import cut_families
    >>> D = np.array([[0.0, 0.1, 0.9], [0.1, 0.0, 0.8], [0.9, 0.8, 0.0]])
    >>> cut_families(D, n_families=2).tolist()
    [0, 0, 1]
    >>> cut_families(D, distance_threshold=0.05).tolist()
    [0, 1, 2]
    """
    if (n_families is None) == (distance_threshold is None):
        raise ValueError(
            "Give exactly one of n_families and distance_threshold (got "
            f"n_families={n_families!r}, distance_threshold={distance_threshold!r})."
        )
    D = _check_square(D, "D")
    n = D.shape[0]
    if n_families is not None and n_families > n:
        raise ValueError(
            f"n_families must be between 1 and the number of sources ({n}); "
            f"got {n_families}."
        )
    if n == 1:
        raw = np.zeros(1, dtype=int)
    elif n_families is not None:
        raw = fcluster(_average_linkage(D), n_families, criterion="maxclust")
    else:
        # merged when their average distance is below the threshold
        heights = _average_linkage(D)[:, 2]
        below = heights[heights < distance_threshold]
        t = below.max() if below.size else -1.0
        raw = fcluster(_average_linkage(D), t, criterion="distance")
    renumber = {}
    for cluster in np.asarray(raw).tolist():
        renumber.setdefault(cluster, len(renumber))
    return np.array([renumber[c] for c in np.asarray(raw).tolist()], dtype=int)


@validate_params(
    {
        **DATA_CONSTRAINTS,
        "n_families": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "distance_threshold": [Interval(numbers.Real, 0, np.inf, closed="left"), None],
        **SOURCES_CONSTRAINTS,
        **METRIC_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
)
def cluster_families(
    Z, y, *, n_families=None, distance_threshold=None, fingerprints=None, labels=None,
    metric="correlation",
):
    """Group sources into families by average-linkage clustering of their fingerprints.

    Cuts the average-linkage tree of :func:`fingerprint_distances` (SciPy's
    ``linkage(method="average")``, the tree that
    :class:`~skfingerprint.visualization.FamilyDendrogramDisplay` draws; the
    same clusters as ``AgglomerativeClustering(metric="precomputed",
    linkage="average")``) and returns each source's cluster. Give
    exactly one of ``n_families`` (cut into that many families) and
    ``distance_threshold`` (merge only below that distance).

    Parameters
    ----------
    Z, y
        Bag embeddings ``(n_bags, n_features)`` and the source of each bag,
        as in :func:`fingerprint_distances`.

    n_families : int, default=None
        Number of families to cut the hierarchy into.

    distance_threshold : float, default=None
        Linkage distance above which clusters are not merged.

    fingerprints, labels, metric
        As in :func:`fingerprint_distances`.

    Returns
    -------
    families : dict
        Source -> cluster id. Ids are 0, 1, ... numbered in order of first
        appearance along ``labels`` (by default the sorted sources), so equal
        inputs give equal dicts.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import adjusted_rand_score
    >>> from skfingerprint.cluster import cluster_families

    Bags of four sources in two families (each family one random pattern):

    >>> rng = np.random.RandomState(0)
    >>> true = {"gan1": "GAN", "gan2": "GAN", "vae1": "VAE", "vae2": "VAE"}
    >>> y = np.repeat(list(true), 6)
    >>> pattern = dict(zip(["GAN", "VAE"], rng.normal(size=(2, 32))))
    >>> Z = np.array([pattern[true[s]] for s in y]) + 0.5 * rng.normal(size=(24, 32))
    >>> found = cluster_families(Z, y, n_families=2)
    >>> found
    {'gan1': 0, 'gan2': 0, 'vae1': 1, 'vae2': 1}
    >>> adjusted_rand_score([true[s] for s in found], list(found.values()))
    1.0
    """
    if (n_families is None) == (distance_threshold is None):
        raise ValueError(
            "Give exactly one of n_families and distance_threshold (got "
            f"n_families={n_families!r}, distance_threshold={distance_threshold!r})."
        )
    D = fingerprint_distances(Z, y, fingerprints=fingerprints, labels=labels, metric=metric)
    _, y_checked = validate_embeddings(Z, y)
    classes, _ = resolve_labels(y_checked, labels)
    ids = cut_families(D, n_families=n_families, distance_threshold=distance_threshold)
    return dict(zip(classes.tolist(), ids.tolist()))

