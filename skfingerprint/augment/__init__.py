"""Post-processing of images, for robustness to it.

Images in the wild are rarely the raw output of a generator: they are
JPEG-compressed, resized, blurred, noisy.  This module perturbs images the
same ways, on NumPy arrays of shape ``(..., H, W, C)`` (one image, a bag, an
array of bags; ``uint8`` in [0, 255] or floating in [0, 1]):

- :func:`jpeg`, :func:`resize`, :func:`gaussian_blur`,
  :func:`gaussian_noise`: one perturbation of a given strength;
- :class:`RandomPostProcessing`: a random mix of them, the ``augmentation``
  of :class:`~skfingerprint.SetFingerprintEncoder` (train fingerprints that
  survive post-processing);
- :class:`PostProcess`: a scikit-learn transformer that applies one to bags
  (perturb test bags);
- :func:`reencode` (and :func:`check_reencode` for its spec): one codec for
  every image, e.g. ``"jpeg:90"``, to remove a format confound.
"""

from ._transforms import (
    PostProcess,
    RandomPostProcessing,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    resize,
)
from ._reencode import check_reencode, reencode

__all__ = [
    "jpeg",
    "resize",
    "gaussian_blur",
    "gaussian_noise",
    "RandomPostProcessing",
    "PostProcess",
    "reencode",
    "check_reencode",
]
