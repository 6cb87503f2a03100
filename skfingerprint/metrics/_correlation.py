"""Correlation matrix of bag embeddings against model fingerprints (paper Sec. 4.1)."""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils._param_validation import (
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

from .._embeddings import (
    DATA_CONSTRAINTS,
    SOURCES_CONSTRAINTS,
    bags_and_fingerprints,
    standardize_rows,
)

_KINDS = ("contrast", "frobenius")
_KIND = {"kind": [StrOptions(set(_KINDS))]}


@validate_params({**DATA_CONSTRAINTS, **SOURCES_CONSTRAINTS}, prefer_skip_nested_validation=True)
def fingerprint_correlation_matrix(Z, y, *, fingerprints=None, labels=None):
    """Mean absolute correlation of each source's bags with each fingerprint.

    ``rho[i, j]`` is the mean, over the bags of source ``labels[i]``, of the
    absolute Pearson correlation (taken across embedding dimensions) between the
    bag's embedding and the fingerprint of source ``labels[j]`` (paper Eq. 3-5).

    Parameters
    ----------
    Z : array-like of shape (n_bags, n_features)
        Bag embeddings, e.g. the output of a fitted encoder's ``transform`` or
        of any baseline feature extractor. ``n_features`` must be at least 2.

    y : array-like of shape (n_bags,)
        Source of each bag.

    fingerprints : array-like of shape (n_sources, n_features), default=None
        Fingerprint of each source, row ``j`` belonging to ``labels[j]``
        (e.g. computed on training bags with
        :func:`model_fingerprints`). If None, the
        fingerprint of a source is the mean embedding of its bags in ``Z``,
        and each bag is left out of its own source's fingerprint, so that no
        bag is ever correlated with a fingerprint it helped to estimate. This
        needs at least 2 bags per source.

    labels : array-like of shape (n_sources,), default=None
        The sources to include, in the order of the rows and columns of
        ``rho``. If None, the sorted unique values of ``y`` (``np.unique``) are
        used. Bags whose source is not in ``labels`` are ignored; every source
        in ``labels`` needs at least one bag.

    Returns
    -------
    rho : ndarray of shape (n_sources, n_sources)
        Values in [0, 1]; rows are the evaluated bags' sources, columns the
        fingerprints' sources.

    Notes
    -----
    The Pearson correlation with a constant vector (all entries equal, e.g.
    an encoder that collapsed) is undefined; it is taken as 0 here, and an
    :class:`~sklearn.exceptions.UndefinedMetricWarning` is raised. Constant
    embeddings therefore give ``rho = 0`` rather than NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.metrics import fingerprint_correlation_matrix
    >>> rng = np.random.RandomState(0)
    >>> centers = rng.normal(size=(3, 16))
    >>> y = np.repeat(["a", "b", "c"], 5)
    >>> Z = centers[[0] * 5 + [1] * 5 + [2] * 5] + 0.1 * rng.normal(size=(15, 16))
    >>> rho = fingerprint_correlation_matrix(Z, y)
    >>> rho.shape
    (3, 3)
    >>> bool(np.all(np.diag(rho) > 0.95))
    True
    """
    Z, idx, F, own = bags_and_fingerprints(Z, y, fingerprints=fingerprints, labels=labels)
    n_sources, leave_one_out = F.shape[0], own is not None
    counts = np.bincount(idx, minlength=n_sources)

    Zs, z_const = standardize_rows(Z)
    Fs, f_const = standardize_rows(F)
    corr = np.abs(Zs @ Fs.T)  # (n_bags, n_sources)
    undefined = z_const[:, None] | f_const[None, :]

    if leave_one_out:
        own_s, own_const = standardize_rows(own)
        rows = np.arange(Z.shape[0])
        corr[rows, idx] = np.abs(np.einsum("ij,ij->i", Zs, own_s))
        undefined[rows, idx] = z_const | own_const

    if np.any(undefined):
        warnings.warn(
            "Some embeddings or fingerprints are constant across features, so their "
            "Pearson correlation is undefined; it is taken as 0.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    np.clip(corr, 0.0, 1.0, out=corr)

    rho = np.zeros((n_sources, n_sources))
    np.add.at(rho, idx, corr)
    return rho / counts[:, None]


def _score_from_rho(rho, kind):
    n_sources = rho.shape[0]
    if n_sources < 2:
        raise ValueError(
            "The decorrelation score compares sources and needs at least 2 of "
            f"them; got {n_sources}."
        )
    if kind == "contrast":
        diag = np.diag(rho)
        off_mean = (rho.sum() - diag.sum()) / (n_sources * (n_sources - 1))
        return float(diag.mean() - off_mean)
    return float(1.0 - np.linalg.norm(rho - np.eye(n_sources)) / n_sources)


def _check_kind(kind, caller_name="decorrelation_score"):
    validate_parameter_constraints(_KIND, {"kind": kind}, caller_name=caller_name)


@validate_params({**DATA_CONSTRAINTS, **SOURCES_CONSTRAINTS, **_KIND},
                 prefer_skip_nested_validation=True)
def decorrelation_score(Z, y, *, fingerprints=None, labels=None, kind="contrast"):
    """How distinct each source's fingerprint is from the others' (higher is better).

    Both kinds are computed from ``rho = fingerprint_correlation_matrix(Z, y)``
    for ``M`` sources (see :func:`fingerprint_correlation_matrix`):

    - ``kind="contrast"`` (default): the mean of the diagonal of ``rho`` minus
      the mean of its off-diagonal entries. It is 1 when every bag correlates
      fully with its own source's fingerprint and not at all with the others',
      about 0 when the correlations do not depend on the source (uninformative
      embeddings, e.g. random ones), and negative when bags correlate more with
      other sources' fingerprints than with their own. Its scale does not
      depend on ``M``, so scores over different numbers of sources compare.
    - ``kind="frobenius"``: ``1 - ||rho - I||_F / M``, the complement of the
      paper's normalized Frobenius form, for comparison with the paper. It is
      1 for ``rho = I`` and lies in [0, 1], but uninformative embeddings
      (``rho`` near 0) already score about ``1 - 1 / sqrt(M)`` (0.55 for 5
      sources, 0.68 for 10), so its baseline moves with ``M``.

    Why not the paper's formula as printed: Eq. 6 defines the score as
    ``||rho - I|| / M**2`` and states that higher is better, with range
    ``[0, 1 + 2/M]``. Read literally, that value is 0 for perfectly distinct
    fingerprints (``rho = I``) and grows as they become correlated, i.e. it
    *falls* as fingerprints become more distinct, and it never exceeds
    ``1 / M`` (``||rho - I||_F <= M`` when all entries lie in [0, 1]), which
    does not match the stated range. The complement above fixes the direction,
    and the contrast also removes the ``M``-dependent baseline.

    Parameters
    ----------
    Z : array-like of shape (n_bags, n_features)
        Bag embeddings (any feature extractor's output), ``n_features >= 2``.

    y : array-like of shape (n_bags,)
        Source of each bag.

    fingerprints : array-like of shape (n_sources, n_features), default=None
        Fingerprints of the sources, in the order of ``labels``. If None, the
        leave-one-out mean embeddings of the sources in ``Z`` are used, which
        needs at least 2 bags per source (a ValueError says so otherwise).

    labels : array-like of shape (n_sources,), default=None
        Sources to include; by default the sorted unique values of ``y``.

    kind : {"contrast", "frobenius"}, default="contrast"
        Which form of the score to compute (see above).

    Returns
    -------
    score : float
        In [-1, 1] for ``"contrast"``, in [0, 1] for ``"frobenius"``.

    Raises
    ------
    ValueError
        If fewer than 2 sources are evaluated (the score compares sources), a
        source has fewer than 2 bags and no fingerprints are given, or the
        inputs are invalid (NaN or inf, length mismatch, 1-D ``Z``).

    See Also
    --------
    fingerprint_correlation_matrix : The matrix ``rho`` the score summarizes.
    DecorrelationScorer : The score as a ``scoring=`` for model selection.

    Notes
    -----
    Constant embeddings have no defined correlation; they count as 0 (with an
    :class:`~sklearn.exceptions.UndefinedMetricWarning`), so an encoder that
    collapsed to a constant scores 0 with ``kind="contrast"``.

    Examples
    --------
    Random embeddings score about 0 (contrast) and about ``1 - 1/sqrt(M)``
    (frobenius); embeddings that separate the sources score higher. The
    paper's literal Eq. 6 goes the other way:

    >>> import numpy as np
    >>> from skfingerprint.metrics import (
    ...     decorrelation_score, fingerprint_correlation_matrix)
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat(np.arange(5), 20)
    >>> Z_random = rng.normal(size=(100, 64))
    >>> round(decorrelation_score(Z_random, y), 2)
    -0.01
    >>> round(decorrelation_score(Z_random, y, kind="frobenius"), 2)
    0.58
    >>> centers = rng.normal(size=(5, 64))
    >>> Z_separated = centers[y] + 0.5 * rng.normal(size=(100, 64))
    >>> round(decorrelation_score(Z_separated, y), 2)
    0.79
    >>> round(decorrelation_score(Z_separated, y, kind="frobenius"), 2)
    0.89
    >>> for Z in (Z_random, Z_separated):  # Eq. 6 as printed: falls
    ...     rho = fingerprint_correlation_matrix(Z, y)
    ...     print(round(np.linalg.norm(rho - np.eye(5)) / 5**2, 3))
    0.083
    0.023
    """
    rho = fingerprint_correlation_matrix(Z, y, fingerprints=fingerprints, labels=labels)
    return _score_from_rho(rho, kind)
