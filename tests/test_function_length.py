"""No function of the package is over 100 lines of code (issue 39).

Long functions were where one concept leaked into another (``check_bags``
154 lines, the encoder's ``_fit`` 155, ``run_demo`` 146); they are split into
named steps.  The docstring, blank lines and comment lines do not count.
"""

import ast
import pathlib

import skfingerprint

MAX_LINES = 100
PACKAGE = pathlib.Path(skfingerprint.__file__).parent


def code_lines(node, lines):
    """Lines of code of a function: no docstring, blank or comment line."""
    first = node.body[0]
    skip = set()
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        skip = set(range(first.lineno, first.end_lineno + 1))
    return sum(
        1 for i in range(first.lineno, node.end_lineno + 1)
        if i not in skip and lines[i - 1].strip()
        and not lines[i - 1].strip().startswith("#")
    )


def long_functions(package, limit=MAX_LINES):
    found = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(node, lines)
                if n > limit:
                    found.append(f"{path.relative_to(package)}:{node.name} ({n} lines)")
    return found


def test_no_function_of_the_package_is_over_100_lines():
    assert long_functions(PACKAGE) == []


def test_the_count_skips_docstrings_and_comments_but_sees_code(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(101))
    (tmp_path / "long.py").write_text(
        f'def long():\n    """Doc.\n\n    More doc.\n    """\n    # a comment\n{body}\n'
    )
    (tmp_path / "short.py").write_text(
        'def short():\n    """' + "\n".join(["doc"] * 200) + '"""\n    return 1\n'
    )
    assert long_functions(tmp_path) == ["long.py:long (101 lines)"]
