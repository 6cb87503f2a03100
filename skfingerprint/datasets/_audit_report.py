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


def _encoding_descriptor(fmt, quality, subsampling, lossy, *, fine=True):
    if fmt in ("jpeg", "mpo"):
        if not fine:
            return "JPEG"
        return f"JPEG q~{quality}" + (f" {subsampling}" if subsampling not in (None, "4:2:0") else "")
    if fmt == "webp":
        return "WebP " + ("lossy" if lossy else "lossless")
    return fmt.upper()


def _descriptors(cols, group, *, fine=True):
    n = len(cols["format"])
    if group == "encoding":
        return [_encoding_descriptor(cols["format"][i], cols["quality"][i],
                                     cols["subsampling"][i], cols["lossy"][i], fine=fine)
                for i in range(n)]
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


def _jpeg_qualities(cols, mask):
    """" q~75" or " q~87 (85-96)" for the JPEG files of ``mask``."""
    q = cols["quality"][mask & np.isin(cols["format"].astype(str), ("jpeg", "mpo"))]
    q = q.astype(int)
    if q.min() == q.max():
        return f" q~{q.min()}"
    return f" q~{int(np.median(q))} ({q.min()}-{q.max()})"


def _dominant_parts(values, labels, sources):
    """``[(sources, value, min share)]`` grouping the sources by their commonest value."""
    by_value = {}
    for s in sources:
        (v, c), = Counter(values[labels == s].tolist()).most_common(1)
        by_value.setdefault(v, []).append((s, c / np.sum(labels == s)))
    return [([s for s, _ in items], v, min(share for _, share in items))
            for v, items in by_value.items()]


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
    if group == "encoding":  # by format first, with the JPEG qualities of each
        coarse = np.asarray(_descriptors(cols, group, fine=False))
        parts = _dominant_parts(coarse, labels, sources)
        if len(parts) > 1:
            return _join_parts([
                (names, f"{_pct(share)} {v}" + (_jpeg_qualities(
                    cols, np.isin(labels, names)) if v == "JPEG" else ""))
                for names, v, share in parts])
    values = np.asarray(_descriptors(cols, group))
    parts = _dominant_parts(values, labels, sources)
    if len(parts) > 1:
        return _join_parts([(names, f"{_pct(share)} {v}") for names, v, share in parts])
    # one commonest value everywhere: the minority value whose share differs most
    common = parts[0][1]
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
    if len(items) == 1:  # one value for every file
        return items[0][0]
    text = " ".join(f"{name} {_pct(v)}" for name, v in items[:k])
    return text + (" ..." if len(items) > k else "")


def _cell_quality(q):
    if q is None:
        return "-"
    text = f"{q['most_common']}"
    if q["min"] != q["max"]:
        text += f" ({q['min']}-{q['max']})"
    if q["standard_tables"] < 1:
        text += f", {_pct(1 - q['standard_tables'])} custom"
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
