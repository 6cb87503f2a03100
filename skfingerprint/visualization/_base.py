"""Shared helpers of the Display objects (matplotlib is imported lazily)."""

import numpy as np


def _import_pyplot():
    """Import ``matplotlib.pyplot``, or say how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency of skfingerprint. "
            'Install it with: pip install "skfingerprint[plots]"'
        ) from exc
    return plt


def _get_ax(ax):
    """Return ``(figure, ax)``, creating both when ``ax`` is None."""
    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots()
    return ax.figure, ax


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


def _family_colors(families):
    """Map each distinct family (in order of first appearance) to a colour."""
    plt = _import_pyplot()
    cmap = plt.get_cmap("tab10" if len(set(families)) <= 10 else "tab20")
    colors = {}
    for family in families:
        if family not in colors:
            colors[family] = cmap(len(colors) % cmap.N)
    return colors
