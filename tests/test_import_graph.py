"""The package's import graph: no cycle between its parts, every arrow downward.

The imports are read with :mod:`ast` from the source files (nothing is
imported): every ``import`` and ``from ... import`` inside ``skfingerprint/``,
absolute or relative, at module level or inside a function.  A *part* is a
subpackage (``skfingerprint.cluster``) or a top-level module
(``skfingerprint._bags``); imports inside one part are not arrows.  ``from
skfingerprint import name`` goes to the module that the package's lazy table
(``_LAZY`` in ``skfingerprint/__init__.py``) names for ``name``.
"""

import ast
import os

import pytest

import skfingerprint

PACKAGE = "skfingerprint"
ROOT = os.path.dirname(skfingerprint.__file__)

# The layers, lowest first.  A part may import only parts of strictly lower
# layers; parts of one layer never import each other.  Every part of the
# package must be listed (a new module or subpackage must be placed here).
LAYERS = [
    # the package itself: its __init__ imports nothing (its names are lazy)
    ["skfingerprint"],
    # core private modules with no import of the package
    ["skfingerprint._atomic", "skfingerprint._io", "skfingerprint._patches",
     "skfingerprint._validation", "skfingerprint._training", "skfingerprint._net_state",
     "skfingerprint._pipeline"],
    # core private modules on top of those
    ["skfingerprint._bags", "skfingerprint._threads", "skfingerprint._persistence"],
    ["skfingerprint._embeddings"],
    ["skfingerprint.augment"],
    ["skfingerprint.metrics", "skfingerprint.datasets"],
    ["skfingerprint.baselines", "skfingerprint.encoder"],
    ["skfingerprint.classifiers"],
    ["skfingerprint.cluster"],
    ["skfingerprint.visualization"],
    ["skfingerprint._demo"],
    ["skfingerprint.cli"],
]
LEVEL = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def _module_name(path):
    rel = os.path.relpath(path, os.path.dirname(ROOT))[: -len(".py")]
    parts = rel.split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _source_files():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _lazy_table():
    with open(os.path.join(ROOT, "__init__.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "_LAZY"):
            table = ast.literal_eval(node.value)
            return {name: PACKAGE + target for name, target in table.items()}
    return {}


def _is_module(dotted):
    path = os.path.join(os.path.dirname(ROOT), *dotted.split("."))
    return os.path.isdir(path) or os.path.isfile(path + ".py")


def _imported_modules(path):
    """(line, module, name) of every import in the file at ``path``.

    ``name`` is what a ``from`` import takes from ``module`` (None when it is
    a module itself, or for a plain ``import``).
    """
    module = _module_name(path)
    is_package = path.endswith("__init__.py")
    lazy = _lazy_table()
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                if node.module:
                    base = base + node.module.split(".")
                target = ".".join(base)
            else:
                target = node.module
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if target == PACKAGE and alias.name in lazy:
                    yield node.lineno, lazy[alias.name], None
                elif _is_module(full):
                    yield node.lineno, full, None
                else:
                    yield node.lineno, target, alias.name


def _part(dotted):
    """``skfingerprint.X`` of a dotted module name of the package, else None."""
    names = dotted.split(".")
    if names[0] != PACKAGE:
        return None
    return ".".join(names[:2])


def _arrows():
    """{(from_part, to_part): [where, ...]} between different parts."""
    arrows = {}
    for path in _source_files():
        src = _part(_module_name(path))
        for line, target, _ in _imported_modules(path):
            dst = _part(target)
            if dst is None or dst == src:
                continue
            where = f"{os.path.relpath(path, os.path.dirname(ROOT))}:{line} imports {target}"
            arrows.setdefault((src, dst), []).append(where)
    return arrows


def _parts():
    found = set()
    for path in _source_files():
        found.add(_part(_module_name(path)))
    return found


def _cycles(arrows):
    """Strongly connected components of more than one part (Tarjan)."""
    graph = {}
    for src, dst in arrows:
        graph.setdefault(src, set()).add(dst)
        graph.setdefault(dst, set())
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_reader_sees_relative_and_function_level_imports():
    # The reader itself, on the package's own files: _bags imports _io at
    # module level (relative); cluster's NearestRelatives imports the
    # classifier inside fit.
    arrows = _arrows()
    assert ("skfingerprint._bags", "skfingerprint._io") in arrows
    assert ("skfingerprint.cluster", "skfingerprint.classifiers") in arrows
    assert ("skfingerprint.cli", "skfingerprint._demo") in arrows  # via the lazy table


def test_every_part_has_a_layer():
    missing = sorted(_parts() - set(LEVEL))
    assert not missing, (
        f"{missing} are not in LAYERS of {__file__}; place each in the layer "
        "of the parts it may import from (strictly above them).")


def test_no_cycle_between_parts():
    arrows = _arrows()
    cycles = _cycles(arrows)
    detail = []
    for component in cycles:
        for (src, dst), where in sorted(arrows.items()):
            if src in component and dst in component:
                detail += where
    assert not cycles, "Import cycles between parts of the package:\n" + "\n".join(
        [" <-> ".join(c) for c in cycles] + detail)


def test_every_import_goes_down_the_layers():
    upward = []
    for (src, dst), where in sorted(_arrows().items()):
        if src in LEVEL and dst in LEVEL and LEVEL[dst] >= LEVEL[src]:
            upward += where
    assert not upward, (
        "Imports that do not go to a strictly lower layer (see LAYERS):\n"
        + "\n".join(upward))


@pytest.mark.parametrize("part", sorted(set(LEVEL) - {PACKAGE}))
def test_no_private_name_from_another_part(part):
    # ``from skfingerprint.<other subpackage>._module import name`` or ``from
    # skfingerprint.<other subpackage> import _name``: private to that
    # subpackage.  Core top-level modules (``skfingerprint._bags``) are shared.
    bad = []
    for path in _source_files():
        src = _part(_module_name(path))
        if src != part:
            continue
        for line, target, name in _imported_modules(path):
            dst = _part(target)
            if dst is None or dst == src or not os.path.isdir(
                    os.path.join(os.path.dirname(ROOT), *dst.split("."))):
                continue
            inner = target.split(".")[2:] + ([name] if name else [])
            if any(n.startswith("_") and not n.startswith("__") for n in inner):
                bad.append(f"{os.path.relpath(path, os.path.dirname(ROOT))}:{line} "
                           f"imports {target}" + (f".{name}" if name else ""))
    assert not bad, "Private modules of another subpackage imported:\n" + "\n".join(bad)
