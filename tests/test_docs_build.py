"""CI for the documentation: the API reference builds and every example runs quickly."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "docs", "build.py")


def _load_build():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_covers_every_public_object(tmp_path):
    build = _load_build()
    pages, missing = build.build_api(str(tmp_path))
    assert missing == []
    index = (tmp_path / "index.md").read_text()
    import skfingerprint
    from skfingerprint import augment, classifiers, cluster, datasets, metrics, visualization

    for module in (skfingerprint, classifiers, augment, datasets, metrics, cluster,
                   visualization):
        page = (tmp_path / f"{module.__name__}.md").read_text()
        for name in module.__all__:
            if name.startswith("__"):
                continue
            assert f"`{name}`" in index
            assert f"## {name}\n" in page
    # numpydoc sections become headings and items; roles become code spans.
    page = (tmp_path / "skfingerprint.md").read_text()
    assert "#### Parameters" in page and "- **bag_size** : *int*" in page
    assert ":class:" not in page and ":func:" not in page


def test_docstring_to_markdown():
    build = _load_build()
    doc = """Do a thing with :func:`~skfingerprint.make_bags`.

    Parameters
    ----------
    x : int, default=1
        The ``x``.

    Examples
    --------
    >>> 1 + 1
    2
    """

    md = build.docstring_to_markdown(doc)
    assert md.startswith("Do a thing with `make_bags`.")
    assert "- **x** : *int, default=1*  \n  The `x`." in md
    assert "```pycon\n>>> 1 + 1\n2\n```" in md
    md = build.docstring_to_markdown("A tree::\n\n    root/``a``.png\n\nDone with ``b``.")
    assert md == "A tree:\n\n```text\nroot/``a``.png\n```\n\nDone with `b`."


def test_every_example_runs_in_quick_mode(tmp_path):
    # The documented build command, API reference written to a scratch folder.
    proc = subprocess.run([sys.executable, BUILD, "--api-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "FAILED" not in proc.stdout
