"""Re-encoded copies of image files: one codec for every source, files untouched.

``load_image_folder(root, reencode="jpeg:90")`` (and the command line's
``--reencode``) removes a format confound (e.g. real photos as JPEG,
generated images as PNG) by passing every image through the same codec.
The user's files are never rewritten: each image is decoded, passed through
the codec in memory (:func:`skfingerprint.augment.reencode`, the one
implementation of re-encoding) and the result is stored losslessly as PNG
under ``<data_home>/reencoded/<codec>/``, named by a digest of the source
file's bytes (so an edited or replaced file gets a new copy, whatever its
size and times), and reused on later loads.  The copies are ordinary image files,
so every estimator, ``make_bags`` and :func:`audit_confounds` (which then
sees one codec everywhere) work on them unchanged.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from .._atomic import atomic_open
from .._io import read_image
from ._base import get_data_home

__all__ = ["reencoded_copies"]

_CHUNK = 1 << 20
# bump when the copies of the same bytes and codec would change
_CACHE_VERSION = "2"


def _copy_name(path, spec):
    """A digest of the file's bytes and the codec: a replaced or edited file
    gets a new copy whatever its path, size and times."""
    digest = hashlib.sha256(f"{_CACHE_VERSION}\0{spec}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def reencoded_copies(paths, spec, *, data_home=None):
    """Paths of copies of ``paths`` re-encoded with ``spec`` (written once, cached).

    Parameters
    ----------
    paths : array-like of str
        Image files (any shape; the result has the same shape).
    spec : str
        A codec accepted by :func:`skfingerprint.augment.check_reencode`, e.g.
        ``"jpeg:90"`` or ``"png"``.
    data_home : str or path-like, default=None
        Where the copies live (see :func:`get_data_home`).

    Returns
    -------
    copies : ndarray of str, same shape as ``paths``
        PNG files under ``<data_home>/reencoded/<codec>/``; ``paths`` itself
        (unchanged) when ``spec`` is None.  Your files are never modified.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfingerprint.datasets import reencoded_copies
    >>> tmp = tempfile.mkdtemp()
    >>> path = os.path.join(tmp, "a.png")
    >>> Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)
    >>> copies = reencoded_copies([path], "jpeg:90", data_home=tmp)
    >>> os.path.basename(os.path.dirname(copies[0]))
    'jpeg_90'
    """
    from ..augment import check_reencode, reencode

    spec = check_reencode(spec)
    paths = np.asarray(paths, dtype=object)
    if spec is None:
        return paths
    from PIL import Image

    folder = os.path.join(get_data_home(data_home), "reencoded", spec.replace(":", "_"))
    os.makedirs(folder, exist_ok=True)
    out = np.empty(paths.shape, dtype=object)
    for idx in np.ndindex(paths.shape):
        path = os.fspath(paths[idx])
        target = os.path.join(folder, _copy_name(path, spec) + ".png")
        if not os.path.isfile(target):
            image = reencode(read_image(path), spec)
            with atomic_open(target) as f:
                Image.fromarray(image).save(f, format="PNG")  # lossless container
        out[idx] = target
    return out
