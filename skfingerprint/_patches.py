"""Patch mode: aligned crops of images, never resized.

With ``patch_size=(h, w)`` every image of a bag contributes
``patches_per_image`` crops of that size instead of its whole self, so that
images of any (and mixed) sizes can be fingerprinted without resampling,
which erases the high-frequency traces the fingerprints are made of.

Crop offsets are multiples of :data:`PATCH_ALIGN` (8 pixels).  JPEG codes
images in 8x8 blocks, and the upsampling layers of generators (transposed
convolutions, nearest or bilinear upsampling by 2, 4 or 8; the 8x decoder of
latent diffusion autoencoders) repeat their pattern every 2, 4 or 8 pixels:
crops on the 8-pixel grid keep every patch in the same phase of the JPEG
block grid and of the upsampling pattern, so that the artifacts of the
patches of one source line up instead of averaging out.

* ``fit``: each image draws ``patches_per_image`` offsets afresh at every
  epoch, uniformly among the aligned offsets (distinct ones while the image
  has enough).
* ``transform``: a deterministic grid of offsets spread evenly over the
  image (the same for every call), repeated cyclically when the image holds
  fewer aligned offsets than ``patches_per_image``, so every image of a bag
  weighs the same in the bag's mean.

``patch_size="auto"`` is resolved by :func:`auto_patch_size` from the sizes
of the training images, once, in ``fit``.  An image smaller than the patch is
refused by :meth:`PatchSpec.check_fits`, the one place that checks it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AUTO_PATCH",
    "PATCH_ALIGN",
    "PatchSpec",
    "aligned_offsets",
    "auto_patch_size",
    "grid_offsets",
    "random_offsets",
]

# the one patch alignment (pixels): offsets, and the sides of "auto" patches
PATCH_ALIGN = 8
# the largest patch side that patch_size="auto" chooses
AUTO_PATCH = 64


def _align():
    # read at call time: benchmarks may study another alignment
    return int(PATCH_ALIGN)


def auto_patch_size(sizes, *, names=None, default=AUTO_PATCH):
    """The patch side that ``patch_size="auto"`` stands for, or None.

    Whole images (None) when every image has the same size and neither side
    exceeds ``default``; otherwise square patches of ``min(default, s)``
    where ``s`` is the smallest side of any image aligned down to a multiple
    of :data:`PATCH_ALIGN`.

    Parameters
    ----------
    sizes : array-like of shape (n_images, 2)
        ``(height, width)`` of every image.
    names : sequence of str or None, default=None
        How to name each image in an error message (a file path, or
        ``"X[2][0]"``); None names them by position.
    default : int, default=64
        The largest patch side.

    Returns
    -------
    patch : int or None

    Raises
    ------
    ValueError
        When patches are needed but an image has a side shorter than
        :data:`PATCH_ALIGN` pixels (it cannot give one aligned patch); the
        message names the image.

    Examples
    --------
    >>> auto_patch_size([(32, 32), (32, 32)]) is None
    True
    >>> auto_patch_size([(300, 400), (70, 90)])
    64
    >>> auto_patch_size([(16, 16), (20, 30)])
    16
    """
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
    if sizes.size == 0:
        return None
    uniform = bool((sizes == sizes[0]).all())
    if uniform and int(sizes.max()) <= default:
        return None
    align = _align()
    smallest = sizes.min(axis=1)
    i = int(smallest.argmin())
    if smallest[i] < align:
        name = f"image {i}" if names is None else str(names[i])
        raise ValueError(
            f"{name} has size {sizes[i, 0]}x{sizes[i, 1]} (height x width): "
            f"patch_size='auto' crops patches of at least {align}x{align} "
            "pixels (the images differ in size or exceed "
            f"{default} pixels, so whole images cannot be used), and this image "
            f"has a side shorter than {align}. Leave it out, or resize every "
            "image to one size with image_size=(H, W)."
        )
    return int(min(default, int(smallest[i]) // align * align))


class PatchSpec:
    """Patch settings of a bag source: ``size=(h, w)``, ``per_image``, ``align``."""

    def __init__(self, size, per_image, align=PATCH_ALIGN):
        # size "auto": resolved from the images by :meth:`resolve`
        self.size = "auto" if isinstance(size, str) else (int(size[0]), int(size[1]))
        self.per_image = int(per_image)
        self.align = int(align)

    @property
    def is_auto(self):
        return isinstance(self.size, str)

    def resolve(self, sizes, *, names=None):
        """This spec with ``"auto"`` resolved for images of ``sizes`` (None: whole images).

        See :func:`auto_patch_size`; a spec of a fixed size is returned as it is.
        """
        if not self.is_auto:
            return self
        side = auto_patch_size(sizes, names=names)
        return None if side is None else PatchSpec((side, side), self.per_image, self.align)

    def __repr__(self):
        return f"PatchSpec(size={self.size}, per_image={self.per_image}, align={self.align})"

    def check_fits(self, height, width, *, where="image"):
        """Raise a ValueError when a ``height x width`` image is smaller than the patch.

        ``where`` names the image (its file, bag and position) in the
        message, which says how to fix it.
        """
        ph, pw = self.size
        if height >= ph and width >= pw:
            return
        align = self.align
        fit_h, fit_w = height // align * align, width // align * align
        if min(fit_h, fit_w) >= 1:
            fix = (
                "Leave such images out, or fit with a patch_size of at most "
                f"({fit_h}, {fit_w}) (multiples of {align})."
            )
        else:
            fix = (
                "Leave such images out: an image needs at least "
                f"{align}x{align} pixels to give one aligned patch."
            )
        raise ValueError(
            f"{where} has size {height}x{width} (height x width), smaller than "
            f"patch_size={self.size}: every image must hold at least one patch. "
            f"{fix}"
        )

    def crops(self, image, rng=None, *, where="image"):
        """The patches of one ``(H, W, C)`` image: ``(per_image, h, w, C)``.

        ``rng`` (a ``numpy.random.Generator``) draws random aligned offsets
        (training); None takes the deterministic grid (transform).
        """
        height, width = image.shape[:2]
        ph, pw = self.size
        self.check_fits(height, width, where=where)
        ys = aligned_offsets(height, ph, self.align)
        xs = aligned_offsets(width, pw, self.align)
        if rng is None:
            oy, ox = grid_offsets(ys, xs, self.per_image)
        else:
            oy, ox = random_offsets(ys, xs, self.per_image, rng)
        out = np.empty((self.per_image, ph, pw) + image.shape[2:], dtype=image.dtype)
        for i, (y, x) in enumerate(zip(oy, ox)):
            out[i] = image[y : y + ph, x : x + pw]
        return out


def aligned_offsets(length, patch, align=PATCH_ALIGN):
    """Offsets ``0, align, 2 align, ...`` at which a patch fits in ``length``.

    >>> aligned_offsets(40, 16).tolist()
    [0, 8, 16, 24]
    >>> aligned_offsets(20, 16).tolist()
    [0]
    """
    return np.arange(0, length - patch + 1, align)


def grid_offsets(ys, xs, n):
    """``n`` evenly spread (y, x) offsets from the candidate rows and columns.

    The grid has about ``n`` points with the aspect of the candidates; when
    fewer than ``n`` candidates exist, the grid repeats cyclically.

    >>> oy, ox = grid_offsets(list(range(0, 80, 8)), list(range(0, 80, 8)), 4)
    >>> list(zip(oy.tolist(), ox.tolist()))
    [(0, 0), (0, 72), (72, 0), (72, 72)]
    """
    ys, xs = np.asarray(ys), np.asarray(xs)
    ny, nx = ys.size, xs.size
    if ny * nx <= n:
        gy, gx = ny, nx
    else:
        gy = int(np.clip(round(np.sqrt(n * ny / nx)), 1, ny))
        gx = int(np.clip(n // gy, 1, nx))
        gy = int(np.clip(n // gx, 1, ny))
    rows = ys[np.round(np.linspace(0, ny - 1, gy)).astype(int)]
    cols = xs[np.round(np.linspace(0, nx - 1, gx)).astype(int)]
    oy, ox = np.meshgrid(rows, cols, indexing="ij")
    return np.resize(oy.ravel(), n), np.resize(ox.ravel(), n)


def random_offsets(ys, xs, n, rng):
    """``n`` random (y, x) offsets among the candidates (distinct when possible)."""
    ys, xs = np.asarray(ys), np.asarray(xs)
    total = ys.size * xs.size
    flat = rng.choice(total, size=n, replace=total < n)
    return ys[flat // xs.size], xs[flat % xs.size]
