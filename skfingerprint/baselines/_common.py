"""Helpers shared by the baselines: parameter checks, colour, streaming."""

from __future__ import annotations

import numbers

import numpy as np

# ITU-R BT.601 luma weights (as in MATLAB's rgb2gray, used by the PRNU code)
_LUMA = np.array([0.299, 0.587, 0.114])


def positive_int(name, value, *, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a positive integer{extra}, got {value!r}.")


def positive_real(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")


def check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}."
        )


def to_grey_levels(images, is_scalar):
    """Images of a batch as float64 in grey levels (0-255 scale).

    uint8 images are taken as they are, float images in [0, 1] are multiplied
    by 255; scalar items (2D input) keep their values.
    """
    out = np.asarray(images, dtype=np.float64)
    if images.dtype != np.uint8 and not is_scalar:
        out = out * 255.0
    return out


def select_colour(images, color):
    """``(..., H, W, C)`` -> ``(..., H, W, C')`` for ``color`` in luminance/per_channel.

    ``"luminance"`` gives one channel: the BT.601 luma of RGB(A) images, the
    first channel of grey(+alpha) images.  ``"per_channel"`` drops an alpha
    channel (C = 2 or 4) and keeps the others.
    """
    c = images.shape[-1]
    if color == "luminance":
        if c >= 3:
            return (images[..., :3] @ _LUMA)[..., None]
        return images[..., :1]
    if c in (2, 4):
        return images[..., : c - 1]
    return images


def n_colour_channels(c, color):
    if color == "luminance":
        return 1
    return c - 1 if c in (2, 4) else c


def bag_batches(n_bags, bag_size, batch_size):
    """Yield ``(bag_idx (n,), item_idx (n, m))`` covering every image once.

    Whole bags are grouped while they fit in ``batch_size`` images; a bag
    larger than that is read in chunks of ``batch_size`` images.  Memory is
    bounded by the batch, not by the number of bags or images.
    """
    if bag_size <= batch_size:
        step = max(1, batch_size // bag_size)
        items = np.arange(bag_size)
        for start in range(0, n_bags, step):
            idx = np.arange(start, min(start + step, n_bags))
            yield idx, np.broadcast_to(items, (idx.size, bag_size))
    else:
        for b in range(n_bags):
            for start in range(0, bag_size, batch_size):
                items = np.arange(start, min(start + batch_size, bag_size))
                yield np.array([b]), items[None, :]


def bag_mean_features(bags, image_features, n_features, batch_size):
    """Mean over each bag of ``image_features(images)``, streamed.

    ``image_features`` maps a float64 array ``(N, H, W, C)`` in grey levels to
    ``(N, n_features)``.  Returns float64 ``(n_bags, n_features)``.
    """
    sums = np.zeros((bags.n_bags, n_features), dtype=np.float64)
    for bag_idx, items in bag_batches(bags.n_bags, bags.bag_size, batch_size):
        batch = to_grey_levels(bags.take(bag_idx, items), bags.is_scalar)
        n, m = batch.shape[:2]
        feats = image_features(batch.reshape((n * m,) + batch.shape[2:]))
        sums[bag_idx] += feats.reshape(n, m, n_features).sum(axis=1)
    return sums / bags.bag_size


def record_input(est, bags):
    """Remember in ``fit`` what ``transform`` must match."""
    est.image_shape_ = tuple(bags.image_shape)
    if bags.is_scalar:
        est.n_features_in_ = bags.bag_size
    elif hasattr(est, "n_features_in_"):
        del est.n_features_in_


def check_same_input(est, bags):
    """In ``transform``: same kind of bags and image shape as in ``fit``."""
    name = type(est).__name__
    fitted_scalar = hasattr(est, "n_features_in_")
    if bags.is_scalar != fitted_scalar:
        kind = "scalar items (2D input)" if bags.is_scalar else "images"
        raise ValueError(
            f"X holds bags of {kind}, unlike the bags seen in fit; pass bags of "
            "the same kind."
        )
    if bags.is_scalar and bags.bag_size != est.n_features_in_:
        raise ValueError(
            f"X has {bags.bag_size} features, but {name} is expecting "
            f"{est.n_features_in_} features as input (2D input is read as bags of "
            "scalar items; their number is fixed at fit)."
        )
    if tuple(bags.image_shape) != tuple(est.image_shape_):
        raise ValueError(
            f"X has images of shape {tuple(bags.image_shape)} (H, W, C), but "
            f"{name} was fitted on images of shape {tuple(est.image_shape_)}; "
            "its features are tied to the image size. Resize the images (or pass "
            "image_size= for image files)."
        )
