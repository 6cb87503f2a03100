"""Shared pieces of parameter validation (scikit-learn's constraint system).

Estimators declare ``_parameter_constraints`` with these building blocks;
what the constraints cannot express (the contents of a tuple, whether CUDA is
available) is checked by the small functions here, so that each rule has one
implementation.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

__all__ = [
    "POSITIVE_INT",
    "NON_NEGATIVE_INT",
    "POSITIVE_FINITE",
    "check_int_tuple",
    "resolve_device",
]

POSITIVE_INT = Interval(numbers.Integral, 1, None, closed="left")
NON_NEGATIVE_INT = Interval(numbers.Integral, 0, None, closed="left")
POSITIVE_FINITE = Interval(numbers.Real, 0, np.inf, closed="neither")


def check_int_tuple(name, value, *, odd=False):
    """A non-empty sequence of positive (odd) integers, as a tuple of int.

    The part of ``channels``/``windows`` that parameter constraints cannot
    express (they check only that the value is a tuple or array-like).
    """
    kind = "odd positive" if odd else "positive"
    items = list(np.ravel(np.asarray(value, dtype=object)))
    if not items or any(
        isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1
        or (odd and v % 2 == 0)
        for v in items
    ):
        raise ValueError(
            f"The {name!r} parameter must be a non-empty tuple of {kind} integers "
            f"(e.g. (16, 32)); got {value!r}."
        )
    return tuple(int(v) for v in items)


def resolve_device(device, name="device"):
    """The torch device string for ``device`` (``"auto"``: CUDA when available).

    Raises a ValueError for a string torch does not know and for a CUDA
    device on a machine without CUDA.
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"The {name!r} parameter must be 'auto', 'cpu', 'cuda' or a torch device, "
            f"got {device!r}."
        ) from None
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"{name}={device!r} but CUDA is not available here; use {name}='auto' "
            "or 'cpu'."
        )
    return str(device)


def available_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1
