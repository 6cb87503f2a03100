"""The report of :func:`skfingerprint.datasets.audit_confounds`.

:class:`ConfoundAudit` holds the per-source table, the scores of the
metadata-only classifier and the warnings, and prints them; the helpers
here turn metadata into the sentences of the warnings.
"""

from __future__ import annotations

import numbers
import warnings
from collections import Counter

import numpy as np

__all__ = ["ConfoundAudit"]

_GROUP_TITLES = {"encoding": "file format and compression", "size": "image size",
                 "colour": "colour mode and bit depth",
                 "container": "container (lossless format, progressive, opaque alpha)",
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
        "grayscale, transparent or high-bit-depth files of only some sources "
        "leave traces in the decoded pixels (identical channels, black "
        "backgrounds, 16-to-8-bit rounding); convert or remove those files "
        "so that every source has the same colour mode"),
    "container": (
        "the library's decoder gives the same pixels for these (lossless "
        "formats decode alike, progressive and baseline JPEG hold the same "
        "coefficients, an all-opaque alpha channel is composited away), so "
        "this alone reaches no model, but it shows that the sources went "
        "through different pipelines"),
    "metadata": (
        "the library's decoder ignores EXIF and ICC, so this alone reaches no "
        "model, but it shows that the sources went through different "
        "pipelines (cameras, editors): check their encodings"),
}
# The "'a' is 100% X and every other source is 100% Y" form needs every
# source to be mostly one value; otherwise the value whose share differs
# most is named with the two sources where it differs most.
_DOMINANT = 0.75
_CODEC_NAMES = {"jpeg": "JPEG", "webp": "WebP lossy"}


def _jpeg_descriptor(quality, standard, subsampling, *, always_subsampling=False):
    if quality is None:
        text = "JPEG of unknown quality"
    else:
        text = f"JPEG q~{quality}" + ("" if standard or standard is None else
                                      " (custom tables)")
    shown = subsampling is not None and (always_subsampling or subsampling != "4:2:0")
    return text + (f" {subsampling}" if shown else "")


def _descriptors(cols, group, *, fine=True):
    n = len(cols["format"])
    if group == "encoding":
        lossless = {str(f) for f, c in zip(cols["format"], cols["codec"]) if c == "lossless"}
        plain = lossless.pop().upper() if len(lossless) == 1 else "lossless"
        varies = len({v for v, c in zip(cols["subsampling"], cols["codec"])
                      if c == "jpeg"}) > 1
        out = []
        for i in range(n):
            codec = cols["codec"][i]
            if codec == "lossless":
                out.append(plain)
            elif codec == "jpeg" and fine:
                out.append(_jpeg_descriptor(cols["quality"][i], cols["standard_tables"][i],
                                            cols["subsampling"][i],
                                            always_subsampling=varies))
            else:
                out.append(_CODEC_NAMES.get(codec, f"{str(codec).upper()} lossy"))
        return out
    if group == "colour":
        return [f"{cols['pixel_mode'][i]} {cols['bit_depth'][i]}-bit" for i in range(n)]
    if group == "container":
        out = []
        for i in range(n):
            fmt = str(cols["format"][i])
            text = (("progressive " if cols["progressive"][i] else "baseline ") + "JPEG"
                    if cols["codec"][i] == "jpeg" else fmt.upper())
            out.append(text + (" with an all-opaque alpha channel"
                               if cols["alpha"][i] == "opaque" else ""))
        return out
    if group == "size":
        return [f"{cols['height'][i]}x{cols['width'][i]}" for i in range(n)]
    return [("EXIF" if cols["exif"][i] else "no EXIF") + ", "
            + ("ICC" if cols["icc"][i] else "no ICC") for i in range(n)]


def _pct(share):
    return f"{100 * share:.0f}%"


def _quote(names):
    return ", ".join(repr(str(s)) for s in names)


def _describe_sizes(heights, widths):
    sizes = Counter(zip(heights.tolist(), widths.tolist()))
    (h, w), top = sizes.most_common(1)[0]
    if top / len(heights) >= _DOMINANT:
        return f"{_pct(top / len(heights))} {h}x{w}"
    return (f"of {len(sizes)} sizes ({heights.min()}-{heights.max()} x "
            f"{widths.min()}-{widths.max()})")


