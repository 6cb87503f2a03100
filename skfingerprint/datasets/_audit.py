"""Audit a data set for format confounds, from file metadata alone.

The most reported failure of generated-image detectors is not an
architecture but a confound: the real images are JPEG and the generated
ones PNG (or of other sizes, or of another JPEG quality), and a model
learns the codec instead of the generator.  :func:`audit_confounds` reads
only what the files say about themselves (headers, JPEG quantisation
tables; no pixel is decoded but alpha channels: :mod:`._image_metadata`),
tabulates it per source, and measures how well a shallow decision tree
predicts the source from the metadata that reach the decoded pixels (the
report: :mod:`._audit_report`).  When that gives a model an edge beyond
luck, any attribution score on the set is suspect until the confound is
removed (re-encode every source alike).
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

from ._audit_report import _FIXES, _GROUP_TITLES, ConfoundAudit, _explain, _quote, _summary
from ._image_metadata import _read_all

__all__ = ["audit_confounds"]

# The groups of metadata the classifier is scored on, one at a time too.
# "container" (lossless format, progressive JPEG, opaque alpha) and
# "metadata" (EXIF/ICC) never reach the pixels the library decodes, so they
# are reported as notes but do not make a set "confounded" (see
# audit_confounds).
_PIXEL_GROUPS = ("encoding", "size", "colour")
_NOTE_GROUPS = ("container", "metadata")


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
    """All sources, and those with the 2 files that cross-validation needs."""
    sources, counts = np.unique(labels, return_counts=True)
    if sources.size < 2:
        raise ValueError(
            f"The audit needs at least two sources to compare, got only "
            f"{sources.tolist()}; pass the files of every source together.")
    return sources, sources[counts >= 2]


# --------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------
_LOSSY_NAMES = {"jpeg": "jpeg", "mpo": "jpeg"}
_DROP_ALPHA = {"RGBA": "RGB", "LA": "L", "PA": "P"}


def _columns(records):
    keys = ("format", "height", "width", "quality", "standard_tables",
            "subsampling", "progressive", "lossy", "mode", "bit_depth", "alpha",
            "exif", "icc")
    cols = {k: np.asarray([r[k] for r in records], dtype=object) for k in keys}
    # what the decoder sees: the codec of lossy files (lossless formats all
    # decode to the stored pixels), the colour mode with an all-opaque alpha
    # channel dropped (compositing it changes nothing)
    cols["codec"] = np.asarray(
        [_LOSSY_NAMES.get(f, f) if lossy else "lossless"
         for f, lossy in zip(cols["format"], cols["lossy"])], dtype=object)
    cols["pixel_mode"] = np.asarray(
        [_DROP_ALPHA.get(m, m) if a == "opaque" else m
         for m, a in zip(cols["mode"], cols["alpha"])], dtype=object)
    return cols


def _one_hot(values, drop=None):
    values = np.asarray([str(v) for v in values])
    cats = np.unique(values)
    if drop is not None:
        cats = cats[cats != drop]
    return (values[:, None] == cats[None, :]).astype(np.float64).reshape(len(values), -1)


def _num(values, missing=-1.0):
    return np.asarray([missing if v is None else float(v) for v in values])


def _features(cols):
    """Feature matrix of each group, shape (n_files, n_group_features).

    "encoding", "size" and "colour" reach the decoded pixels; "container"
    (the lossless format, progressive JPEG, an all-opaque alpha channel) and
    "metadata" (EXIF, ICC) do not.  The container features are zero for
    every file they do not apply to, so that they add nothing the pixel
    groups see (JPEG against PNG is an encoding difference).
    """
    enc = np.column_stack([
        _one_hot(cols["codec"]), _num(cols["quality"]), _num(cols["standard_tables"]),
        _one_hot(cols["subsampling"])])
    h, w = _num(cols["height"]), _num(cols["width"])
    size = np.column_stack([h, w, h * w])
    colour = np.column_stack([_one_hot(cols["pixel_mode"]), _num(cols["bit_depth"])])
    lossless = np.asarray([f if c == "lossless" else "" for f, c in
                           zip(cols["format"], cols["codec"])], dtype=object)
    formats, counts = np.unique(lossless[lossless != ""].astype(str), return_counts=True)
    commonest = formats[np.argmax(counts)] if formats.size else ""
    container = np.column_stack([
        _one_hot(np.where(lossless == commonest, "", lossless), drop=""),
        np.asarray([bool(p) for p in cols["progressive"]], dtype=np.float64),
        np.asarray([a == "opaque" for a in cols["alpha"]], dtype=np.float64)])
    meta = np.column_stack([_num(cols["exif"]), _num(cols["icc"])])
    return {"encoding": enc, "size": size, "colour": colour, "container": container,
            "metadata": meta}


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
                    margin=0.1, max_depth=None, max_samples=5000, on_error="raise",
                    random_state=None):
    """Audit a data set for format confounds, from file metadata alone.

    Reads the header of every file (format, size, colour mode, bit depth,
    JPEG quantisation tables, chroma subsampling and progressive coding,
    EXIF and ICC presence; no pixel is decoded except the alpha channel of
    files that have one), tabulates them per source, and cross-validates a
    shallow decision tree that predicts the source from the metadata that
    reach the decoded pixels.  When these metadata alone give a source away
    by a clear edge, an attribution model can score high by learning the
    codec, the size or the colour mode instead of the generator: the report
    says how the sources differ and how to remove the confound.

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
        Significance level of the permutation test, and the tail of the
        permuted scores that the edge is measured from (see Notes).

    margin : float, default=0.1
        The smallest edge that makes a set confounded: the one-vs-rest
        balanced accuracy of the best-told source must exceed both
        ``0.5 + margin`` and the ``1 - alpha`` quantile of its permutation
        null by at least ``margin`` (see Notes).

    max_depth : int, default=None
        Depth of the tree; None means ``ceil(log2(n_sources)) + 1``, two
        leaves per source.

    max_samples : int, default=5000
        The tree is cross-validated on about this many files (a random subset
        in which each source keeps its share, but at least 10 files or all it
        has; the table uses every file).  None uses every file.

    on_error : {"raise", "skip"}, default="raise"
        A file whose header cannot be read raises a ``ValueError`` naming
        it, or is skipped with a warning (and listed in ``skipped``).  A
        JPEG file whose quantisation tables give no quality (a zero entry)
        is readable: it is kept, with an unknown quality, and named in the
        notes.

    random_state : int, RandomState instance or None, default=None
        Seeds the subset, the folds, the tree and the permutations.

    Returns
    -------
    audit : ConfoundAudit
        ``str(audit)`` is a text report; ``audit.to_dict()`` is
        JSON-serialisable; ``audit.confounded`` and ``audit.warnings`` say
        whether and how the sources differ; ``audit.notes`` lists the
        differences that do not reach the decoded pixels.

    Raises
    ------
    ValueError
        If a file is missing or unreadable (with ``on_error="raise"``), the
        lengths of paths and labels differ, or there is a single source.
    TypeError
        If ``paths`` holds something other than file paths (decoded images
        cannot be audited: their file metadata are gone).

    See Also
    --------
    skfingerprint.augment.reencode : Re-encode images alike (remove a confound).
    reencoded_copies : Re-encoded copies of files, to audit them again.
    estimate_jpeg_quality : The quality estimate used for JPEG files.

    Notes
    -----
    The tree sees only what reaches the decoded pixels: the codec of lossy
    files (every lossless format decodes to the stored pixels), the JPEG
    quality, standard or custom tables and chroma subsampling ("encoding"),
    the height and width ("size"), and the colour mode, with an alpha
    channel whose every value is opaque counted as no alpha channel (the
    decoder composites it away), and the bit depth ("colour").  Its
    cross-validated predictions give, for each source, a one-vs-rest
    balanced accuracy (``(recall + specificity) / 2``, chance 0.5); the
    largest is the ``separability``.  One source against the rest is the
    classic confound (the real images against every generator): with 13
    sources, a perfectly separable real class and 12 indistinguishable
    generators give a multi-class balanced accuracy of only 2/13 (chance
    1/13), but a separability of 1.

    *Confounded* means that the metadata buy a model an edge that luck
    cannot explain.  The same tree and folds are cross-validated on
    ``n_permutations`` shuffles of the labels (the maximum over sources
    taken each time, so that many sources do not multiply false alarms);
    the *edge* is the separability minus the ``1 - alpha`` quantile of these
    permuted separabilities, the best that luck gives.  A set is confounded
    when the edge is at least ``margin``, the separability at least ``0.5 +
    margin``, and the permutation p-value at most ``alpha``.  Luck on a
    small set widens the null and so lowers the edge; on a large set the
    null shrinks to 0.5 and the edge is the balanced accuracy the metadata
    buy over chance.  A difference that is real but small (two sources
    drawn from one mix of formats, whose shares differ by sampling noise) is
    not a confound: a model could not exploit it.

    A group of features (encoding, size, colour) is named in the warnings
    when the tree on that group alone passes the same rule against the same
    null.  Differences the decoder does not see are reported as ``notes``,
    never as confounds, when their group passes the rule against its own
    null: the lossless format (PNG, BMP, lossless WebP ... decode alike),
    progressive against baseline JPEG coding (the same quantised
    coefficients), an all-opaque alpha channel, and EXIF and ICC presence
    (the decoder ignores them); the first three only when they tell the
    sources apart better than the decoded pixels do.  They still hint
    that the sources went through different pipelines.

    A source with a single file is listed in the table but left out of the
    classifier (no verdict on it, and a note says so).

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
    from sklearn.utils import check_random_state

    paths, labels = _paths_and_labels(paths, labels)
    records, keep, skipped = _read_all(paths, on_error)
    if not records:
        raise ValueError(
            f"None of the {len(paths)} files could be read (on_error='skip' "
            "skipped them all).")
    labels = labels[keep]
    kept_paths = np.asarray(paths, dtype=str)[keep]
    sources, judged = _check_sources(labels)
    cols = _columns(records)
    per_source = {str(s): _summary(cols, labels == s) for s in sources}
    src = [str(s) for s in sources]
    files = {"path": kept_paths, "label": labels, **cols}
    notes = _file_notes(cols, kept_paths, judged, src)
    rng = check_random_state(random_state)
    result = _classify(_features(cols), cols, labels, judged, rng=rng, cv=cv,
                       n_permutations=n_permutations, alpha=alpha, margin=margin,
                       max_depth=max_depth, max_samples=max_samples)
    params = {"cv": result.pop("n_splits"), "n_permutations": n_permutations,
              "alpha": alpha, "margin": margin, "max_depth": result.pop("depth"),
              "max_samples": max_samples, "n_samples_used": result.pop("n_used"),
              "on_error": on_error}
    return ConfoundAudit(
        sources=src, per_source=per_source, files=files, notes=notes + result.pop("notes"),
        skipped=[str(p) for p in skipped], params=params, **result)


