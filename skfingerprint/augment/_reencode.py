"""Re-encode images with one codec: the remedy for a format confound.

When the sources of a data set come in different formats (real photos as
JPEG, generated images as PNG), a model can learn the codec instead of the
generator (:func:`skfingerprint.datasets.audit_confounds` finds this).
Passing every image of every source through the same codec at load time
puts the same compression traces on all of them, without rewriting files.
"""

from __future__ import annotations

import io

import numpy as np

from ._transforms import _QUALITY, _check_images, _from_unit, _per_image, _pil_uint8, jpeg

__all__ = ["check_reencode", "reencode"]

_FORMATS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "webp": "webp"}
_GRAMMAR = ("'jpeg:QUALITY' (e.g. 'jpeg:90'), 'webp:QUALITY' (lossy WebP), "
            "'webp' (lossless WebP), 'png', or None")


def check_reencode(spec):
    """Validate a re-encoding spec and return it in canonical form.

    Parameters
    ----------
    spec : str or None
        ``"jpeg:Q"`` (``"jpg:Q"``): JPEG at quality ``Q`` in [1, 100] with
        4:2:0 chroma subsampling (libjpeg's default); ``"webp:Q"``: lossy
        WebP at quality ``Q``; ``"webp"``: lossless WebP; ``"png"``
        (lossless); ``None`` or ``"none"``: no re-encoding.  Case and
        surrounding spaces are ignored; an empty string is an error.

    Returns
    -------
    spec : str or None
        ``"jpeg:90"``, ``"webp:80"``, ``"webp"``, ``"png"`` or None.

    Raises
    ------
    ValueError
        If the spec is empty or not of one of these forms, or the quality is
        not an integer in [1, 100].
    TypeError
        If ``spec`` is neither a str nor None.

    Examples
    --------
    >>> from skfingerprint.augment import check_reencode
    >>> check_reencode("JPG:90"), check_reencode("png"), check_reencode(None)
    ('jpeg:90', 'png', None)
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise TypeError(f"reencode must be a str or None ({_GRAMMAR}), got "
                        f"{type(spec).__name__}.")
    text = spec.strip().lower()
    if not text:
        raise ValueError(f"reencode={spec!r} is empty; use {_GRAMMAR} ('none' for no "
                         "re-encoding).")
    if text == "none":
        return None
    name, sep, quality = text.partition(":")
    fmt = _FORMATS.get(name.strip())
    if fmt is None:
        raise ValueError(f"reencode={spec!r} names no known codec; use {_GRAMMAR}.")
    if not sep:
        if fmt == "jpeg":
            raise ValueError(
                f"reencode={spec!r} gives no JPEG quality; the quality is part of "
                "the codec's traces, so name it, e.g. 'jpeg:90'.")
        return fmt
    if fmt == "png":
        raise ValueError(f"reencode={spec!r}: PNG is lossless and takes no quality; "
                         "use 'png'.")
    try:
        q = int(quality.strip())
    except ValueError:
        raise ValueError(
            f"reencode={spec!r}: the quality must be an integer in [1, 100], e.g. "
            f"'{fmt}:90'.") from None
    if q not in _QUALITY:
        raise ValueError(
            f"reencode={spec!r}: the quality must be an integer in [1, 100], got "
            f"{q}.")
    return f"{fmt}:{q}"


def _webp(arr, quality):
    from PIL import Image

    def encode(pil):
        buffer = io.BytesIO()
        if quality is None:
            pil.save(buffer, format="WEBP", lossless=True)
        else:
            pil.save(buffer, format="WEBP", quality=quality)
        buffer.seek(0)
        return Image.open(buffer).convert(pil.mode)

    return _per_image(arr, lambda img: _pil_uint8(img, encode))


def reencode(images, spec):
    """Encode every image with one codec and decode it again, in memory.

    Parameters
    ----------
    images : ndarray of shape (..., H, W, C)
        One image, a bag or an array of bags; uint8 in [0, 255] or floating
        in [0, 1].  Not modified.
    spec : str or None
        The codec, as accepted by :func:`check_reencode`: ``"jpeg:90"``,
        ``"webp:90"``, ``"webp"`` (lossless), ``"png"`` or None.

    Returns
    -------
    out : ndarray
        A new array of the shape and dtype of ``images``.  JPEG uses
        :func:`skfingerprint.augment.jpeg` (4:2:0 subsampling).  The lossless
        codecs (``"png"``, ``"webp"``) change no uint8 pixel (floating images
        are rounded to 256 levels, as any 8-bit file holds them), so they
        remove no compression traces: to remove a JPEG-versus-PNG confound,
        re-encode every source with the same lossy codec and quality.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import reencode
    >>> img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    >>> out = reencode(img, "jpeg:90")
    >>> out.shape, out.dtype, bool((out != img).any())
    ((16, 16, 3), dtype('uint8'), True)
    >>> bool((reencode(img, "png") == img).all())
    True
    """
    spec = check_reencode(spec)
    arr = _check_images(images)
    if spec is None:
        return arr.copy()
    fmt, _, quality = spec.partition(":")
    if fmt == "jpeg":
        return jpeg(arr, int(quality))
    u8 = arr if arr.dtype == np.uint8 else _from_unit(arr.astype(np.float64), np.uint8)
    out = u8.copy() if fmt == "png" else _webp(u8, int(quality) if quality else None)
    return out if arr.dtype == np.uint8 else (out / 255.0).astype(arr.dtype)
