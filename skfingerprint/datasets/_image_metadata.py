"""What image files say about themselves: format, size, JPEG quality, ...

Read from headers (no pixel is decoded, except the alpha channel of files
that have one, to tell an all-opaque alpha channel, which the library's
decoder drops without a trace, from real transparency), for
:func:`skfingerprint.datasets.audit_confounds`.

How the JPEG quality is estimated
---------------------------------
libjpeg (and so Pillow, OpenCV, ImageMagick and most generator code)
writes the quantisation tables of the JPEG standard (ITU T.81, Annex K)
scaled by the quality ``q``: ``s = 5000 / q`` for ``q < 50`` and
``s = 200 - 2 q`` otherwise (integer arithmetic), each entry
``(t * s + 50) // 100`` clipped to [1, 255].  The file's tables (Pillow's
``im.quantization``, in natural order) are compared with the tables of
every ``q`` in 1-100 by the mean squared difference of their logarithms
(the scaling is multiplicative) over the luminance table and, for colour
files, the chrominance table; the best ``q`` is the estimate.  When the
tables are exactly libjpeg's, the estimate is the quality the file was
written with (``standard_tables`` is then true); tables of cameras and
editors (Photoshop, phone pipelines) are not scaled Annex K tables, and
the estimate is then the libjpeg quality whose tables are closest.  Tables
with a zero entry (which no encoder writes, but decoders accept) have no
quality: ``quality`` is then None and ``standard_tables`` false.
"""

from __future__ import annotations

import functools
import os
import struct
import warnings

import numpy as np

from .._io import read_header, unreadable_error

__all__ = ["estimate_jpeg_quality"]

_N_NAMED = 3  # how many skipped files a warning names

# ITU T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural order.
_ANNEX_K_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
])
_ANNEX_K_CHROMA = np.full(64, 99)
_ANNEX_K_CHROMA[[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 24, 25]] = [
    17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 47, 66]