def _file_notes(cols, paths, judged, sources):
    """Notes on files and sources the classifier cannot use."""
    notes = []
    alone = [s for s in sources if s not in set(judged.tolist())]
    if alone:
        notes.append(
            f"{_quote(alone[:4])}{', ...' if len(alone) > 4 else ''} "
            f"{'has' if len(alone) == 1 else 'have'} a single file: listed in the "
            "table, but left out of the classifier (cross-validation needs 2 files "
            "per source), so the audit gives no verdict on "
            f"{'it' if len(alone) == 1 else 'them'}.")
    unknown = np.flatnonzero([c == "jpeg" and q is None for c, q in
                              zip(cols["codec"], cols["quality"])])
    if unknown.size:
        named = ", ".join(repr(str(paths[i])) for i in unknown[:3])
        more = f" and {unknown.size - 3} more" if unknown.size > 3 else ""
        notes.append(
            f"{unknown.size} JPEG file{'s' if unknown.size > 1 else ''} "
            f"({named}{more}) {'have' if unknown.size > 1 else 'has'} quantisation "
            "tables with a zero entry, which no encoder writes: no JPEG quality "
            "can be estimated (shown as unknown); check how they were made.")
    if np.any(cols["alpha"] == "unknown"):
        notes.append("The alpha channel of some files could not be decoded: their "
                     "colour mode is taken as stored.")
    return notes


