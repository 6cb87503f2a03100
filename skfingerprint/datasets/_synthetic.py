"""Synthetic fingerprinted images: real photo crops plus known model artifacts."""

from __future__ import annotations

import numbers
import string

import numpy as np
from sklearn.utils import check_random_state

from ._base import make_dataset_bunch
from ._photos import random_crops

__all__ = ["make_fingerprinted_images"]

_DESCR = """\
Synthetic fingerprinted images (skfingerprint.datasets.make_fingerprinted_images)
===============================================================================

SYNTHETIC DATA. Not produced by generative models: real photograph crops
(scikit-image's and scikit-learn's shipped colour samples, anti-aliased,
randomly cropped and flipped) to which a known, fixed additive artifact is
added per model.  Use it for tests and quick experiments; use
make_model_zoo for images of real (small) generative models.

Artifact of a model = sqrt(family_share) * family pattern
                    + sqrt(1 - family_share) * model pattern,
each pattern a zero-mean, unit-variance periodic tile (the shape of the
upsampling artifacts of generative models), scaled by ``strength`` * 255.
Models of one family share their family pattern, so the family structure is
known.  Independent Gaussian pixel noise (``noise``) is added to every image.
"""


def _family_name(f):
    letters = string.ascii_uppercase
    return letters[f] if f < 26 else f"F{f}"


def _tile_pattern(rng, period, image_size, n_channels=3):
    tile = rng.standard_normal((period, period, n_channels))
    reps = -(-image_size // period)
    pattern = np.tile(tile, (reps, reps, 1))[:image_size, :image_size]
    pattern = pattern - pattern.mean()
    std = pattern.std()
    return pattern / std if std > 0 else pattern


def make_fingerprinted_images(
    n_models=8,
    *,
    n_families=2,
    n_images_per_model=200,
    image_size=32,
    strength=0.02,
    family_share=0.5,
    noise=0.01,
    include_real=False,
    random_state=None,
    return_X_y=False,
):
    """Make synthetic images of models that leave known artifacts.

    **Synthetic data** for tests and quick experiments: crops of real
    photographs that ship with scikit-image and scikit-learn, plus a fixed
    additive artifact per model.  Models are grouped in families whose
    members share part of their artifact.  Nothing is downloaded.

    Parameters
    ----------
    n_models : int, default=8
        Number of (simulated) generative models.
    n_families : int, default=2
        Number of families; models are dealt to families in turn.
    n_images_per_model : int, default=200
        Images per model (and for ``"real"`` when included).
    image_size : int, default=32
        Side of the square images.
    strength : float, default=0.02
        Standard deviation of the artifact, as a fraction of the pixel range
        (0.02 is about 5 grey levels): the difficulty knob.
    family_share : float in [0, 1], default=0.5
        Fraction of the artifact variance shared within a family.
    noise : float, default=0.01
        Standard deviation of independent per-pixel Gaussian noise, as a
        fraction of the pixel range, added to every image.
    include_real : bool, default=False
        Also return unaltered crops (with the same pixel noise) labelled
        ``"real"``.
    random_state : int, RandomState instance or None, default=None
        Seed of the crops, artifacts and noise.
    return_X_y : bool, default=False
        If True, return ``(images, labels)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Built by :func:`~skfingerprint.datasets._base.make_dataset_bunch`:
        - ``images``: ndarray of shape (n_sources * n_images_per_model,
          image_size, image_size, 3), uint8.
        - ``labels``: ndarray of str, the source of each image (models are
          named by family letter and number: ``"A1"``, ``"A2"``, ``"B1"``...).
        - ``families``: dict source -> family letter (``"real"`` -> ``"real"``).
        - ``sources``: ndarray of the source names (sorted, ``"real"`` last).
        - ``lineage``: dict source -> ``(family, source)``.
        - ``artifacts``: dict source -> the artifact added (float array of
          shape (image_size, image_size, 3), in grey levels).
        - ``DESCR``: description.

    (images, labels) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> data = make_fingerprinted_images(n_models=4, n_images_per_model=10,
    ...                                  image_size=16, random_state=0)
    >>> data.images.shape, data.images.dtype.name
    ((40, 16, 16, 3), 'uint8')
    >>> data.families
    {'A1': 'A', 'A2': 'A', 'B1': 'B', 'B2': 'B'}
    """
    for name, value, low in (
        ("n_models", n_models, 1),
        ("n_families", n_families, 1),
        ("n_images_per_model", n_images_per_model, 1),
        ("image_size", image_size, 4),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if n_families > n_models:
        raise ValueError(
            f"n_families={n_families} exceeds n_models={n_models}; every family "
            "needs at least one model."
        )
    for name, value in (("strength", strength), ("noise", noise)):
        if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    if (
        isinstance(family_share, bool)
        or not isinstance(family_share, numbers.Real)
        or not (0.0 <= family_share <= 1.0)
    ):
        raise ValueError(f"family_share must be in [0, 1], got {family_share!r}.")

    rng = check_random_state(random_state)
    fam_patterns = [
        _tile_pattern(rng, period=2 + (f % 3), image_size=image_size)
        for f in range(n_families)
    ]
    sources, families, artifacts = [], {}, {}
    counters = [0] * n_families
    for m in range(n_models):
        f = m % n_families
        counters[f] += 1
        name = f"{_family_name(f)}{counters[f]}"
        own = _tile_pattern(rng, period=4 + (m % 5), image_size=image_size)
        art = np.sqrt(family_share) * fam_patterns[f] + np.sqrt(1 - family_share) * own
        art = art / art.std()  # exactly `strength` * 255 grey levels of std
        artifacts[name] = (strength * 255.0 * art).astype(np.float32)
        families[name] = _family_name(f)
        sources.append(name)
    sources = sorted(sources)
    families = {s: families[s] for s in sources}
    if include_real:
        sources.append("real")
        families["real"] = "real"
        artifacts["real"] = np.zeros((image_size, image_size, 3), dtype=np.float32)

    n = n_images_per_model
    crops = random_crops(n * len(sources), image_size, random_state=rng)
    images = np.empty_like(crops)
    labels = np.empty(n * len(sources), dtype=object)
    for s, name in enumerate(sources):
        sl = slice(s * n, (s + 1) * n)
        noisy = crops[sl].astype(np.float32) + artifacts[name]
        noisy += rng.standard_normal(noisy.shape).astype(np.float32) * (noise * 255.0)
        images[sl] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
        labels[sl] = name
    if return_X_y:
        return images, labels.astype(str)
    return make_dataset_bunch(
        images=images,
        labels=labels,
        sources=sources,
        families=families,
        DESCR=_DESCR,
        artifacts=artifacts,
    )
