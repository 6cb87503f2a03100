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
"""

from __future__ import annotations

import numpy as np

__all__ = ["PATCH_ALIGN", "PatchSpec", "aligned_offsets", "grid_offsets", "random_offsets"]

PATCH_ALIGN = 8


class PatchSpec:
    """Patch settings of a bag source: ``size=(h, w)``, ``per_image``, ``align``."""

    def __init__(self, size, per_image, align=PATCH_ALIGN):
        self.size = (int(size[0]), int(size[1]))
        self.per_image = int(per_image)
        self.align = int(align)

    def __repr__(self):
        return f"PatchSpec(size={self.size}, per_image={self.per_image}, align={self.align})"

    def crops(self, image, rng=None, *, where="image"):
        """The patches of one ``(H, W, C)`` image: ``(per_image, h, w, C)``.

        ``rng`` (a ``numpy.random.Generator``) draws random aligned offsets
        (training); None takes the deterministic grid (transform).
        """
        height, width = image.shape[:2]
        ph, pw = self.size
        if height < ph or width < pw:
            raise ValueError(
                f"{where} has size {height}x{width} (height x width), smaller than "
                f"patch_size={self.size}. Lower patch_size to at most "
                f"({height}, {width}), or leave such images out."
            )
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
