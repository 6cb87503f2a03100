"""Reading image files into arrays, with one documented colour rule.

Every image that enters the library from disk goes through :func:`read_image`
so that the folder loader, lazy bag decoding and the command line agree on how
pixels are decoded.  :func:`read_image_size` reads only the file header.

Colour rule
-----------
* RGB images are returned as they are.
* Grayscale (``L``, ``1``, ``I;16``, ``I``, ``F``) images are returned with one
  channel when ``mode="keep"`` and are replicated to three identical channels
  when ``mode="RGB"``.
* Images with an alpha channel (``RGBA``, ``LA``, ``PA``, and palette images
  with a transparent colour) are composited on a **black** background and the
  alpha channel is dropped.  Black (not white) is used because it leaves the
  colour values of opaque pixels unchanged and adds no high-frequency edge
  where transparency begins.
* Palette (``P``), ``CMYK``, ``YCbCr`` and other modes are converted to RGB by
  Pillow.
* High bit depth is mapped to 8 bits by a fixed rule that does not depend on
  the pixel values: 16-bit and 32-bit integer images (``I;16``, ``I``) are read
  as 16-bit (0 to 65535, clipped) and divided by 257; floating-point images
  (``F``) are read as [0, 1] (clipped) and multiplied by 255.
* Pixels are returned in stored order: the EXIF orientation tag is ignored, so
  the shape always agrees with :func:`read_image_size` and the pixel grid a
  generator produced is not rotated.

Resizing rule (``image_size``)
------------------------------
When ``image_size=(h, w)`` is given, the decoded image is first centre-cropped
to the aspect ratio ``w / h`` (the largest centred window of that ratio; an odd
leftover pixel is dropped from the right/bottom side) and then resized to
exactly ``(h, w)`` with Pillow's Lanczos filter, which is anti-aliased when
shrinking (its support widens with the scale factor) and sharp when enlarging.
An image that already has the size ``(h, w)`` is returned untouched, with no
resampling.  Note that resampling blurs or removes the high-frequency traces
that identify a generator: prefer a size that most images already have.

Limits on hostile and broken files
----------------------------------
* An image of more than :data:`MAX_IMAGE_PIXELS` pixels (``2**26``, about
  8192 x 8192; Pillow's own limit is higher) is refused from its header,
  before any pixel is decoded: a small file can declare a huge image.  Set the
  environment variable ``SKFINGERPRINT_MAX_IMAGE_PIXELS`` to another number of
  pixels to raise (or lower) the limit.
* A PNG whose pixel stream is shorter than its header says (a truncated or
  crafted file that Pillow decodes with the missing rows black) is an error
  naming the file, like any other unreadable image.  The stream's length is
  checked (one more decompression) only when the last pixel of one of the
  last two rows decodes to zero, as it does for every such file.
"""

from __future__ import annotations

import numbers
import os
import struct
import zlib

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jfif", ".jpe", ".webp", ".bmp", ".tif", ".tiff",
                    ".gif")

MAX_IMAGE_PIXELS = 1 << 26
_PIXELS_ENV = "SKFINGERPRINT_MAX_IMAGE_PIXELS"

_ALPHA_MODES = ("RGBA", "LA", "PA")
_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def check_image_size(image_size, *, name="image_size"):
    """Validate ``image_size`` and return it as ``None`` or a ``(h, w)`` tuple.

    Parameters
    ----------
    image_size : None, int or tuple of two int
        ``None`` keeps the size of the files; an int ``s`` means ``(s, s)``;
        a pair means ``(height, width)``.
    name : str, default="image_size"
        The parameter name used in error messages.

    Returns
    -------
    image_size : None or tuple of (int, int)

    Examples
    --------
    >>> from skfingerprint._io import check_image_size
    >>> check_image_size(32)
    (32, 32)
    >>> check_image_size((24, 32))
    (24, 32)
    >>> check_image_size(None) is None
    True
    """
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    else:
        try:
            size = tuple(image_size)
        except TypeError:
            size = None
        if (
            size is None
            or len(size) != 2
            or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool)
                for s in size
            )
        ):
            raise TypeError(
                f"{name} must be None, an int or a pair of ints (height, width); "
                f"got {image_size!r}."
            )
        size = (int(size[0]), int(size[1]))
    if size[0] < 1 or size[1] < 1:
        raise ValueError(
            f"{name} must be positive, got {image_size!r}; pass e.g. {name}=64 "
            f"or {name}=(64, 64)."
        )
    return size


