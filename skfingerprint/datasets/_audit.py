"""Audit a data set for format confounds, from file metadata alone.

The most reported failure of generated-image detectors is not an
architecture but a confound: the real images are JPEG and the generated
ones PNG (or of other sizes, or of another JPEG quality), and a model
learns the codec instead of the generator.  :func:`audit_confounds` reads
only what the files say about themselves (headers, JPEG quantisation
tables; no pixel is decoded), tabulates it per source, and measures how
well a shallow decision tree predicts the source from these metadata
alone.  When that is well above chance, any attribution score on the set
is suspect until the confound is removed (re-encode every source alike).

How the JPEG quality is estimated
---------------------------------
libjpeg (and so Pillow, OpenCV, ImageMagick and most generator code)
writes the quantisation tables of the JPEG standard (ITU T.81, Annex K)
scaled by the quality ``q``: ``s = 5000 / q`` for ``q < 50`` and
``s = 200 - 2 q`` otherwise (integer arithmetic), each entry
``(t * s + 50) // 100`` clipped to [1, 255].  The file's tables (Pillow's
``im.quantization``, in natural order) are compared with the tables of
every ``q`` in 1-100 by the mean squared difference of their logarithms
(the scaling is multiplicative) over the luminance table and, for colour
files, the chrominance table; the best ``q`` is the estimate.  When the
tables are exactly libjpeg's, the estimate is the quality the file was
written with (``standard_tables`` is then true); tables of cameras and
editors (Photoshop, phone pipelines) are not scaled Annex K tables, and
the estimate is then the libjpeg quality whose tables are closest.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import struct
import warnings
from collections import Counter
from collections.abc import Mapping

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from .._io import _read_header, _unreadable

__all__ = ["audit_confounds", "ConfoundAudit", "estimate_jpeg_quality"]

_N_NAMED = 3  # how many skipped files a warning names

# ITU T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural order.
_ANNEX_K_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
])
_ANNEX_K_CHROMA = np.full(64, 99)
_ANNEX_K_CHROMA[[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 24, 25]] = [
    17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 47, 66]


def _scaled_tables():
    """libjpeg's tables for q = 1..100, shape (100, 2, 64)."""
    q = np.arange(1, 101)
    scale = np.where(q < 50, 5000 // q, 200 - 2 * q)[:, None, None]
    base = np.stack([_ANNEX_K_LUMA, _ANNEX_K_CHROMA])[None]
    return np.clip((base * scale + 50) // 100, 1, 255)


_IJG_TABLES = _scaled_tables()
_LOG_IJG = np.log(_IJG_TABLES)

_SUBSAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
_BIT_DEPTH_OF_MODE = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16,
                      "I": 32, "F": 32}
_UNREADABLE = (OSError, SyntaxError, ValueError, struct.error, EOFError)

# The groups of metadata the classifier is scored on, one at a time too.
# "metadata" (EXIF/ICC) never reaches the pixels the library decodes, so it
# is reported but does not make a set "confounded" (see audit_confounds).
_PIXEL_GROUPS = ("encoding", "size", "colour")
_GROUP_TITLES = {"encoding": "file format and compression", "size": "image size",
                 "colour": "colour mode and bit depth",
                 "metadata": "EXIF/ICC metadata"}
_FIXES = {
    "encoding": (
        "a classifier can score high without looking at any artifact; "
        "re-encode all sources alike (`--reencode jpeg:90`) or evaluate on "
        "re-encoded copies"),
    "size": (
        "a model can learn the size (through resizing, or the scale of the "
        "content in crops) instead of the generator; compare sources of the "
        "same sizes, crop every source alike (patch mode) and never resize "
        "only some sources"),
    "colour": (
        "grayscale, alpha or high-bit-depth files of only some sources leave "
        "traces in the decoded pixels (identical channels, black "
        "backgrounds, 16-to-8-bit rounding); convert or remove those files "
        "so that every source has the same colour mode"),
    "metadata": (
        "the library's decoder ignores EXIF and ICC, so this alone reaches no "
        "model, but it shows that the sources went through different "
        "pipelines (cameras, editors): check their encodings"),
}


# --------------------------------------------------------------------------
# reading one file's metadata
# --------------------------------------------------------------------------
def estimate_jpeg_quality(quantization):
    """Estimate the libjpeg quality that produced JPEG quantisation tables.

    Parameters
    ----------
    quantization : mapping of int to sequence of 64 int
        The quantisation tables of a JPEG file in natural (row-major) order,
        as Pillow gives them (``Image.open(path).quantization``): table 0 is
        the luminance table, table 1 (when present) the chrominance table.

    Returns
    -------
    quality : int
        The quality in [1, 100] whose libjpeg tables (the standard's Annex K
        tables scaled by the quality) are closest, by the mean squared
        difference of the logarithms of the entries.
    exact : bool
        Whether the tables are exactly libjpeg's tables for ``quality``
        (false for the custom tables of cameras and editors, for which
        ``quality`` is only the nearest libjpeg quality).

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfingerprint.datasets import estimate_jpeg_quality
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buffer, "JPEG", quality=83)
    >>> estimate_jpeg_quality(Image.open(buffer).quantization)
    (83, True)
    """
    tables = [np.asarray(quantization[k], dtype=np.float64).reshape(-1)
              for k in sorted(quantization)[:2]]
    if not tables or any(t.size != 64 or np.any(t < 1) for t in tables):
        raise ValueError(
            "quantization must hold one or two tables of 64 positive entries, "
            "as Pillow's Image.quantization of a JPEG file.")
    observed = np.log(np.stack(tables))
    ref = _LOG_IJG[:, : len(tables)]
    error = ((ref - observed[None]) ** 2).mean(axis=(1, 2))
    best = int(np.argmin(error))
    return best + 1, bool(np.array_equal(_IJG_TABLES[best, : len(tables)],
                                         np.stack(tables)))


@functools.lru_cache(maxsize=1024)
def _quality_of_tables(tables):
    """:func:`estimate_jpeg_quality`, memoised: the files of a set share a few tables."""
    return estimate_jpeg_quality(dict(enumerate(tables)))


def _png_bit_depth(fp):
    fp.seek(24)  # signature (8), IHDR length and type (8), width, height (8)
    data = fp.read(1)
    return data[0] if data else None


def _webp_lossy(fp):
    """True for lossy (``VP8 ``) WebP, False for lossless (``VP8L``)."""
    fp.seek(12)
    while True:
        head = fp.read(8)
        if len(head) < 8:
            return None
        fourcc, size = head[:4], struct.unpack("<I", head[4:])[0]
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8 "
        if fourcc == b"ANMF":  # animation frame: its image chunk follows 16 bytes in
            fp.seek(16, os.SEEK_CUR)
            continue
        fp.seek(size + (size & 1), os.SEEK_CUR)


def _bit_depth(im, fmt):
    if fmt == "png":
        return _png_bit_depth(im.fp)
    if fmt == "jpeg":
        return int(getattr(im, "bits", 8))
    if fmt == "tiff":
        bits = im.tag_v2.get(258)
        if bits:
            bits = bits if isinstance(bits, tuple) else (bits,)
            return int(max(bits))
    return _BIT_DEPTH_OF_MODE.get(im.mode, 8)


def _file_metadata(path):
    """The metadata of one file (headers only), or ValueError naming it."""
    from PIL import Image, JpegImagePlugin

    height, width, fmt = _read_header(path)  # checks the file; names it in errors
    rec = {"format": fmt or "unknown", "height": height, "width": width,
           "quality": None, "standard_tables": None, "subsampling": None,
           "progressive": None}
    try:
        with Image.open(path) as im:
            rec["mode"] = im.mode
            rec["bit_depth"] = _bit_depth(im, fmt)
            info = im.info
            rec["exif"] = bool(info.get("exif"))
            rec["icc"] = bool(info.get("icc_profile"))
            if fmt in ("jpeg", "mpo"):
                rec["lossy"] = True
                rec["quality"], rec["standard_tables"] = _quality_of_tables(
                    tuple(tuple(im.quantization[k]) for k in sorted(im.quantization)))
                rec["progressive"] = bool(info.get("progressive")
                                          or info.get("progression"))
                layers = getattr(im, "layer", [])
                if len(layers) == 1:
                    rec["subsampling"] = "gray"
                else:
                    sampling = JpegImagePlugin.get_sampling(im)
                    rec["subsampling"] = _SUBSAMPLING_NAMES.get(sampling, "other")
            elif fmt == "webp":
                rec["lossy"] = _webp_lossy(im.fp)
            elif fmt == "tiff":
                rec["lossy"] = "jpeg" in str(info.get("compression", ""))
            else:
                rec["lossy"] = False
    except _UNREADABLE as exc:
        raise _unreadable(os.fspath(path), exc) from None
    return rec


def _read_all(paths, on_error):
    records, keep, bad = [], np.ones(len(paths), dtype=bool), []
    for i, path in enumerate(paths):
        try:
            records.append(_file_metadata(path))
        except ValueError:
            if on_error == "raise":
                raise
            keep[i] = False
            bad.append(path)
    if bad:
        named = ", ".join(repr(p) for p in bad[:_N_NAMED])
        more = f" and {len(bad) - _N_NAMED} more" if len(bad) > _N_NAMED else ""
        warnings.warn(
            f"Skipped {len(bad)} of {len(paths)} image files that have "
            f"unreadable headers (on_error='skip'): {named}{more}.",
            UserWarning, stacklevel=3)
    return records, keep, bad


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


def _encoding_descriptor(fmt, quality, subsampling, lossy):
    if fmt in ("jpeg", "mpo"):
        return f"JPEG q~{quality}" + (f" {subsampling}" if subsampling not in (None, "4:2:0") else "")
    if fmt == "webp":
        return "WebP " + ("lossy" if lossy else "lossless")
    return fmt.upper()


def _descriptors(cols, group):
    n = len(cols["format"])
    if group == "encoding":
        return [_encoding_descriptor(cols["format"][i], cols["quality"][i],
                                     cols["subsampling"][i], cols["lossy"][i])
                for i in range(n)]
    if group == "size":
        return [f"{cols['height'][i]}x{cols['width'][i]}" for i in range(n)]
    if group == "colour":
        return [f"{cols['mode'][i]} {cols['bit_depth'][i]}-bit" for i in range(n)]
    return [("EXIF" if cols["exif"][i] else "no EXIF") + ", "
            + ("ICC" if cols["icc"][i] else "no ICC") for i in range(n)]


def _pct(share):
    return f"{100 * share:.0f}%"


def _quote(names):
    return ", ".join(repr(str(s)) for s in names)


def _describe_sizes(heights, widths):
    sizes = Counter(zip(heights.tolist(), widths.tolist()))
    (h, w), top = sizes.most_common(1)[0]
    if top / len(heights) >= 0.5:
        return f"{_pct(top / len(heights))} {h}x{w}"
    return (f"of {len(sizes)} sizes ({heights.min()}-{heights.max()} x "
            f"{widths.min()}-{widths.max()})")


def _explain(group, cols, labels, sources):
    """One sentence: how the sources differ in ``group``."""
    if group == "size":
        descr = {s: _describe_sizes(cols["height"][labels == s].astype(int),
                                    cols["width"][labels == s].astype(int))
                 for s in sources}
        parts = {}
        for s in sources:
            parts.setdefault(descr[s], []).append(s)
        return _join_parts([(names, d) for d, names in parts.items()])
    values = np.asarray(_descriptors(cols, group))
    dominant = {}
    for s in sources:
        (v, c), = Counter(values[labels == s].tolist()).most_common(1)
        dominant[s] = (v, c / np.sum(labels == s))
    by_value = {}
    for s in sources:
        by_value.setdefault(dominant[s][0], []).append(s)
    if len(by_value) > 1:
        parts = [(names, f"{_pct(min(dominant[s][1] for s in names))} {v}")
                 for v, names in by_value.items()]
        return _join_parts(parts)
    # one dominant value everywhere: the minority value whose share differs most
    common = next(iter(by_value))
    shares = {v: [np.mean(values[labels == s] == v) for s in sources]
              for v in np.unique(values)}
    v = max(shares, key=lambda k: (k != common, max(shares[k]) - min(shares[k])))
    hi, lo = int(np.argmax(shares[v])), int(np.argmin(shares[v]))
    return (f"{v} makes up {_pct(shares[v][hi])} of {sources[hi]!r} but "
            f"{_pct(shares[v][lo])} of {sources[lo]!r}")


def _join_parts(parts):
    """``[(sources, text)]`` -> "'a' is 98% X and every other source is 100% Y"."""
    parts = sorted(parts, key=lambda p: (len(p[0]), p[0]))
    text = []
    for k, (names, what) in enumerate(parts):
        last = k == len(parts) - 1
        if last and len(parts) > 1 and len(names) > 1:
            text.append(f"every other source is {what}")
        elif len(names) == 1:
            text.append(f"{names[0]!r} is {what}")
        else:
            text.append(f"{_quote(names[:4])}{', ...' if len(names) > 4 else ''} are {what}")
    if len(text) > 4:
        text = text[:3] + [f"{len(parts) - 3} more groups of sources differ"]
    return ", ".join(text[:-1]) + (" and " if len(text) > 1 else "") + text[-1]


# --------------------------------------------------------------------------
# per-source table
# --------------------------------------------------------------------------
def _shares(values):
    counts = Counter(str(v) for v in values)
    n = sum(counts.values())
    return {k: c / n for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _share(flags):
    """Share of true values (an unknown, None, counts as false)."""
    return float(np.mean([bool(v) for v in flags]))


def _summary(cols, mask):
    n = int(mask.sum())
    jpeg = mask & np.isin(cols["format"].astype(str), ("jpeg", "mpo"))
    h = cols["height"][mask].astype(int)
    w = cols["width"][mask].astype(int)
    sizes = Counter(zip(h.tolist(), w.tolist()))
    (mh, mw), top = sizes.most_common(1)[0]
    out = {
        "n_files": n,
        "formats": _shares(cols["format"][mask]),
        "lossy": _share(cols["lossy"][mask]),
        "jpeg_quality": None,
        "subsampling": None,
        "progressive": None,
        "height": {"min": int(h.min()), "median": float(np.median(h)), "max": int(h.max())},
        "width": {"min": int(w.min()), "median": float(np.median(w)), "max": int(w.max())},
        "n_sizes": len(sizes),
        "most_common_size": [int(mh), int(mw)],
        "most_common_size_share": top / n,
        "modes": _shares(cols["mode"][mask]),
        "bit_depths": _shares(cols["bit_depth"][mask]),
        "exif": _share(cols["exif"][mask]),
        "icc": _share(cols["icc"][mask]),
    }
    if jpeg.any():
        q = cols["quality"][jpeg].astype(int)
        out["jpeg_quality"] = {
            "min": int(q.min()), "median": float(np.median(q)), "max": int(q.max()),
            "most_common": int(Counter(q.tolist()).most_common(1)[0][0]),
            "standard_tables": _share(cols["standard_tables"][jpeg]),
        }
        out["subsampling"] = _shares(cols["subsampling"][jpeg])
        out["progressive"] = _share(cols["progressive"][jpeg])
    return out


def _cell_shares(shares, k=2):
    items = list(shares.items())
    text = " ".join(f"{name} {_pct(v)}" for name, v in items[:k])
    return text + (" ..." if len(items) > k else "")


def _cell_quality(q):
    if q is None:
        return "-"
    text = f"{q['most_common']}"
    if q["min"] != q["max"]:
        text += f" ({q['min']}-{q['max']})"
    if q["standard_tables"] < 1:
        text += f" ~{_pct(1 - q['standard_tables'])} custom"
    return text


def _cell_sizes(s):
    h, w = s["height"], s["width"]
    if s["n_sizes"] == 1:
        return f"{h['min']}x{w['min']}"
    return (f"{h['min']}-{h['max']} x {w['min']}-{w['max']}, {s['n_sizes']} sizes, "
            f"{s['most_common_size'][0]}x{s['most_common_size'][1]} "
            f"{_pct(s['most_common_size_share'])}")


def _text_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = "  ".join
    out = [line(str(c).ljust(wd) for c, wd in zip(header, widths)).rstrip(),
           line("-" * wd for wd in widths)]
    out += [line(str(c).ljust(wd) for c, wd in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------
class ConfoundAudit:
    """The result of :func:`audit_confounds` (read its attributes, print it).

    Attributes
    ----------
    sources : list of str
        The sources, sorted.
    per_source : dict of str to dict
        One summary per source: ``n_files``; ``formats`` (share of each file
        format); ``lossy`` (share of lossily compressed files: JPEG, lossy
        WebP, JPEG-in-TIFF); ``jpeg_quality`` (``min``, ``median``, ``max``,
        ``most_common`` estimated quality of its JPEG files and the share with
        ``standard_tables``, or None without JPEG); ``subsampling`` (share of
        each chroma subsampling among its JPEG files); ``progressive``;
        ``height`` and ``width`` (``min``, ``median``, ``max``); ``n_sizes``,
        ``most_common_size`` and its share; ``modes`` and ``bit_depths``
        (shares); ``exif`` and ``icc`` (share of files that carry them).
    files : dict of str to ndarray
        The metadata of every audited file, one array per column (``path``,
        ``label``, ``format``, ``height``, ``width``, ``quality``,
        ``standard_tables``, ``subsampling``, ``progressive``, ``lossy``,
        ``mode``, ``bit_depth``, ``exif``, ``icc``); ``pandas.DataFrame(
        audit.files)`` makes a table of it.
    score : float
        Cross-validated balanced accuracy of a shallow decision tree that
        predicts the source from the file format and compression, size and
        colour mode of the files (pooled predictions of the folds).
    chance : float
        The balanced accuracy of guessing: ``1 / n_sources``.
    source_scores : dict of str to float
        For each source, the one-vs-rest balanced accuracy of the same
        predictions (``(recall + specificity) / 2``; chance 0.5): how well
        the metadata tell that source from all the others.
    separability : float
        The largest of ``source_scores``: the source the metadata give away
        best.  This is the statistic of the confound rule (it sees one
        confounded source among many, which the multi-class ``score``
        dilutes: one JPEG source among 13 PNG ones scores only 2/13).
    most_separable : str
        The source of ``separability``.
    p_value : float or None
        Permutation p-value of ``separability`` (None when the permutation
        test was not needed: ``separability < 0.5 + margin``).
    group_scores : dict of str to float
        ``separability`` of the tree on one group of metadata at a time:
        ``"encoding"`` (format, lossy, progressive, JPEG quality, standard
        tables, chroma subsampling), ``"size"``, ``"colour"`` (mode, bit
        depth), and ``"metadata"`` (EXIF, ICC presence).
    confounded_groups : list of str
        The groups that alone give a source away well above chance.
    confounded : bool
        Whether the metadata give a source away well above chance (see
        :func:`audit_confounds` for the rule).
    warnings : list of str
        One sentence per confounded group: how the sources differ and what
        to do.  Empty when ``confounded`` is false.
    notes : list of str
        Other findings that do not make the set confounded (EXIF/ICC).
    skipped : list of str
        Files skipped as unreadable (``on_error="skip"``).
    params : dict
        The settings of the audit (cv, n_permutations, alpha, margin, ...).
    """

    def __init__(self, *, sources, per_source, files, score, chance, source_scores,
                 p_value, group_scores, confounded_groups, confounded, warnings,
                 notes, skipped, params):
        self.sources = sources
        self.per_source = per_source
        self.files = files
        self.score = score
        self.chance = chance
        self.source_scores = source_scores
        self.most_separable = max(source_scores, key=source_scores.get)
        self.separability = source_scores[self.most_separable]
        self.p_value = p_value
        self.group_scores = group_scores
        self.confounded_groups = confounded_groups
        self.confounded = confounded
        self.warnings = warnings
        self.notes = notes
        self.skipped = skipped
        self.params = params

    def __repr__(self):
        state = "CONFOUNDED" if self.confounded else "no confound found"
        return (f"<ConfoundAudit: {sum(s['n_files'] for s in self.per_source.values())} "
                f"files, {len(self.sources)} sources, {self.most_separable!r} told "
                f"from the rest by metadata alone with balanced accuracy "
                f"{self.separability:.3f} (chance 0.5): {state}>")

    def __str__(self):
        return self.to_text()

    def to_text(self):
        """The report as a text table, for a terminal.

        Returns
        -------
        text : str
        """
        header = ["source", "files", "format", "JPEG q", "subsampling", "sizes (HxW)",
                  "mode", "bits", "EXIF", "ICC"]
        rows = []
        for s in self.sources:
            p = self.per_source[s]
            rows.append([s, p["n_files"], _cell_shares(p["formats"]),
                         _cell_quality(p["jpeg_quality"]),
                         "-" if p["subsampling"] is None else _cell_shares(p["subsampling"]),
                         _cell_sizes(p), _cell_shares(p["modes"]),
                         _cell_shares(p["bit_depths"]), _pct(p["exif"]), _pct(p["icc"])])
        n = sum(p["n_files"] for p in self.per_source.values())
        prm = self.params
        lines = [f"Confound audit of {n} files from {len(self.sources)} sources "
                 "(file metadata only; no pixel decoded)", "",
                 _text_table(header, rows), ""]
        p_text = ("not run: below the margin" if self.p_value is None
                  else f"{self.p_value:.3g} over {prm['n_permutations']} permutations")
        lines.append(
            f"A decision tree (depth {prm['max_depth']}, {prm['cv']}-fold CV, "
            f"{prm['n_samples_used']} files) predicts the source from format, "
            f"compression, size and colour mode alone with balanced accuracy "
            f"{self.score:.3f} (chance {self.chance:.3f}).")
        lines.append(
            "One source against the rest (balanced accuracy, chance 0.5): " + ", ".join(
                f"{s} {v:.3f}" for s, v in self.source_scores.items())
            + f"; best {self.most_separable!r}, permutation p: {p_text}.")
        lines.append("The best source against the rest from one group alone: " + ", ".join(
            f"{_GROUP_TITLES[g]} {v:.3f}" for g, v in self.group_scores.items()) + ".")
        lines.append("")
        if self.confounded:
            lines.append("CONFOUNDED: the file metadata alone tell the sources apart.")
            lines += [f"WARNING: {w}" for w in self.warnings]
        else:
            lines.append("No confound found: the file metadata give no source away well "
                         f"above chance (rule: balanced accuracy >= "
                         f"{0.5 + prm['margin']:g} and p <= {prm['alpha']:g}).")
        lines += [f"Note: {note}" for note in self.notes]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} unreadable files.")
        return "\n".join(lines)

    def to_dict(self, *, files=False):
        """The report as a JSON-serialisable dict.

        Parameters
        ----------
        files : bool, default=False
            Include the metadata of every file (``files``, as lists).

        Returns
        -------
        report : dict
        """
        out = {
            "n_files": sum(p["n_files"] for p in self.per_source.values()),
            "sources": list(self.sources),
            "per_source": self.per_source,
            "classifier": {
                "score": self.score, "chance": self.chance,
                "source_scores": self.source_scores,
                "separability": self.separability,
                "most_separable": self.most_separable, "p_value": self.p_value,
                "group_scores": self.group_scores,
            },
            "confounded": self.confounded,
            "confounded_groups": list(self.confounded_groups),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "skipped": list(self.skipped),
            "params": self.params,
        }
        if files:
            out["files"] = {k: [v if v is None or isinstance(v, (bool, str)) else
                                (int(v) if isinstance(v, numbers.Integral) else v)
                                for v in col.tolist()] for k, col in self.files.items()}
        return out

    def warn(self, *, stacklevel=2):
        """Issue one ``UserWarning`` with the warnings, if the set is confounded.

        For callers that audit a data set before fitting on it (the command
        line's ``fit``): ``audit_confounds(data).warn()``.

        Parameters
        ----------
        stacklevel : int, default=2
            Passed to :func:`warnings.warn`.

        Returns
        -------
        confounded : bool
        """
        if self.confounded:
            warnings.warn(
                "Possible format confound: " + " ".join(self.warnings) + " (file "
                f"metadata alone tell {self.most_separable!r} from the other sources "
                f"with balanced accuracy {self.separability:.2f}, chance 0.50; see "
                "skfingerprint.datasets.audit_confounds.)",
                UserWarning, stacklevel=stacklevel + 1)
        return self.confounded


# --------------------------------------------------------------------------
# the classifier
# --------------------------------------------------------------------------
def _subsample(labels, max_samples, rng):
    n = labels.shape[0]
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(n), train_size=max_samples, stratify=labels,
                              random_state=rng.randint(np.iinfo(np.int32).max))
    return np.sort(idx)


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
        The tree is cross-validated on at most this many files (a stratified
        random subset; the table uses every file).  None uses every file.

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