def _jpeg_qualities(cols, mask):
    """" q~75" or " q~87 (85-96)" for the JPEG files of ``mask`` ("" if unknown)."""
    q = cols["quality"][mask & (cols["codec"] == "jpeg")]
    q = np.asarray([v for v in q if v is not None], dtype=int)
    if q.size == 0:
        return ""
    if q.min() == q.max():
        return f" q~{q.min()}"
    return f" q~{int(np.median(q))} ({q.min()}-{q.max()})"


def _dominant_parts(values, labels, sources):
    """``[(sources, value, min share)]`` grouping the sources by their commonest value."""
    by_value = {}
    for s in sources:
        counts = Counter(values[labels == s].tolist())
        top = max(counts.values())
        v = min(k for k, c in counts.items() if c == top)  # ties: deterministic
        by_value.setdefault(v, []).append((s, top / np.sum(labels == s)))
    return [([s for s, _ in items], v, min(share for _, share in items))
            for v, items in by_value.items()]


def _contrast(values, labels, sources, detail=None):
    """How the sources differ in ``values``, in words that cannot contradict
    themselves: either each source (group) is mostly one value and the
    values differ, or the value whose share differs most is named with the
    two sources of its highest and lowest shares (which differ)."""
    values = np.asarray([str(v) for v in values], dtype=object)
    parts = _dominant_parts(values, labels, sources)
    if len(parts) > 1 and min(share for _, _, share in parts) >= _DOMINANT:
        return _join_parts([
            (names, f"{_pct(share)} {v}" + (detail(names, v) if detail else ""))
            for names, v, share in parts])
    counts = {s: np.sum(labels == s) for s in sources}
    best = None
    for v in sorted(set(values.tolist())):
        shares = np.asarray([np.mean(values[labels == s] == v) for s in sources])
        spread = shares.max() - shares.min()
        if best is None or spread > best[0]:
            best = (spread, v, shares)
    spread, v, shares = best
    if spread == 0:
        return ("every value has the same share in every source; the sources "
                "differ only in how the values combine")
    hi, lo = int(np.argmax(shares)), int(np.argmin(shares))
    a, b = _pct(shares[hi]), _pct(shares[lo])
    if a == b:  # rounding would hide the difference: give the counts
        a = f"{round(shares[hi] * counts[sources[hi]])} of {counts[sources[hi]]} files"
        b = f"{round(shares[lo] * counts[sources[lo]])} of {counts[sources[lo]]} files"
    return f"{v} makes up {a} of {sources[hi]!r} but {b} of {sources[lo]!r}"


def _explain(group, cols, labels, sources):
    """One sentence: how the sources differ in ``group``."""
    if group == "size":
        descr = {s: _describe_sizes(cols["height"][labels == s].astype(int),
                                    cols["width"][labels == s].astype(int))
                 for s in sources}
        parts = {}
        for s in sources:
            parts.setdefault(descr[s], []).append(s)
        if len(parts) > 1:
            return _join_parts([(names, d) for d, names in parts.items()])
    if group == "encoding":  # by format first, with the JPEG qualities of each
        coarse = _descriptors(cols, group, fine=False)

        def qualities(names, v):
            return _jpeg_qualities(cols, np.isin(labels, names)) if v == "JPEG" else ""

        parts = _dominant_parts(np.asarray(coarse, dtype=object), labels, sources)
        if len(parts) > 1 and min(share for _, _, share in parts) >= _DOMINANT:
            return _contrast(coarse, labels, sources, qualities)
    return _contrast(_descriptors(cols, group), labels, sources)


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
        "alpha": {k: float(np.mean(cols["alpha"][mask] == k))
                  for k in ("opaque", "transparent")},
        "exif": _share(cols["exif"][mask]),
        "icc": _share(cols["icc"][mask]),
    }
    if jpeg.any():
        known = [v for v in cols["quality"][jpeg] if v is not None]
        q = np.asarray(known, dtype=int)
        out["jpeg_quality"] = {
            "min": int(q.min()) if q.size else None,
            "median": float(np.median(q)) if q.size else None,
            "max": int(q.max()) if q.size else None,
            "most_common": int(Counter(q.tolist()).most_common(1)[0][0]) if q.size else None,
            "standard_tables": _share(cols["standard_tables"][jpeg]),
            "unknown": 1.0 - len(known) / int(jpeg.sum()),
        }
        out["subsampling"] = _shares(cols["subsampling"][jpeg])
        out["progressive"] = _share(cols["progressive"][jpeg])
    return out


