"""Ground-truth groups from a lineage tree."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "lineage": [Mapping],
        "depth": [Interval(numbers.Integral, 1, None, closed="left")],
        "labels": ["array-like", None],
        "sep": [str],
    },
    prefer_skip_nested_validation=True,
)
def lineage_groups(lineage, depth, labels=None, *, sep="/"):
    """Group the sources of a lineage tree by their ancestors at ``depth``.

    A dataset's ``lineage`` maps each source to its ancestry from the root of
    the tree, e.g. ``("diffusion", "autoencoder_kl", "unet_a", "ddim")``.
    Cutting the tree at ``depth`` puts the sources that share their first
    ``depth`` ancestors in one group: depth 1 separates the roots
    (``"diffusion"``, ``"gan"``, ...), depth 2 the sources sharing an
    autoencoder or a network, and so on.  A source whose lineage is shorter
    than ``depth`` is its own group (its whole lineage).

    Parameters
    ----------
    lineage : mapping
        Source name -> tuple (or list) of str, the ancestry of the source,
        as in the ``lineage`` field of :func:`make_model_zoo`'s Bunch.
    depth : int >= 1
        Number of leading ancestors that define a group.
    labels : array-like of shape (n_samples,), default=None
        Source labels to map; if given, the group of each label is returned
        instead of the mapping.
    sep : str, default="/"
        Separator joining the ancestors into a group name.

    Returns
    -------
    groups : dict or ndarray of shape (n_samples,)
        Source -> group name (``"diffusion/autoencoder_kl"``), or the group
        of each of ``labels`` as an array of str.

    Raises
    ------
    ValueError
        A lineage that is not a non-empty sequence of str, or a label
        missing from ``lineage``.

    Examples
    --------
    >>> from skfingerprint.datasets import lineage_groups
    >>> lineage = {"real": ("real",),
    ...            "ldm_a": ("diffusion", "autoencoder_kl", "unet_a"),
    ...            "ldm_b": ("diffusion", "autoencoder_kl", "unet_b"),
    ...            "score_ddim": ("diffusion", "pixel_unet", "ddim")}
    >>> lineage_groups(lineage, 2)["ldm_b"]
    'diffusion/autoencoder_kl'
    >>> lineage_groups(lineage, 1, ["ldm_a", "score_ddim", "real"]).tolist()
    ['diffusion', 'diffusion', 'real']
    """
    groups = {}
    for source, path in lineage.items():
        if isinstance(path, str) or not hasattr(path, "__len__") or len(path) == 0 or not all(
            isinstance(p, str) for p in path
        ):
            raise ValueError(
                f"the lineage of {source!r} must be a non-empty tuple of str "
                f"(ancestors from the root), got {path!r}."
            )
        groups[source] = sep.join(tuple(path)[:depth])
    if labels is None:
        return groups
    labels = np.asarray(labels)
    missing = sorted(set(labels.tolist()) - set(groups))
    if missing:
        raise ValueError(
            f"labels {missing[:5]} have no lineage; the lineage knows "
            f"{sorted(groups)[:10]}."
        )
    return np.array([groups[label] for label in labels.tolist()], dtype=str)