def decode_errors():
    """What Pillow raises on a file it cannot read (truncated, not an image,
    a decompression bomb, a broken header); Pillow is imported on first use."""
    from PIL import Image, UnidentifiedImageError

    return (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError)


def unreadable_error(path, exc):
    return ValueError(
        f"Cannot read image file {path!r}: it is not a readable image or is "
        f"truncated/corrupt ({type(exc).__name__}: {exc}). Remove or replace the "
        "file."
    )


def _check_is_file(path):
    if not os.path.isfile(path):
        raise ValueError(
            f"Image file {path!r} does not exist or is not a file (a broken "
            "link?); check the path."
        )


def max_image_pixels():
    """The largest number of pixels an image file may declare.

    :data:`MAX_IMAGE_PIXELS`, or the value of the environment variable
    ``SKFINGERPRINT_MAX_IMAGE_PIXELS`` when it is set.

    Returns
    -------
    n_pixels : int

    Examples
    --------
    >>> from skfingerprint._io import max_image_pixels
    >>> max_image_pixels() >= 8192 * 8192
    True
    """
    value = os.environ.get(_PIXELS_ENV)
    if value is None or not value.strip():
        return MAX_IMAGE_PIXELS
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ValueError(
            f"The environment variable {_PIXELS_ENV}={value!r} must be a positive "
            "number of pixels, e.g. 100000000."
        )
    return limit


class _RefusedImage(ValueError):
    """An image refused by the library's own checks (already names the file)."""


def _check_pixels(path, width, height):
    limit = max_image_pixels()
    if width * height > limit:
        raise _RefusedImage(
            f"Cannot read image file {path!r}: it declares {width}x{height} = "
            f"{width * height} pixels, more than the limit of {limit} (a small file "
            "can declare a huge image). If the image is genuine, raise the limit "
            f"with the environment variable {_PIXELS_ENV}."
        )


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
          (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))  # x0, y0, dx, dy


def _png_stream_size(width, height, bit_depth, color_type, interlaced):
    """Bytes of the decompressed pixel stream a PNG header announces."""
    bits = bit_depth * _PNG_CHANNELS[color_type]

    def size(w, h):
        return 0 if w == 0 or h == 0 else h * (1 + (w * bits + 7) // 8)

    if not interlaced:
        return size(width, height)
    return sum(size((width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy)
               for x0, y0, dx, dy in _ADAM7)


def _blank_tail(im):
    """Whether the last pixel of one of the last two rows is zero.

    Pillow leaves the pixels a short PNG stream did not reach at zero, and
    the last two rows always include one of the last rows written, left to
    right (also for Adam7 interlacing, whose last pass writes every odd
    row): a stream cut anywhere leaves such a last pixel at zero.  Only then
    is the stream's length checked (:func:`_check_png_stream`), so that most
    complete images pay nothing for the check.
    """
    width, height = im.size
    tail = np.asarray(im.crop((0, max(height - 2, 0), width, height)))
    return bool(tail.size) and any(not np.any(row[-1]) for row in tail)


def _check_png_stream(path, data):
    """Refuse a PNG whose pixel stream is shorter than its header says.

    Pillow fills missing rows with black when the compressed stream ends
    early (a valid but short stream): the decompressed size is checked here.
    """
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag = data[pos + 4:pos + 8]
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[pos + 8:pos + 21])
        elif tag == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + length])
        elif tag in (b"IEND", b"fdAT"):  # fdAT: the frames after the first of an APNG
            break
        pos += 12 + length
    if header is None or header[3] not in _PNG_CHANNELS:
        return  # Pillow read it: nothing more to check here
    width, height, bit_depth, color_type, _, _, interlace = header
    expected = _png_stream_size(width, height, bit_depth, color_type, interlace == 1)
    inflater = zlib.decompressobj()
    got = 0
    try:
        for part in idat:
            got += len(inflater.decompress(part, max(expected - got, 0) + 1))
            if got > expected:
                return
    except zlib.error:
        got = -1
    if got < expected:
        raise _RefusedImage(
            f"Cannot read image file {path!r}: it is truncated/corrupt (its pixel "
            f"data holds {max(got, 0)} of the {expected} bytes its header "
            f"announces for {width}x{height} pixels). Remove or replace the file."
        )


