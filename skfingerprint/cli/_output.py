"""Output of the command: terminal-safe text, tables and JSON."""

from __future__ import annotations

import json
import os
import sys


def safe(text):
    """``text`` with control characters (terminal escape codes) escaped.

    File and source names come from the user's disk and a model file: printed
    raw, an escape sequence in one could rewrite the terminal.

    >>> safe("gan\\x1b[2J")
    'gan\\\\x1b[2J'
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def print_json(obj):
    """JSON for machines (non-ASCII and control characters are escaped)."""
    json.dump(obj, sys.stdout, indent=2)
    print()


def _short_files(files):
    names = [safe(os.path.basename(f)) for f in files]
    more = f", ... ({len(names) - 3} more)" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def print_attribution(results, classes, unknown_label):
    """The table of ``skfingerprint attribute``: one line per bag."""
    width = max([len(safe(c)) for c in classes] + [len("runner-up"), len(unknown_label)])
    print(f"{'bag':>4}  {'images':>6}  {'source':<{width}}  {'prob':>5}  {'score':>6}  "
          f"{'runner-up':<{width}}  {'prob':>5}  files")
    for r in results:
        ru = safe(r["runner_up"] or "-")
        rp = "-" if r["runner_up_probability"] is None else f"{r['runner_up_probability']:.3f}"
        if r["source"] != r["nearest_source"]:  # rejected: show the nearest instead
            ru, rp = safe(r["nearest_source"]), f"{r['probability']:.3f}"
        print(f"{r['bag'] + 1:>4}  {r['n_images']:>6}  {safe(r['source']):<{width}}  "
              f"{r['probability']:.3f}  {r['score']:>6.3f}  {ru:<{width}}  {rp:>5}  "
              f"{_short_files(r['files'])}")
        if r.get("nearest_relatives"):
            print(" " * 6 + "nearest relatives (residual spectrum): " + ", ".join(
                f"{safe(k['source'])} ({k['distance']:.3f})" for k in r["nearest_relatives"]))


def print_families(rows, *, n_sources, n_bags, bag_size, with_families):
    """The table of ``skfingerprint families``, in dendrogram order."""
    width = max([len(safe(r["source"])) for r in rows] + [len("nearest source")])
    head = f"{'source':<{width}}  {'nearest source':<{width}}  distance"
    print(f"{n_sources} sources, {n_bags} bags of {bag_size} images, in dendrogram order:")
    print(head + ("  family" if with_families else ""))
    for r in rows:
        line = f"{safe(r['source']):<{width}}  {safe(r['nearest']):<{width}}  {r['distance']:8.3f}"
        if with_families:
            line += f"  {r['family']:>6d}"
        print(line)
