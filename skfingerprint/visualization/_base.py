"""Shared parts of the Display objects: matplotlib set-up, per-source data, constraints.

matplotlib is imported only when something is drawn, through scikit-learn's
:func:`~sklearn.utils.check_matplotlib_support`.
"""

import inspect
from collections.abc import Mapping

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import HasMethods

from .._embeddings import resolve_labels, validate_embeddings

# Constraints shared by the Displays' methods (validate_params).
AX_CONSTRAINT = [None, HasMethods(["plot"])]
KW_CONSTRAINT = [None, dict]
# Arguments of from_predictions that choose the sources and name their families.
SOURCE_CONSTRAINTS = {
    "Z": ["array-like"],
    "y": ["array-like"],
    "labels": [None, "array-like"],
    "fingerprints": [None, "array-like"],
    "families": [None, Mapping, "array-like"],
}
# from_estimator: anything skfingerprint.metrics.DecorrelationScorer can embed with.
ESTIMATOR_CONSTRAINTS = {"estimator": [HasMethods(["transform"]), Pipeline]}


def _import_pyplot(caller_name):
    """``matplotlib.pyplot``, or an ImportError naming ``caller_name``."""
    check_matplotlib_support(caller_name)
    import matplotlib.pyplot as plt

    return plt


def _get_ax(ax, caller_name):
    """Return ``(figure, ax)``, creating both when ``ax`` is None."""
    plt = _import_pyplot(caller_name)
    if ax is None:
        _, ax = plt.subplots()
    return ax.figure, ax


def _forward(method, arguments):
    """The entries of ``arguments`` (a ``locals()``) that ``method`` takes as keywords.

    For a ``from_*`` method handing its keyword arguments on to the method
    that does the work (``from_estimator`` to ``from_predictions``, which
    hands the drawing options on to ``plot``): the options are then listed
    in the signatures, as scikit-learn's Displays do, but forwarded once.
    """
    names = inspect.signature(method).parameters
    return {
        name: arguments[name]
        for name, p in names.items()
        if name in arguments and name not in ("self", "cls") and p.kind == p.KEYWORD_ONLY
    }


def _checked_sources(Z, y, labels):
    """The sources of a ``from_predictions`` call: ``labels`` or the sorted ``y``."""
    _, y_checked = validate_embeddings(Z, y)
    classes, _ = resolve_labels(y_checked, labels)
    return classes


def _as_per_source(families, classes, name="families"):
    """Turn a mapping source -> value, or an array aligned with ``classes``, into an array."""
    if families is None:
        return None
    if hasattr(families, "keys"):
        missing = [c for c in classes.tolist() if c not in families]
        if missing:
            raise ValueError(f"{name} has no entry for the sources {missing}.")
        return np.asarray([families[c] for c in classes.tolist()], dtype=object)
    values = np.asarray(families, dtype=object)
    if values.shape != (classes.size,):
        raise ValueError(
            f"{name} must be a mapping source -> family or an array of shape "
            f"({classes.size},) aligned with the sorted sources (or labels); "
            f"got shape {values.shape}."
        )
    return values


def _family_colors(families, caller_name):
    """Map each distinct family (in order of first appearance) to a colour."""
    plt = _import_pyplot(caller_name)
    cmap = plt.get_cmap("tab10" if len(set(families)) <= 10 else "tab20")
    colors = {}
    for family in families:
        if family not in colors:
            colors[family] = cmap(len(colors) % cmap.N)
    return colors