def read_header(path):
    """Return ``(height, width, format)`` read from the header of ``path``."""
    from PIL import Image

    path = os.fspath(path)
    _check_is_file(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            fmt = (im.format or "").lower()
    except decode_errors() as exc:
        raise unreadable_error(path, exc) from None
    _check_pixels(path, width, height)
    return int(height), int(width), fmt


def read_image_size(path):
    """Return the ``(height, width)`` of an image file from its header only.

    No pixel data is decoded, so this is fast, but a file whose pixel data is
    truncated after a valid header is only detected by :func:`read_image`.

    Parameters
    ----------
    path : str or os.PathLike
        Path to an image file.

    Returns
    -------
    size : tuple of (int, int)
        ``(height, width)`` in pixels, in stored order (EXIF orientation is
        ignored, as in :func:`read_image`).

    Raises
    ------
    ValueError
        If the file does not exist or its header cannot be read; the message
        names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> from skfingerprint._io import read_image_size
    >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.fromarray(np.zeros((4, 5, 3), dtype=np.uint8)).save(p)
    >>> read_image_size(p)
    (4, 5)
    """
    height, width, _ = read_header(path)
    return height, width


def _crop_box(width, height, target_h, target_w):
    """Largest centred box of aspect ratio ``target_w / target_h``."""
    if width * target_h > height * target_w:  # too wide: crop columns
        new_w = max(1, min(width, round(height * target_w / target_h)))
        left = (width - new_w) // 2
        return (left, 0, left + new_w, height)
    new_h = max(1, min(height, round(width * target_h / target_w)))
    top = (height - new_h) // 2
    return (0, top, width, top + new_h)


def _fit(im, image_size):
    from PIL import Image

    target_h, target_w = image_size
    if im.size == (target_w, target_h):
        return im
    box = _crop_box(im.size[0], im.size[1], target_h, target_w)
    return im.resize((target_w, target_h), Image.Resampling.LANCZOS, box=box)


def _to_8bit(im):
    """Return a ``L`` or ``RGB`` Pillow image following the colour rule."""
    from PIL import Image

    if im.mode in _ALPHA_MODES or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    if im.mode in ("L", "1"):
        return im.convert("L")
    if im.mode in _HIGH_DEPTH_MODES:
        arr = np.asarray(im).astype(np.float64)
        if im.mode == "F":
            arr = np.clip(arr, 0.0, 1.0) * 255.0
        else:
            arr = np.clip(arr, 0.0, 65535.0) / 257.0
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return Image.fromarray(arr)
    return im.convert("RGB")


def read_image(path, *, mode="RGB", image_size=None):
    """Read one image file as a ``uint8`` array of shape ``(H, W, C)``.

    Parameters
    ----------
    path : str or os.PathLike
        Path to a PNG, JPEG, WebP, BMP, TIFF or GIF file (the first frame).
    mode : {"RGB", "keep"}, default="RGB"
        ``"RGB"`` always returns three channels; ``"keep"`` returns one channel
        for grayscale files and three otherwise.  Alpha is always composited
        on black (see the module docstring for the rule).
    image_size : None, int or tuple of (int, int), default=None
        ``None`` returns the image at its stored size.  Otherwise the image is
        centre-cropped to the aspect ratio of ``(h, w)`` and resized to exactly
        that size with an anti-aliased Lanczos filter (an int ``s`` means
        ``(s, s)``); an image already of that size is not resampled.

    Returns
    -------
    image : ndarray of shape (H, W, C), dtype uint8
        ``(H, W)`` is ``image_size`` when given.

    Raises
    ------
    ValueError
        If the file does not exist, is not an image, or is truncated or
        corrupt; the message names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> from skfingerprint._io import read_image
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "a.png")
    >>> Image.fromarray(np.zeros((4, 5), dtype=np.uint8)).save(p)
    >>> read_image(p).shape
    (4, 5, 3)
    >>> read_image(p, mode="keep").shape
    (4, 5, 1)
    >>> read_image(p, image_size=2).shape
    (2, 2, 3)
    """
    from PIL import Image

    if mode not in ("RGB", "keep"):
        raise ValueError(f"mode must be 'RGB' or 'keep', got {mode!r}.")
    image_size = check_image_size(image_size)
    path = os.fspath(path)
    _check_is_file(path)
    try:
        with Image.open(path) as im:
            _check_pixels(path, *im.size)
            im.load()
            if im.format == "PNG" and _blank_tail(im):
                with open(path, "rb") as f:
                    _check_png_stream(path, f.read())
            out = _to_8bit(im)
            if image_size is not None:
                out = _fit(out, image_size)
            arr = np.asarray(out)
    except _RefusedImage:
        raise
    except decode_errors() as exc:
        raise unreadable_error(path, exc) from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if mode == "RGB" and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr, dtype=np.uint8)
