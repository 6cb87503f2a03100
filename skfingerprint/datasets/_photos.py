"""Real photographs that ship inside installed packages, and crops of them.

No file is downloaded: the photographs are the colour sample images that
scikit-image and scikit-learn install with their wheels.  They are the "real"
images of :func:`make_fingerprinted_images` and the training data of the
model zoo.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from .._io import read_image

# Colour photographs in scikit-image's wheel (not its pooch-fetched extras).
_SKIMAGE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)


def _photo_paths():
    paths = []
    import skimage

    skdir = os.path.join(os.path.dirname(skimage.__file__), "data")
    paths += [os.path.join(skdir, name) for name in _SKIMAGE_PHOTOS]
    import sklearn.datasets

    sldir = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    paths += [os.path.join(sldir, name) for name in ("china.jpg", "flower.jpg")]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise RuntimeError(
            "The sample photographs shipped with scikit-image/scikit-learn were "
            f"not found ({missing[0]!r}); reinstall scikit-image and scikit-learn."
        )
    return tuple(paths)


@lru_cache(maxsize=1)
def _load_photos_cached():
    photos = []
    for path in _photo_paths():
        img = read_image(path, mode="RGB")
        img.setflags(write=False)
        photos.append(img)
    return tuple(photos)


def load_photos():
    """Return the shipped colour photographs as read-only uint8 RGB arrays.

    Returns
    -------
    photos : tuple of ndarray of shape (H_i, W_i, 3), dtype uint8
        Eleven photographs of different sizes (scikit-image's colour samples
        and scikit-learn's ``china.jpg`` and ``flower.jpg``).

    Examples
    --------
    >>> from skfingerprint.datasets._photos import load_photos
    >>> photos = load_photos()
    >>> len(photos) >= 10, photos[0].dtype.name
    (True, 'uint8')
    """
    return _load_photos_cached()


def _downscale(photo, factor):
    """Area-average downscaling by an integer factor (anti-aliased)."""
    if factor <= 1:
        return photo.astype(np.float32)
    h = (photo.shape[0] // factor) * factor
    w = (photo.shape[1] // factor) * factor
    p = photo[:h, :w].astype(np.float32)
    return p.reshape(h // factor, factor, w // factor, factor, 3).mean(axis=(1, 3))


_MAX_CROP = 256


@lru_cache(maxsize=8)
def _pyramid(image_size):
    """Each photo at a few anti-aliased scales that keep it >= 2 x image_size
    (>= image_size above 128 pixels); returns (levels, photo index of each)."""
    levels, owners = [], []
    min_side = 2 * image_size if image_size <= 128 else image_size
    for k, photo in enumerate(load_photos()):
        short = min(photo.shape[:2])
        for factor in (1, 2, 3, 4, 6, 8):
            if short // factor < min_side:
                break
            scaled = _downscale(photo, factor)
            scaled.setflags(write=False)
            levels.append(scaled)
            owners.append(k)
    return tuple(levels), tuple(owners)


def random_crops(n, image_size, *, random_state=None, photos=None):
    """Random anti-aliased crops (with horizontal flips) of the shipped photos.

    One fixed preprocessing for every "real" image in the library: each photo
    is downscaled by an integer factor (area averaging, which is
    anti-aliasing), a random ``image_size`` x ``image_size`` window is cut,
    and it is flipped left-right with probability 1/2.

    Parameters
    ----------
    n : int
        Number of crops.
    image_size : int
        Side of the square crops, in pixels (at least 4, at most 256; above
        128 only the photos at least that large are used).
    random_state : int, RandomState instance or None
        Seed for the crop positions, scales and flips.
    photos : sequence of int, default=None
        Indices (in :func:`load_photos` order) of the photos to crop; None
        uses all of them.  Disjoint subsets give disjoint training sets
        (the zoo's fine-tuned siblings).

    Returns
    -------
    crops : ndarray of shape (n, image_size, image_size, 3), dtype uint8

    Examples
    --------
    >>> from skfingerprint.datasets._photos import random_crops
    >>> random_crops(5, 16, random_state=0).shape
    (5, 16, 16, 3)
    """
    from sklearn.utils import check_random_state

    if not (4 <= int(image_size) <= _MAX_CROP):
        raise ValueError(f"image_size must be between 4 and {_MAX_CROP}, got {image_size}.")
    rng = check_random_state(random_state)
    levels, owners = _pyramid(int(image_size))
    if photos is not None:
        keep = set(int(k) for k in photos)
        levels = tuple(lv for lv, k in zip(levels, owners) if k in keep)
    if not levels:
        raise ValueError(
            f"none of the photos {photos} is large enough for {image_size}-pixel crops."
        )
    out = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    which = rng.randint(len(levels), size=n)
    for i in range(n):
        level = levels[which[i]]
        top = rng.randint(level.shape[0] - image_size + 1)
        left = rng.randint(level.shape[1] - image_size + 1)
        crop = level[top : top + image_size, left : left + image_size]
        if rng.rand() < 0.5:
            crop = crop[:, ::-1]
        out[i] = np.clip(np.rint(crop), 0, 255).astype(np.uint8)
    return out
