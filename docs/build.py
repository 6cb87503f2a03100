"""Build the documentation: the API reference, then run every example.

One command, from the repository root, with the package installed::

    python docs/build.py                 # API reference + every example in quick mode
    python docs/build.py --no-examples   # only the API reference
    python docs/build.py --full          # examples at full size (minutes each)

The API reference is generated from the numpydoc docstrings of the public
objects (those in each module's ``__all__``) into ``docs/api/*.md``: plain
Markdown that GitHub and any Markdown site generator render, with no
dependency beyond the library itself.  The examples of ``examples/*.py`` are
run as scripts with ``--quick`` (and ``SKFINGERPRINT_EXAMPLES_QUICK=1``) in a
scratch folder; the build fails if one fails.  ``tests/test_docs_build.py``
runs this in CI.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (module, title, one-line description) in the order of the reference.
MODULES = [
    ("skfingerprint", "skfingerprint",
     "The set encoder, bags, persistence, baselines, the nearest-fingerprint "
     "classifier and the demo."),
    ("skfingerprint.classifiers", "skfingerprint.classifiers",
     "Nearest-fingerprint attribution, open-set rejection, enrollment of new "
     "sources."),
    ("skfingerprint.encoder", "skfingerprint.encoder",
     "The set encoder's modules and loss, and the shipped pretrained weights."),
    ("skfingerprint.augment", "skfingerprint.augment",
     "Post-processing of images (JPEG, resizing, blur, noise), for robustness."),
    ("skfingerprint.datasets", "skfingerprint.datasets",
     "Synthetic fingerprinted images, the model zoo, your own folders."),
    ("skfingerprint.metrics", "skfingerprint.metrics",
     "The fingerprint correlation matrix and the decorrelation score."),
    ("skfingerprint.cluster", "skfingerprint.cluster",
     "Model fingerprints, distances between sources, families."),
    ("skfingerprint.visualization", "skfingerprint.visualization",
     "Displays in the style of scikit-learn's."),
    ("skfingerprint.cli", "skfingerprint.cli", "The ``skfingerprint`` command."),
]

_SECTION_RE = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}$", re.M)
_ROLE_RE = re.compile(r":(?:[a-z]+:)?[a-z]+:`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`")
_MISSING_RE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
_ITEM_SECTIONS = {"Parameters", "Attributes", "Returns", "Yields", "Raises", "Warns",
                  "Other Parameters", "Receives", "See Also"}


# ---------------------------------------------------------------------------
# numpydoc -> markdown
# ---------------------------------------------------------------------------


def _roles(text):
    """``:func:`~a.b.c``` -> ```c```; ``x`` (reST literal) -> `x`."""
    def role(m):
        tilde, target, explicit = m.groups()
        name = explicit or target
        if tilde:
            name = name.rsplit(".", 1)[-1]
        return f"`{name.strip()}`"

    text = _ROLE_RE.sub(role, text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _literal_blocks(text):
    """reST ``::`` literal blocks -> fenced code blocks."""
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.strip().startswith(">>>"):
            stripped = line.rstrip()[:-2].rstrip()
            out.append(stripped + (":" if stripped and not stripped.endswith(":") else ""))
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```text", textwrap.dedent("\n".join(block)).strip("\n"), "```", ""]
        else:
            out.append(line)
            i += 1
    return "\n".join(out)


_FENCE_RE = re.compile(r"(```[a-z]*\n.*?\n```)", re.S)


_VERSION_RE = re.compile(
    r"^( *)\.\. version(added|changed):: *(\S+)\n((?:\1 +\S.*(?:\n|$))*)", re.M
)


def _version_notes(text):
    """``.. versionchanged:: X`` (and ``versionadded``) as an italic lead-in."""
    def note(m):
        indent, kind, version, body = m.groups()
        words = " ".join(line.strip() for line in body.splitlines() if line.strip())
        return f"{indent}*{kind.capitalize()} in version {version}:* {words}\n"

    return _VERSION_RE.sub(note, text)


def _prose(text):
    """Literal blocks fenced, roles converted outside the fences."""
    parts = _FENCE_RE.split(_literal_blocks(_version_notes(text.strip("\n"))))
    return "".join(p if p.startswith("```") else _roles(p) for p in parts)


def _split_sections(doc):
    """Return (summary and extended text, [(section title, body), ...])."""
    matches = list(_SECTION_RE.finditer(doc))
    head = doc[: matches[0].start()] if matches else doc
    sections = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(doc)
        sections.append((m.group(1).strip(), doc[m.end():end].strip("\n")))
    return head.strip(), sections


def _items(body):
    """numpydoc entries ``name : type`` + indented description."""
    entries, current = [], None
    for line in body.split("\n"):
        if line and not line.startswith((" ", "\t")):
            current = [line.strip(), []]
            entries.append(current)
        elif current is not None:
            current[1].append(line)
    out = []
    for head, desc in entries:
        name, _, typ = head.partition(" : ")
        text = _prose(textwrap.dedent("\n".join(desc)))
        label = f"**{_roles(name.strip())}**"
        if typ:
            label += f" : *{_roles(typ.strip())}*"
        # Indent continuation lines so that lists and code stay in the item.
        text = textwrap.indent(text, "  ").strip() if text else ""
        out.append(f"- {label}" + (f"  \n  {text}" if text else ""))
    return "\n".join(out)


def _examples(body):
    code = textwrap.dedent(body).strip("\n")
    return f"```pycon\n{code}\n```"


def docstring_to_markdown(doc, level=3):
    """Markdown of a numpydoc docstring (sections become bold headings)."""
    doc = inspect.cleandoc(doc or "")
    head, sections = _split_sections(doc)
    parts = [_prose(head)] if head else []
    for title, body in sections:
        if title in _ITEM_SECTIONS:
            rendered = _items(body)
        elif title == "Examples":
            rendered = _examples(body)
        else:
            rendered = _prose(textwrap.dedent(body))
        parts.append(f"{'#' * (level + 1)} {title}\n\n{rendered}")
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------
# objects
# ---------------------------------------------------------------------------


def _signature(obj, name):
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        sig = "(...)"
    return f"{name}{sig}"


def _methods(cls):
    out = []
    for name, member in cls.__dict__.items():
        if name.startswith("_"):
            continue
        func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if inspect.isfunction(func) and func.__doc__:
            out.append((name, func, isinstance(member, classmethod)))
    return out


def _summary(obj):
    doc = inspect.cleandoc(obj.__doc__ or "")
    return _roles(doc.split("\n\n")[0].replace("\n", " ")) if doc else ""


def render_object(modname, name, obj):
    lines = [f"## {name}", "", "```python", _signature(obj, f"{modname}.{name}"), "```", ""]
    lines.append(docstring_to_markdown(obj.__doc__, level=3))
    if inspect.isclass(obj):
        for mname, func, is_cls in _methods(obj):
            call = func if not is_cls else func.__get__(None, obj)
            sig = _signature(call, mname)
            if not is_cls:  # drop `self`
                sig = re.sub(r"\(self,?\s*", "(", sig, count=1)
            lines += ["", f"### {name}.{mname}", "", "```python", sig, "```", "",
                      docstring_to_markdown(func.__doc__, level=4)]
    return "\n".join(lines)


def public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return [n for n in names if not n.startswith("__")]


def build_api(out_dir):
    """Write ``out_dir/index.md`` and one page per module; return the pages."""
    os.makedirs(out_dir, exist_ok=True)
    index = ["# API reference", "",
             "Generated from the numpydoc docstrings by `python docs/build.py`; do "
             "not edit by hand.", ""]
    pages, missing = [], []
    for modname, title, descr in MODULES:
        module = importlib.import_module(modname)
        names = public_names(module)
        mdoc = inspect.cleandoc(module.__doc__ or "")
        page = [f"# {title}", "", _prose(mdoc) if mdoc else _roles(descr), ""]
        index += [f"## [{title}]({modname}.md)", "", _roles(descr), "",
                  "| object | summary |", "|---|---|"]
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not obj.__doc__:
                missing.append(f"{modname}.{name}")
            page += [render_object(modname, name, obj), ""]
            anchor = name.lower()
            index.append(f"| [`{name}`]({modname}.md#{anchor}) | {_summary(obj)} |")
        index.append("")
        path = os.path.join(out_dir, f"{modname}.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(page).rstrip() + "\n")
        pages.append(path)
    with open(os.path.join(out_dir, "index.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(index).rstrip() + "\n")
    return pages, missing


# ---------------------------------------------------------------------------
# examples
# ---------------------------------------------------------------------------


def run_examples(quick=True, timeout=600, only=None):
    """Run ``examples/*.py``; return [(name, seconds, returncode, output tail)].

    A script that fails only because an optional dependency is missing (a
    ``ModuleNotFoundError`` for a module outside skfingerprint) is reported
    as skipped, with return code None.
    """
    folder = os.path.join(ROOT, "examples")
    scripts = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
    if only:
        scripts = [s for s in scripts if s in only or s[:-3] in only]
    env = dict(os.environ, MPLBACKEND="Agg")
    if quick:
        env["SKFINGERPRINT_EXAMPLES_QUICK"] = "1"
    results = []
    for script in scripts:
        cmd = [sys.executable, os.path.join(folder, script)] + (["--quick"] if quick else [])
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            try:
                proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True,
                                      text=True, timeout=timeout)
                code, output = proc.returncode, proc.stdout + proc.stderr
            except subprocess.TimeoutExpired as exc:
                code, output = -1, f"timed out after {timeout} s\n{exc.stdout or ''}"
        seconds = time.perf_counter() - start
        missing = _MISSING_RE.search(output) if code != 0 else None
        if missing and not missing.group(1).startswith("skfingerprint"):
            # An optional dependency (e.g. dask for the scale-out example).
            code, status = None, f"skipped (needs {missing.group(1)})"
        else:
            status = "ok" if code == 0 else f"FAILED ({code})"
        results.append((script, seconds, code, output[-3000:]))
        print(f"  {script:<32s} {seconds:6.1f} s  {status}", flush=True)
        if code not in (0, None):
            print(textwrap.indent(output[-3000:], "    | "))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Build the API reference and run every example.",
        epilog="example: python docs/build.py --no-examples --api-dir /tmp/api",
    )
    parser.add_argument("--api-dir", default=os.path.join(HERE, "api"),
                        help="where to write the API reference (default: docs/api)")
    parser.add_argument("--no-examples", action="store_true", help="do not run the examples")
    parser.add_argument("--full", action="store_true",
                        help="run the examples at full size instead of --quick")
    parser.add_argument("--only", nargs="+", metavar="EXAMPLE", help="run only these examples")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per example")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    pages, missing = build_api(args.api_dir)
    print(f"API reference: {len(pages)} pages in {os.path.relpath(args.api_dir)}")
    if missing:
        print(f"error: public objects without a docstring: {', '.join(missing)}")
        return 1
    if args.no_examples:
        return 0
    print(f"examples ({'full' if args.full else 'quick'} mode):")
    results = run_examples(quick=not args.full, timeout=args.timeout, only=args.only)
    failed = [r[0] for r in results if r[2] not in (0, None)]
    print(f"{len(results) - len(failed)}/{len(results)} examples ran in "
          f"{time.perf_counter() - start:.0f} s" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
