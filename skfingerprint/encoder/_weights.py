"""Pretrained weights that ship inside the package (nothing is downloaded).

Each set of weights is two files in ``skfingerprint/encoder/weights/``:
``<name>.npz``, the DeepSet's state dict as plain arrays (read with
``allow_pickle=False``: the file cannot run code), and ``<name>.json``, what
made them (the architecture, the script and its configuration, the wall
time, a check on held-out data).  They are read only when an encoder is
fitted with ``weights=``, never at import.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

import numpy as np

__all__ = ["available_weights", "load_weights"]

_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")

# "pretrained" always names the newest shipped weights.
ALIASES = {"pretrained": "artifacts-v2"}

# DeepSet parameter -> the SetFingerprintEncoder parameter that sets it.
_PARAMETER_OF = {
    "embedding_dim": "embedding_dim",
    "channels": "channels",
    "n_full_res": "full_res_layers",
    "convs_per_stage": "convs_per_stage",
    "rho_hidden": "rho_hidden",
    "pooling": "pooling",
    "radius": "embedding_radius",
    "front_end": "front_end",
    "in_channels": None,  # the images' channels
}


def _shipped_names():
    if not os.path.isdir(_DIR):
        return []
    return sorted(f[:-5] for f in os.listdir(_DIR)
                  if f.endswith(".json") and os.path.isfile(os.path.join(_DIR, f[:-5] + ".npz")))


def available_weights():
    """The pretrained weights that ship with this installation.

    Returns
    -------
    weights : dict
        Name -> a short description (architecture, training data, image
        size, wall time of the training run).  ``"pretrained"`` is an alias
        of the newest name; it is listed too.

    Examples
    --------
    >>> from skfingerprint.encoder import available_weights
    >>> "pretrained" in available_weights()
    True
    """
    out = {}
    for name in _shipped_names():
        meta = _read_meta(name)
        out[name] = {
            "architecture": dict(meta["architecture"]),
            "image_size": meta.get("image_size"),
            "training_data": meta.get("training_data"),
            "wall_time_s": meta.get("wall_time_s"),
            "script": meta.get("script"),
        }
    for alias, name in ALIASES.items():
        if name in out:
            out[alias] = {**out[name], "alias_of": name}
    return out


@lru_cache(maxsize=None)
def _read_meta(name):
    with open(os.path.join(_DIR, f"{name}.json"), encoding="utf-8") as fh:
        return json.load(fh)


def resolve_weights(name):
    """The shipped name that ``name`` stands for; ``ValueError`` if none."""
    if not isinstance(name, str):
        raise TypeError(f"weights must be None or a str, got {type(name).__name__}.")
    resolved = ALIASES.get(name, name)
    if resolved not in _shipped_names():
        known = sorted(set(_shipped_names()) | {a for a, n in ALIASES.items()
                                                if n in _shipped_names()})
        raise ValueError(
            f"weights={name!r} does not name shipped weights; this installation has "
            f"{known or 'none'} (see skfingerprint.encoder.available_weights()). Use one "
            "of them, or weights=None to start from random weights.")
    return resolved


def load_weights(name):
    """The state dict and the description of shipped weights ``name``.

    Parameters
    ----------
    name : str
        A name of :func:`available_weights` (``"pretrained"`` included).

    Returns
    -------
    state : dict of str to ndarray
        The DeepSet's ``state_dict``, as NumPy arrays (read without pickle).
    meta : dict
        The description written with the weights (``architecture``,
        ``recipe``, ``wall_time_s``, ...).

    Raises
    ------
    ValueError
        No shipped weights have this name, or their file is damaged.
    """
    resolved = resolve_weights(name)
    try:
        state = read_state(os.path.join(_DIR, f"{resolved}.npz"))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"The shipped weights {resolved!r} could not be read ({exc}); reinstall "
            "skfingerprint.") from exc
    return state, dict(_read_meta(resolved))


def read_state(path):
    """The state dict in the ``.npz`` file ``path``, read without pickle."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: np.array(npz[key]) for key in npz.files}


def load_into(module, name):
    """Load the shipped weights ``name`` into the DeepSet ``module``, after
    checking that its architecture is the one they were trained with."""
    import torch

    state, meta = load_weights(name)
    check_architecture(name, meta, module.config)
    try:
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    except RuntimeError as exc:  # missing, unexpected or resized tensors
        raise ValueError(
            f"The shipped weights {name!r} do not match the layout of this version's "
            "DeepSet; reinstall skfingerprint or use weights=None.") from exc


def check_architecture(name, meta, architecture):
    """``ValueError`` naming every parameter in which ``architecture`` (the
    DeepSet's config) differs from the one the weights were trained with."""
    trained = meta["architecture"]
    wrong = []
    for key, param in _PARAMETER_OF.items():
        want, have = trained.get(key), architecture.get(key)
        if key == "channels":
            want, have = list(want), list(have)
        if want != have:
            what = f"{param}={have!r} (the weights need {want!r})" if param else (
                f"images with {have} channel(s) (the weights need {want}: convert "
                "them, e.g. to RGB)")
            wrong.append(what)
    if wrong:
        raise ValueError(
            f"weights={name!r} do not fit this encoder: " + "; ".join(wrong) + ". Leave "
            "these parameters at the values the weights were trained with, or use "
            "weights=None.")
