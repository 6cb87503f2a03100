"""Audit a data set for format confounds, from file metadata alone.

The most reported failure of generated-image detectors is not an
architecture but a confound: the real images are JPEG and the generated
ones PNG (or of other sizes, or of another JPEG quality), and a model
learns the codec instead of the generator.  :func:`audit_confounds` reads
only what the files say about themselves (headers, JPEG quantisation
tables; no pixel is decoded: :mod:`._image_metadata`), tabulates it per
source, and measures how well a shallow decision tree predicts the source
from these metadata alone (the report: :mod:`._audit_report`).  When that
is well above chance, any attribution score on the set is suspect until
the confound is removed (re-encode every source alike).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from ._audit_report import _FIXES, ConfoundAudit, _explain, _summary
from ._image_metadata import _read_all

__all__ = ["audit_confounds"]

# The groups of metadata the classifier is scored on, one at a time too.
# "metadata" (EXIF/ICC) never reaches the pixels the library decodes, so it
# is reported but does not make a set "confounded" (see audit_confounds).
_PIXEL_GROUPS = ("encoding", "size", "colour")


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def _paths_and_labels(paths, labels):
    if isinstance(paths, Mapping) or (hasattr(paths, "paths") and hasattr(paths, "labels")):
        if labels is not None:
            raise ValueError(
                "labels was given with a Bunch of load_image_folder (which holds "
                "its labels); pass audit_confounds(data) or "
                "audit_confounds(data.paths, data.labels).")
        try:
            paths, labels = paths["paths"], paths["labels"]
        except (KeyError, TypeError):
            raise ValueError(
                "paths is a mapping without the keys 'paths' and 'labels'; pass the "
                "Bunch of load_image_folder/load_image_manifest or two arrays."
            ) from None
    if labels is None:
        raise ValueError(
            "labels is required with an array of paths: the source of each file "
            "(or pass the Bunch of load_image_folder).")
    try:
        raw = np.asarray(paths)
    except ValueError:  # ragged nested sequences
        raw = np.asarray(paths, dtype=object)
    if raw.size == 0:
        raise ValueError("paths is empty; pass the paths of the image files.")
    if raw.dtype.kind in "biufc":
        raise TypeError(
            "paths holds numbers (decoded images?); the audit reads file headers, "
            "so it needs the file paths, not decoded images.")
    arr = np.asarray(paths, dtype=object)
    y = np.asarray(labels, dtype=object)
    if y.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {y.shape}.")
    if arr.ndim == 2 and arr.shape[0] == y.shape[0] != arr.size:
        y = np.repeat(y, arr.shape[1])  # bags of paths, one label per bag
    arr = arr.reshape(-1) if arr.ndim == 2 else arr
    if arr.ndim != 1:
        raise ValueError(
            f"paths must be a 1-D array of file paths (or 2-D bags of paths), got "
            f"shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError("paths is empty; pass the paths of the image files.")
    for p in arr:
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(
                f"paths must hold file paths (str or os.PathLike), got "
                f"{type(p).__name__}; the audit reads file headers, so it needs "
                "the files, not decoded images.")
    if y.shape[0] != arr.shape[0]:
        raise ValueError(
            f"paths and labels have different lengths ({arr.shape[0]} paths, "
            f"{y.shape[0]} labels); give one label per file.")
    names = np.asarray([str(v) for v in y], dtype=str)
    return [os.fspath(p) for p in arr], names


def _check_sources(labels):
    sources, counts = np.unique(labels, return_counts=True)
    if sources.size < 2:
        raise ValueError(
            f"The audit needs at least two sources to compare, got only "
            f"{sources.tolist()}; pass the files of every source together.")
    few = sources[counts < 2]
    if few.size:
        raise ValueError(
            f"The source {str(few[0])!r} has a single readable file; the audit "
            "needs at least 2 files per source to cross-validate.")
    return sources


# --------------------------------------------------------------------------
# features and descriptions
# --------------------------------------------------------------------------
def _columns(records):
    keys = ("format", "height", "width", "quality", "standard_tables",
            "subsampling", "progressive", "lossy", "mode", "bit_depth", "exif", "icc")
    return {k: np.asarray([r[k] for r in records], dtype=object) for k in keys}


def _one_hot(values):
    values = np.asarray([str(v) for v in values])
    cats = np.unique(values)
    return (values[:, None] == cats[None, :]).astype(np.float64)


def _num(values, missing=-1.0):
    return np.asarray([missing if v is None else float(v) for v in values])


def _features(cols):
    """Feature matrix of each group, shape (n_files, n_group_features)."""
    enc = np.column_stack([
        _one_hot(cols["format"]), _num(cols["lossy"]), _num(cols["progressive"]),
        _num(cols["quality"]), _num(cols["standard_tables"]),
        _one_hot(cols["subsampling"])])
    h, w = _num(cols["height"]), _num(cols["width"])
    size = np.column_stack([h, w, h * w])
    colour = np.column_stack([_one_hot(cols["mode"]), _num(cols["bit_depth"])])
    meta = np.column_stack([_num(cols["exif"]), _num(cols["icc"])])
    return {"encoding": enc, "size": size, "colour": colour, "metadata": meta}


# --------------------------------------------------------------------------
# the classifier
# --------------------------------------------------------------------------
def _subsample(labels, max_samples, rng, min_per_source=10):
    """About ``max_samples`` files, each source in proportion but with at least
    ``min_per_source`` files (or all it has), so that every source can be
    cross-validated."""
    n = labels.shape[0]
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    keep = []
    for s in np.unique(labels):
        idx = np.flatnonzero(labels == s)
        quota = min(idx.size, max(min_per_source, round(idx.size * max_samples / n)))
        keep.append(rng.choice(idx, size=quota, replace=False))
    return np.sort(np.concatenate(keep))


def _cv_splitter(cv, labels, seed):
    from sklearn.model_selection import StratifiedKFold

    if not isinstance(cv, numbers.Integral):
        try:
            return cv, int(cv.get_n_splits())
        except Exception:  # a splitter that needs the data to count its folds
            return cv, repr(cv)
    n_splits = int(min(cv, np.unique(labels, return_counts=True)[1].min()))
    return StratifiedKFold(n_splits, shuffle=True, random_state=seed), n_splits


def _one_vs_rest(y, pred, sources):
    """One-vs-rest balanced accuracy of each source: (recall + specificity) / 2.

    ``y`` and ``pred`` are indices into ``sources``.
    """
    out = {}
    for k, s in enumerate(sources):
        pos = y == k
        recall = float(np.mean(pred[pos] == k))
        specificity = float(np.mean(pred[~pos] != k))
        out[str(s)] = (recall + specificity) / 2
    return out


def _cv_predict(tree, X, y, splitter):
    """Out-of-fold predictions of ``tree``.

    What :func:`sklearn.model_selection.cross_val_predict` computes, without
    its per-call validation and dispatch, which cost more than fitting these
    small trees (the permutation test fits some 500 of them): about twice
    as fast.
    """
    from sklearn import config_context

    X = np.ascontiguousarray(X, dtype=np.float32)
    pred = np.empty_like(y)
    with config_context(skip_parameter_validation=True, assume_finite=True):
        for train, test in splitter.split(X, y):
            tree.fit(X[train], y[train], check_input=False)
            pred[test] = tree.predict(X[test], check_input=False)
    return pred


@validate_params(
    {
        "paths": ["array-like"],
        "labels": ["array-like", None],
        "cv": [Interval(numbers.Integral, 2, None, closed="left"), HasMethods("split")],
        "n_permutations": [Interval(numbers.Integral, 1, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, 1, closed="neither")],
        "margin": [Interval(numbers.Real, 0, 0.5, closed="left")],
        "max_depth": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_samples": [Interval(numbers.Integral, 10, None, closed="left"), None],
        "on_error": [StrOptions({"raise", "skip"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def audit_confounds(paths, labels=None, *, cv=5, n_permutations=99, alpha=0.01,
                    margin=0.05, max_depth=None, max_samples=5000, on_error="raise",
                    random_state=None):
    """Audit a data set for format confounds, from file metadata alone.

    Reads the header of every file (format, size, colour mode, bit depth,
    JPEG quantisation tables and chroma subsampling, EXIF and ICC presence;
    no pixel is decoded, so a large folder takes seconds), tabulates them per
    source, and cross-validates a shallow decision tree that predicts the
    source from them.  When the metadata alone predict the source well above
    chance, an attribution model can score high by learning the codec, the
    size or the colour mode instead of the generator: the report says how
    the sources differ and how to remove the confound.

    Parameters
    ----------
    paths : array-like of str of shape (n_files,) or Bunch
        Paths of image files; also 2-D bags of paths ``(n_bags, bag_size)``
        with one label per bag; or the Bunch returned by
        :func:`load_image_folder` or :func:`load_image_manifest` (then
        ``labels`` must be None).  The files may have any sizes.

    labels : array-like of shape (n_files,) or (n_bags,), default=None
        The source of each file (or bag).

    cv : int or cross-validation splitter, default=5
        Folds of the stratified cross-validation of the tree (lowered to the
        size of the smallest source when that is smaller), or a splitter.

    n_permutations : int, default=99
        Label permutations of the permutation test.  The p-value is
        ``(1 + k) / (1 + n_permutations)`` where ``k`` permuted scores reach
        the observed one, so it can reach ``alpha=0.01`` only with at least
        99 permutations.

    alpha : float, default=0.01
        Significance level of the permutation test.

    margin : float, default=0.05
        A source counts as given away when its one-vs-rest balanced accuracy
        is at least ``0.5 + margin`` (and significant); 0.05 means the
        metadata flag 10% more of its files than of the other sources' files
        (Youden's J = 0.1).

    max_depth : int, default=None
        Depth of the tree; None means ``ceil(log2(n_sources)) + 1``, two
        leaves per source.

    max_samples : int, default=5000
        The tree is cross-validated on about this many files (a random subset
        in which each source keeps its share, but at least 10 files or all it
        has; the table uses every file).  None uses every file.

    on_error : {"raise", "skip"}, default="raise"
        A file whose header cannot be read raises a ``ValueError`` naming
        it, or is skipped with a warning (and listed in ``skipped``).

    random_state : int, RandomState instance or None, default=None
        Seeds the subset, the folds, the tree and the permutations.

    Returns
    -------
    audit : ConfoundAudit
        ``str(audit)`` is a text report; ``audit.to_dict()`` is
        JSON-serialisable; ``audit.confounded`` and ``audit.warnings`` say
        whether and how the sources differ.

    Raises
    ------
    ValueError
        If a file is missing or unreadable (with ``on_error="raise"``), the
        lengths of paths and labels differ, there is a single source, or a
        source has a single file.
    TypeError
        If ``paths`` holds something other than file paths (decoded images
        cannot be audited: their file metadata are gone).

    See Also
    --------
    skfingerprint.augment.reencode : Re-encode images alike (remove a confound).
    estimate_jpeg_quality : The quality estimate used for JPEG files.

    Notes
    -----
    *Confounded* means: from the cross-validated predictions of the tree on
    the format, compression, size and colour-mode features, some source is
    told from the rest with a one-vs-rest balanced accuracy (the
    ``separability``) of at least ``0.5 + margin`` (a size of effect that
    matters), **and** a permutation test (the same tree and folds on
    ``n_permutations`` shuffles of the labels, the maximum over sources
    taken each time, so that many sources do not multiply false alarms)
    gives ``p <= alpha`` (not luck on a small set).  The one-vs-rest
    statistic is used rather than the multi-class balanced accuracy because
    the classic confound is one source (the real images) against all the
    others: with 13 sources, a perfectly separable real class and 12
    indistinguishable generators give a multi-class balanced accuracy of
    only 2/13 (chance 1/13), but a separability of 1.  With the defaults, a set
    whose sources all draw their files from one mix of formats is flagged
    with probability at most 0.01 (the false-alarm rate measured by
    ``benchmarks/audit_false_alarms.py`` is in
    ``benchmarks/results/audit_false_alarms.md``).  A group of features
    (encoding, size, colour) is named in the warnings when the tree on that
    group alone reaches the margin and beats the 1 - ``alpha`` quantile of
    the permuted separabilities.  EXIF and ICC presence are scored too but only
    reported as a note: the library's decoder ignores them, so they reach no
    model (they still hint that the sources went through different
    pipelines).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfingerprint.datasets import audit_confounds
    >>> root, paths, labels = tempfile.mkdtemp(), [], []
    >>> rng = np.random.default_rng(0)
    >>> for i in range(20):
    ...     img = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    ...     for source, ext, kw in [("real", "jpg", {"quality": 75}), ("gan", "png", {})]:
    ...         paths.append(os.path.join(root, f"{source}{i}.{ext}"))
    ...         img.save(paths[-1], **kw)
    ...         labels.append(source)
    >>> audit = audit_confounds(paths, labels, random_state=0)
    >>> audit.confounded, audit.per_source["real"]["jpeg_quality"]["median"]
    (True, 75.0)
    >>> print(audit.warnings[0])  # doctest: +ELLIPSIS
    'gan' is 100% PNG and 'real' is 100% JPEG q~75: a classifier can score high ...
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.utils import check_random_state

    paths, labels = _paths_and_labels(paths, labels)
    records, keep, skipped = _read_all(paths, on_error)
    if not records:
        raise ValueError(
            f"None of the {len(paths)} files could be read (on_error='skip' "
            "skipped them all).")
    labels = labels[keep]
    kept_paths = np.asarray(paths, dtype=str)[keep]
    sources = _check_sources(labels)
    cols = _columns(records)
    per_source = {str(s): _summary(cols, labels == s) for s in sources}
    groups = _features(cols)

    rng = check_random_state(random_state)
    sub = _subsample(labels, max_samples, rng)
    y = np.searchsorted(sources, labels[sub])  # source indices: faster fits
    seed = rng.randint(np.iinfo(np.int32).max)
    splitter, n_splits = _cv_splitter(cv, y, seed)
    depth = max_depth or int(math.ceil(math.log2(len(sources)))) + 1
    tree = DecisionTreeClassifier(max_depth=depth, random_state=seed)
    chance = 1.0 / len(sources)

    def predict(X, target):
        if np.all(X == X[:1]):  # nothing to learn: the tree can only guess
            return np.zeros_like(target)
        return _cv_predict(tree, X, target, splitter)

    X_pixels = np.column_stack([groups[g] for g in _PIXEL_GROUPS])[sub]
    pred = predict(X_pixels, y)
    score = float(balanced_accuracy_score(y, pred))
    source_scores = _one_vs_rest(y, pred, sources)
    separability = max(source_scores.values())
    group_scores = {g: max(_one_vs_rest(y, predict(groups[g][sub], y), sources).values())
                    for g in (*_PIXEL_GROUPS, "metadata")}

    p_value, null_quantile = None, None
    if separability >= 0.5 + margin:
        perm = np.random.RandomState(seed)
        null = []
        for _ in range(n_permutations):
            shuffled = y[perm.permutation(y.shape[0])]
            null.append(max(_one_vs_rest(shuffled, predict(X_pixels, shuffled),
                                         sources).values()))
        null = np.asarray(null)
        p_value = float((1 + np.sum(null >= separability)) / (1 + n_permutations))
        null_quantile = float(np.quantile(null, 1 - alpha))
    confounded = p_value is not None and p_value <= alpha

    def passes(g):
        s = group_scores[g]
        return s >= 0.5 + margin and (null_quantile is None or s > null_quantile)

    named = [g for g in _PIXEL_GROUPS if passes(g)] if confounded else []
    if confounded and not named:  # only a combination separates: name the best
        named = [max(_PIXEL_GROUPS, key=group_scores.get)]
    named.sort(key=lambda g: -group_scores[g])
    src = [str(s) for s in sources]
    found = [f"{_explain(g, cols, labels, src)}: {_FIXES[g]}." for g in named]
    notes = []
    if group_scores["metadata"] >= 0.5 + margin:
        notes.append(f"{_explain('metadata', cols, labels, src)} (one source against "
                     f"the rest from EXIF/ICC presence alone: balanced accuracy "
                     f"{group_scores['metadata']:.2f}): {_FIXES['metadata']}.")

    files = {"path": kept_paths, "label": labels, **cols}
    params = {"cv": n_splits, "n_permutations": n_permutations, "alpha": alpha,
              "margin": margin, "max_depth": depth, "max_samples": max_samples,
              "n_samples_used": int(sub.size), "on_error": on_error}
    return ConfoundAudit(
        sources=src, per_source=per_source, files=files, score=score, chance=chance,
        source_scores=source_scores, p_value=p_value, group_scores=group_scores, confounded_groups=named,
        confounded=confounded, warnings=found, notes=notes,
        skipped=[str(p) for p in skipped], params=params)