def _scaled_tables():
    """libjpeg's tables for q = 1..100, shape (100, 2, 64)."""
    q = np.arange(1, 101)
    scale = np.where(q < 50, 5000 // q, 200 - 2 * q)[:, None, None]
    base = np.stack([_ANNEX_K_LUMA, _ANNEX_K_CHROMA])[None]
    return np.clip((base * scale + 50) // 100, 1, 255)


_IJG_TABLES = _scaled_tables()
_LOG_IJG = np.log(_IJG_TABLES)

_SUBSAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
_BIT_DEPTH_OF_MODE = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16,
                      "I": 32, "F": 32}
_UNREADABLE = (OSError, SyntaxError, ValueError, struct.error, EOFError)
_ALPHA_MODES = ("RGBA", "LA", "PA")


def estimate_jpeg_quality(quantization):
    """Estimate the libjpeg quality that produced JPEG quantisation tables.

    Parameters
    ----------
    quantization : mapping of int to sequence of 64 int
        The quantisation tables of a JPEG file in natural (row-major) order,
        as Pillow gives them (``Image.open(path).quantization``): table 0 is
        the luminance table, table 1 (when present) the chrominance table.

    Returns
    -------
    quality : int
        The quality in [1, 100] whose libjpeg tables (the standard's Annex K
        tables scaled by the quality) are closest, by the mean squared
        difference of the logarithms of the entries.
    exact : bool
        Whether the tables are exactly libjpeg's tables for ``quality``
        (false for the custom tables of cameras and editors, for which
        ``quality`` is only the nearest libjpeg quality).

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfingerprint.datasets import estimate_jpeg_quality
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buffer, "JPEG", quality=83)
    >>> estimate_jpeg_quality(Image.open(buffer).quantization)
    (83, True)
    """
    tables = [np.asarray(quantization[k], dtype=np.float64).reshape(-1)
              for k in sorted(quantization)[:2]]
    if not tables or any(t.size != 64 or np.any(t < 1) for t in tables):
        raise ValueError(
            "quantization must hold one or two tables of 64 positive entries, "
            "as Pillow's Image.quantization of a JPEG file.")
    observed = np.log(np.stack(tables))
    ref = _LOG_IJG[:, : len(tables)]
    error = ((ref - observed[None]) ** 2).mean(axis=(1, 2))
    best = int(np.argmin(error))
    return best + 1, bool(np.array_equal(_IJG_TABLES[best, : len(tables)],
                                         np.stack(tables)))


@functools.lru_cache(maxsize=1024)
def _quality_of_tables(tables):
    """:func:`estimate_jpeg_quality`, memoised: the files of a set share a few tables."""
    return estimate_jpeg_quality(dict(enumerate(tables)))


def _png_bit_depth(fp):
    fp.seek(24)  # signature (8), IHDR length and type (8), width, height (8)
    data = fp.read(1)
    return data[0] if data else None


def _webp_lossy(fp):
    """True for lossy (``VP8 ``) WebP, False for lossless (``VP8L``)."""
    fp.seek(12)
    while True:
        head = fp.read(8)
        if len(head) < 8:
            return None
        fourcc, size = head[:4], struct.unpack("<I", head[4:])[0]
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8 "
        if fourcc == b"ANMF":  # animation frame: its image chunk follows 16 bytes in
            fp.seek(16, os.SEEK_CUR)
            continue
        fp.seek(size + (size & 1), os.SEEK_CUR)


def _bit_depth(im, fmt):
    if fmt == "png":
        return _png_bit_depth(im.fp)
    if fmt == "jpeg":
        return int(getattr(im, "bits", 8))
    if fmt == "tiff":
        bits = im.tag_v2.get(258)
        if bits:
            bits = bits if isinstance(bits, tuple) else (bits,)
            return int(max(bits))
    return _BIT_DEPTH_OF_MODE.get(im.mode, 8)


def _jpeg_quality(quantization):
    """``(quality, standard_tables)``; ``(None, False)`` for tables that give none."""
    try:
        return _quality_of_tables(
            tuple(tuple(quantization[k]) for k in sorted(quantization)))
    except (ValueError, TypeError, KeyError):  # e.g. a zero entry: no quality
        return None, False


def _alpha(im):
    """None without an alpha channel, else "opaque" (every alpha value is the
    maximum: the decoder's compositing changes nothing) or "transparent".

    Decodes the image (the only pixels the audit reads); a file whose pixels
    cannot be decoded gives "unknown" (the audit reads headers; reading the
    pixels is the loader's job, which names the file).
    """
    if im.mode not in _ALPHA_MODES and not (im.mode == "P" and "transparency" in im.info):
        return None
    try:
        rgba = im if im.mode in ("RGBA", "LA") else im.convert("RGBA")
        low, high = rgba.getchannel("A").getextrema()
    except (*_UNREADABLE, MemoryError):
        return "unknown"
    return "opaque" if low == high == 255 else "transparent"


def _file_metadata(path):
    """The metadata of one file (headers only), or ValueError naming it."""
    from PIL import Image, JpegImagePlugin

    height, width, fmt = read_header(path)  # checks the file; names it in errors
    rec = {"format": fmt or "unknown", "height": height, "width": width,
           "quality": None, "standard_tables": None, "subsampling": None,
           "progressive": None, "alpha": None}
    try:
        with Image.open(path) as im:
            rec["mode"] = im.mode
            rec["bit_depth"] = _bit_depth(im, fmt)
            info = im.info
            rec["exif"] = bool(info.get("exif"))
            rec["icc"] = bool(info.get("icc_profile"))
            if fmt in ("jpeg", "mpo"):
                rec["lossy"] = True
                rec["quality"], rec["standard_tables"] = _jpeg_quality(
                    getattr(im, "quantization", None) or {})
                rec["progressive"] = bool(info.get("progressive")
                                          or info.get("progression"))
                layers = getattr(im, "layer", [])
                if len(layers) == 1:
                    rec["subsampling"] = "gray"
                else:
                    sampling = JpegImagePlugin.get_sampling(im)
                    rec["subsampling"] = _SUBSAMPLING_NAMES.get(sampling, "other")
            elif fmt == "webp":
                rec["lossy"] = _webp_lossy(im.fp)
            elif fmt == "tiff":
                rec["lossy"] = "jpeg" in str(info.get("compression", ""))
            else:
                rec["lossy"] = False
            rec["alpha"] = _alpha(im)
    except _UNREADABLE as exc:
        raise unreadable_error(os.fspath(path), exc) from None
    return rec


def _read_all(paths, on_error):
    records, keep, bad = [], np.ones(len(paths), dtype=bool), []
    for i, path in enumerate(paths):
        try:
            records.append(_file_metadata(path))
        except ValueError:
            if on_error == "raise":
                raise
            keep[i] = False
            bad.append(path)
    if bad:
        named = ", ".join(repr(p) for p in bad[:_N_NAMED])
        more = f" and {len(bad) - _N_NAMED} more" if len(bad) > _N_NAMED else ""
        warnings.warn(
            f"Skipped {len(bad)} of {len(paths)} image files that have "
            f"unreadable headers (on_error='skip'): {named}{more}.",
            UserWarning, stacklevel=3)
    return records, keep, bad