def _classify(groups, cols, labels, judged, *, rng, cv, n_permutations, alpha, margin,
              max_depth, max_samples):
    """The classifier's scores, the rule and the warnings (see audit_confounds)."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.tree import DecisionTreeClassifier

    use = np.flatnonzero(np.isin(labels, judged))
    depth = max_depth or int(math.ceil(math.log2(max(len(judged), 2)))) + 1
    empty = {"score": None, "chance": None, "source_scores": {}, "p_value": None,
             "null_quantile": None, "group_scores": {}, "confounded_groups": [],
             "confounded": False, "warnings": [], "notes": [], "n_splits": None,
             "depth": depth, "n_used": 0}
    if judged.size < 2:
        empty["notes"] = ["No verdict: the classifier needs two sources of at least 2 "
                          "files each."]
        return empty
    sub = use[_subsample(labels[use], max_samples, rng)]
    y = np.searchsorted(judged, labels[sub])  # source indices: faster fits
    seed = rng.randint(np.iinfo(np.int32).max)
    splitter, n_splits = _cv_splitter(cv, y, seed)
    tree = DecisionTreeClassifier(max_depth=depth, random_state=seed)

    def separability(X, target):
        if np.all(X == X[:1]):  # nothing to learn: the tree can only guess
            pred = np.zeros_like(target)
        else:
            pred = _cv_predict(tree, X, target, splitter)
        return pred, max(_one_vs_rest(target, pred, judged).values())

    X = {g: groups[g][sub] for g in groups}
    X_pixels = np.column_stack([X[g] for g in _PIXEL_GROUPS])
    pred, best = separability(X_pixels, y)
    score = float(balanced_accuracy_score(y, pred))
    source_scores = _one_vs_rest(y, pred, judged)
    group_scores = {g: separability(X[g], y)[1] for g in groups}
    # the permutation null of every statistic that reaches the margin
    tested = {"pixels": X_pixels} if best >= 0.5 + margin else {}
    tested.update({g: X[g] for g in _NOTE_GROUPS if group_scores[g] >= 0.5 + margin})
    observed = {"pixels": best, **group_scores}
    p_value, quantile = {}, {}
    if tested:
        perm = np.random.RandomState(seed)
        null = {k: [] for k in tested}
        for _ in range(n_permutations):
            shuffled = y[perm.permutation(y.shape[0])]
            for k, Xk in tested.items():
                null[k].append(separability(Xk, shuffled)[1])
        for k, values in null.items():
            values = np.asarray(values)
            p_value[k] = float((1 + np.sum(values >= observed[k])) / (1 + n_permutations))
            quantile[k] = float(np.quantile(values, 1 - alpha))

    def beyond_luck(k, value, null_of=None):
        null_of = null_of or k
        return (null_of in quantile and p_value[null_of] <= alpha
                and value >= 0.5 + margin and value - quantile[null_of] >= margin)

    confounded = beyond_luck("pixels", best)
    named = [g for g in _PIXEL_GROUPS if beyond_luck("pixels", group_scores[g])] \
        if confounded else []
    if confounded and not named:  # only a combination separates: name the best
        named = [max(_PIXEL_GROUPS, key=group_scores.get)]
    named.sort(key=lambda g: -group_scores[g])
    src = [str(s) for s in judged]
    ys = labels[use]
    found = [f"{_explain(g, _sub_cols(cols, use), ys, src)}: {_FIXES[g]}." for g in named]
    notes = []
    for g in _NOTE_GROUPS:
        # a container difference is news only when it tells more than the pixels
        if beyond_luck(g, group_scores[g]) and (
                g != "container" or group_scores[g] >= best + margin):
            notes.append(f"{_explain(g, _sub_cols(cols, use), ys, src)} (one source "
                         f"against the rest from {_GROUP_TITLES[g]} alone: balanced "
                         f"accuracy {group_scores[g]:.2f}): {_FIXES[g]}.")
    return {"score": score, "chance": 1.0 / len(judged), "source_scores": source_scores,
            "p_value": p_value.get("pixels"), "null_quantile": quantile.get("pixels"),
            "group_scores": group_scores, "confounded_groups": named,
            "confounded": confounded, "warnings": found, "notes": notes,
            "n_splits": n_splits, "depth": depth, "n_used": int(sub.size)}


def _sub_cols(cols, idx):
    return {k: v[idx] for k, v in cols.items()}