def _cell_shares(shares, k=2):
    items = list(shares.items())
    if len(items) == 1:  # one value for every file
        return items[0][0]
    text = " ".join(f"{name} {_pct(v)}" for name, v in items[:k])
    return text + (" ..." if len(items) > k else "")


def _cell_quality(q):
    if q is None:
        return "-"
    if q["most_common"] is None:
        return "unknown"
    text = f"{q['most_common']}"
    if q["min"] != q["max"]:
        text += f" ({q['min']}-{q['max']})"
    custom = 1 - q["standard_tables"] - q["unknown"]
    if custom > 1e-9:
        text += f", {_pct(custom)} custom"
    if q["unknown"] > 0:
        text += f", {_pct(q['unknown'])} unknown"
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
        ``most_common`` estimated quality of its JPEG files (None when no
        quality is known), the share with ``standard_tables`` and the share
        whose quality is ``unknown``, or None without JPEG);
        ``subsampling`` (share of each chroma subsampling among its JPEG
        files); ``progressive``; ``height`` and ``width`` (``min``,
        ``median``, ``max``); ``n_sizes``, ``most_common_size`` and its
        share; ``modes`` and ``bit_depths`` (shares); ``alpha`` (share of
        files with an all-``opaque`` and with a ``transparent`` alpha
        channel); ``exif`` and ``icc`` (share of files that carry them).
    files : dict of str to ndarray
        The metadata of every audited file, one array per column (``path``,
        ``label``, ``format``, ``height``, ``width``, ``quality`` (None when
        unknown), ``standard_tables``, ``subsampling``, ``progressive``,
        ``lossy``, ``mode``, ``bit_depth``, ``alpha`` (None, ``"opaque"``,
        ``"transparent"``), ``exif``, ``icc``, and what the decoder sees:
        ``codec`` (the format of lossy files, ``"lossless"`` otherwise) and
        ``pixel_mode`` (the mode without an all-opaque alpha channel));
        ``pandas.DataFrame(audit.files)`` makes a table of it.
    score : float or None
        Cross-validated balanced accuracy of a shallow decision tree that
        predicts the source from the metadata that reach the decoded pixels
        (pooled predictions of the folds); None without a verdict (fewer
        than two sources of 2 files).
    chance : float or None
        The balanced accuracy of guessing: ``1 / n_sources`` (the sources of
        the classifier).
    source_scores : dict of str to float
        For each source of the classifier (every source with 2 files or
        more), the one-vs-rest balanced accuracy of the same predictions
        (``(recall + specificity) / 2``; chance 0.5): how well the metadata
        tell that source from all the others.
    separability : float or None
        The largest of ``source_scores``: the source the metadata give away
        best.
    most_separable : str or None
        The source of ``separability``.
    p_value : float or None
        Permutation p-value of ``separability`` (None when the permutation
        test was not needed: ``separability < 0.5 + margin``).
    null_quantile : float or None
        The ``1 - alpha`` quantile of the separabilities of the permuted
        labels: the best that luck gives (None without a permutation test).
    edge : float or None
        ``separability - null_quantile``: the edge that luck cannot explain,
        the effect size of the confound rule (None without a permutation
        test).
    group_scores : dict of str to float
        ``separability`` of the tree on one group of metadata at a time:
        ``"encoding"`` (codec, JPEG quality, standard tables, chroma
        subsampling), ``"size"``, ``"colour"`` (mode, bit depth),
        ``"container"`` (lossless format, progressive JPEG, all-opaque
        alpha) and ``"metadata"`` (EXIF, ICC presence).
    confounded_groups : list of str
        The groups that alone give a source away beyond luck.
    confounded : bool
        Whether the metadata give a source away by an edge beyond luck (see
        :func:`audit_confounds` for the rule).
    warnings : list of str
        One sentence per confounded group: how the sources differ and what
        to do.  Empty when ``confounded`` is false.
    notes : list of str
        Other findings that do not make the set confounded: differences the
        decoder does not see, single-file sources, JPEG files of unknown
        quality.
    skipped : list of str
        Files skipped as unreadable (``on_error="skip"``).
    params : dict
        The settings of the audit (cv, n_permutations, alpha, margin, ...).
    """

    def __init__(self, *, sources, per_source, files, score, chance, source_scores,
                 p_value, group_scores, confounded_groups, confounded, warnings,
                 notes, skipped, params, null_quantile=None):
        self.sources = sources
        self.per_source = per_source
        self.files = files
        self.score = score
        self.chance = chance
        self.source_scores = source_scores
        self.most_separable = (max(source_scores, key=source_scores.get)
                               if source_scores else None)
        self.separability = (source_scores[self.most_separable]
                             if source_scores else None)
        self.p_value = p_value
        self.null_quantile = null_quantile
        self.edge = (None if null_quantile is None
                     else self.separability - null_quantile)
        self.group_scores = group_scores
        self.confounded_groups = confounded_groups
        self.confounded = confounded
        self.warnings = warnings
        self.notes = notes
        self.skipped = skipped
        self.params = params

    def __repr__(self):
        n = sum(s["n_files"] for s in self.per_source.values())
        if self.separability is None:
            return (f"<ConfoundAudit: {n} files, {len(self.sources)} sources, no "
                    "verdict (fewer than two sources of 2 files)>")
        state = "CONFOUNDED" if self.confounded else "no confound found"
        return (f"<ConfoundAudit: {n} files, {len(self.sources)} sources, "
                f"{self.most_separable!r} told from the rest by metadata alone with "
                f"balanced accuracy {self.separability:.3f} (chance 0.5): {state}>")

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
                 "(file metadata only; no pixel decoded but alpha channels)", "",
                 _text_table(header, rows), ""]
        rule = (f"rule: an edge of at least {prm['margin']:g} in balanced accuracy "
                f"over the best that luck gives, p <= {prm['alpha']:g}")
        if self.separability is not None:
            if self.p_value is None:
                p_text = "not run: below the margin"
            else:
                p_text = (f"{self.p_value:.3g} over {prm['n_permutations']} "
                          f"permutations; luck reaches {self.null_quantile:.3f} "
                          f"(the {1 - prm['alpha']:g} quantile), edge {self.edge:+.3f}")
            lines.append(
                f"A decision tree (depth {prm['max_depth']}, {prm['cv']}-fold CV, "
                f"{prm['n_samples_used']} files) predicts the source from the metadata "
                f"that reach the decoded pixels (codec and compression, size, colour "
                f"mode) with balanced accuracy {self.score:.3f} (chance "
                f"{self.chance:.3f}).")
            lines.append(
                "One source against the rest (balanced accuracy, chance 0.5): "
                + ", ".join(f"{s} {v:.3f}" for s, v in self.source_scores.items())
                + f"; best {self.most_separable!r}, permutation p: {p_text}.")
            lines.append("The best source against the rest from one group alone: "
                         + ", ".join(f"{_GROUP_TITLES[g]} {v:.3f}"
                                     for g, v in self.group_scores.items()) + ".")
            lines.append("")
        if self.confounded:
            lines.append(f"CONFOUNDED: the file metadata alone tell the sources apart "
                         f"({rule}).")
            lines += [f"WARNING: {w}" for w in self.warnings]
        elif self.separability is not None:
            lines.append("No confound found: the file metadata give no source away by "
                         f"an edge a model could exploit ({rule}).")
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
                "null_quantile": self.null_quantile, "edge": self.edge,
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
