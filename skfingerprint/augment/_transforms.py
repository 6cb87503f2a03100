"""Post-processing of images: JPEG, resizing, blur, noise, and random mixes.

Images are NumPy arrays of shape ``(..., H, W, C)`` (one image, a bag, an
array of bags), ``uint8`` in [0, 255] or floating in [0, 1]; every function
returns a new array of the same shape and dtype and never modifies its
input.
"""

from __future__ import annotations

import io
from numbers import Integral, Real

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

from .._bags import as_array, scan_numeric

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")
_SUBSAMPLINGS = ("4:2:0", "4:2:2", "4:4:4")


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
# One constraint per kind of strength: used by the functions' validate_params
# and, element by element, for the (low, high) ranges of RandomPostProcessing.
_QUALITY = Interval(Integral, 1, 100, closed="both")
_SCALE = Interval(Real, 0, None, closed="neither")
_SIGMA = Interval(Real, 0, None, closed="left")
_RANDOM_STATE = ["random_state", np.random.Generator, np.random.SeedSequence]


def _check_images(images, name="images"):
    """``(..., H, W, C)`` images, uint8 or floating in [0, 1], as an ndarray.

    The array handling, finiteness and range checks are the bag data
    model's (:mod:`skfingerprint._bags`); what is particular here is that
    any leading axes are accepted and that the dtype must be kept (so other
    integer types are refused rather than converted).
    """
    arr = as_array(images, name)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "uif" or (
        arr.dtype.kind in "ui" and arr.dtype != np.uint8
    ):
        raise TypeError(
            f"{name} has dtype {arr.dtype}; images must be uint8 in [0, 255] or "
            "floating in [0, 1]. Convert integer images with "
            "images.astype(np.uint8) (after checking their range)."
        )
    if arr.ndim < 3 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name} must have shape (..., H, W, C) with 1 to 4 channels last, got "
            f"shape {arr.shape}. Add a channel axis to grayscale images: "
            "images[..., None]."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    scan_numeric(arr, name, check_range=arr.dtype.kind == "f")
    return arr


def _resample_filter(interpolation):
    from PIL import Image

    return getattr(Image.Resampling, interpolation.upper())


def _generator(random_state):
    """A numpy Generator from None, an int, a SeedSequence, a Generator or a RandomState."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(np.iinfo(np.int32).max)))
    return np.random.default_rng(random_state)


def _to_unit(arr):
    return arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)


def _from_unit(x, dtype):
    x = np.clip(x, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(x * 255.0).astype(np.uint8)
    return x.astype(dtype)


def _per_image(arr, fn):
    """Apply ``fn`` (uint8 or float ``(H, W, C)`` -> same) to every image."""
    flat = arr.reshape((-1,) + arr.shape[-3:])
    out = np.empty_like(flat)
    for i in range(flat.shape[0]):
        out[i] = fn(flat[i])
    return out.reshape(arr.shape)


def _pil_uint8(img, fn):
    """``fn(PIL image) -> PIL image`` on a uint8 ``(H, W, C)`` image."""
    from PIL import Image

    c = img.shape[-1]
    if c == 3:
        return np.asarray(fn(Image.fromarray(img, "RGB")), dtype=np.uint8)
    # one channel at a time (also for 2 and 4 channels, which JPEG cannot hold)
    return np.stack(
        [np.asarray(fn(Image.fromarray(np.ascontiguousarray(img[..., k]), "L")),
                    dtype=np.uint8) for k in range(c)],
        axis=-1,
    )


# ---------------------------------------------------------------------------
# the perturbations
# ---------------------------------------------------------------------------
@validate_params(
    {
        "images": ["array-like"],
        "quality": [_QUALITY],
        "subsampling": [StrOptions(set(_SUBSAMPLINGS))],
    },
    prefer_skip_nested_validation=True,
)
def jpeg(images, quality, *, subsampling="4:2:0"):
    """Compress every image with JPEG at the given quality, and decode it.

    Colour images are encoded as RGB (YCbCr inside the file) by Pillow;
    images with 1, 2 or 4 channels are encoded channel by channel as
    grayscale.  Floating images are rounded to 256 levels first (JPEG holds
    8 bits).

    Parameters
    ----------
    images : ndarray of shape (..., H, W, C)
        One image, a bag or an array of bags; uint8 in [0, 255] or floating
        in [0, 1].
    quality : int
        JPEG quality, 1 (worst) to 100 (best).
    subsampling : {"4:2:0", "4:2:2", "4:4:4"}, default="4:2:0"
        Chroma subsampling of colour images: ``"4:2:0"`` (Pillow's and
        libjpeg's default) stores the colour at half resolution in both
        directions, which alone changes small, colourful images noticeably
        even at quality 95; ``"4:4:4"`` keeps full colour resolution.

    Returns
    -------
    out : ndarray
        The decoded images, of the shape and dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import jpeg
    >>> img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    >>> out = jpeg(img, 50)
    >>> out.shape, out.dtype, bool((out != img).any())
    ((16, 16, 3), dtype('uint8'), True)
    """
    return _jpeg(_check_images(images), int(quality), subsampling)


def _jpeg(arr, quality, subsampling="4:2:0"):
    def encode(pil):
        from PIL import Image

        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
        # the JPEG decoder on the bytes we wrote: what Image.open(...).convert
        # gives, without probing the file's format and converting a copy (the
        # round trip of a small image costs half as much; the augmentation of
        # the encoders runs it for every other training image)
        return Image.frombytes(pil.mode, pil.size, buffer.getvalue(), "jpeg",
                               pil.mode, "")

    if arr.dtype == np.uint8:
        return _per_image(arr, lambda img: _pil_uint8(img, encode))
    u8 = _from_unit(arr.astype(np.float64), np.uint8)
    out = _per_image(u8, lambda img: _pil_uint8(img, encode))
    return (out / 255.0).astype(arr.dtype)


@validate_params(
    {
        "images": ["array-like"],
        "scale": [_SCALE],
        "interpolation": [StrOptions(set(_INTERPOLATIONS))],
    },
    prefer_skip_nested_validation=True,
)
def resize(images, scale, *, interpolation="bilinear"):
    """Resize every image by ``scale`` and back to its original size.

    Downscaling (``scale < 1``) loses the details finer than the smaller
    size, as when a platform shrinks uploaded pictures; Pillow's filters
    are antialiased.  The smaller side is rounded, and at least 1 pixel.

    Parameters
    ----------
    images : ndarray of shape (..., H, W, C)
        uint8 in [0, 255] or floating in [0, 1].
    scale : float
        Positive factor of the intermediate size; 1 returns a copy.
    interpolation : {"nearest", "bilinear", "bicubic", "lanczos"}, default="bilinear"
        Pillow's resampling filter, both ways.

    Returns
    -------
    out : ndarray
        Of the shape and dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import resize
    >>> checkerboard = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)[..., None]
    >>> out = resize(checkerboard, 0.5)
    >>> out.shape, int(checkerboard.std()) > 100, int(out.std()) < 10
    ((8, 8, 1), True, True)
    """
    return _resize(_check_images(images), float(scale), interpolation)


def _resize(arr, scale, interpolation):
    resample = _resample_filter(interpolation)
    if scale == 1.0:
        return arr.copy()
    h, w = arr.shape[-3], arr.shape[-2]
    small = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))

    def there_and_back(pil):
        return pil.resize(small, resample).resize((w, h), resample)

    if arr.dtype == np.uint8:
        return _per_image(arr, lambda img: _pil_uint8(img, there_and_back))

    from PIL import Image

    def one_float(img):
        chans = [
            np.asarray(there_and_back(Image.fromarray(
                np.ascontiguousarray(img[..., k], dtype=np.float32), "F")))
            for k in range(img.shape[-1])
        ]
        return np.clip(np.stack(chans, axis=-1), 0.0, 1.0)

    return _per_image(arr, one_float)


@validate_params(
    {"images": ["array-like"], "sigma": [_SIGMA]},
    prefer_skip_nested_validation=True,
)
def gaussian_blur(images, sigma):
    """Blur every image with a Gaussian kernel of standard deviation ``sigma``.

    Each channel is filtered in the two image axes only (borders reflected),
    with :func:`scipy.ndimage.gaussian_filter`.

    Parameters
    ----------
    images : ndarray of shape (..., H, W, C)
        uint8 in [0, 255] or floating in [0, 1].
    sigma : float
        Standard deviation in pixels, >= 0; 0 returns a copy.

    Returns
    -------
    out : ndarray
        Of the shape and dtype of ``images`` (uint8 results are rounded).

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import gaussian_blur
    >>> img = np.zeros((9, 9, 1), dtype=np.uint8)
    >>> img[4, 4] = 255
    >>> out = gaussian_blur(img, 1.0)
    >>> int(out[4, 4, 0]), int(out[4, 5, 0]) > 0
    (41, True)
    """
    return _gaussian_blur(_check_images(images), float(sigma))


def _gaussian_blur(arr, sigma):
    if sigma == 0.0:
        return arr.copy()
    sigmas = (0.0,) * (arr.ndim - 3) + (sigma, sigma, 0.0)
    out = gaussian_filter(_to_unit(arr), sigma=sigmas, mode="reflect")
    return _from_unit(out, arr.dtype)


@validate_params(
    {"images": ["array-like"], "sigma": [_SIGMA], "random_state": _RANDOM_STATE},
    prefer_skip_nested_validation=True,
)
def gaussian_noise(images, sigma, random_state=None):
    """Add white Gaussian noise of standard deviation ``sigma`` to every pixel.

    Parameters
    ----------
    images : ndarray of shape (..., H, W, C)
        uint8 in [0, 255] or floating in [0, 1].
    sigma : float
        Standard deviation, >= 0, in units of the full intensity range
        (``2 / 255`` is two grey levels of a uint8 image); 0 returns a copy.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Source of the noise; an int or a Generator makes it reproducible.

    Returns
    -------
    out : ndarray
        Of the shape and dtype of ``images``, clipped to the valid range
        (uint8 results are rounded).

    Notes
    -----
    .. versionchanged:: 0.1
       The noise of uint8 images is drawn in single precision, in grey
       levels (half the cost; the sum is rounded to a level anyway), so a
       seed gives other noise than in earlier development versions.
       Floating images draw it in double precision, as before.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import gaussian_noise
    >>> img = np.full((64, 64, 1), 128, dtype=np.uint8)
    >>> out = gaussian_noise(img, 4 / 255, random_state=0)
    >>> round(float(out.std()))
    4
    >>> bool((out == gaussian_noise(img, 4 / 255, random_state=0)).all())
    True
    """
    return _gaussian_noise(_check_images(images), float(sigma), _generator(random_state))


def _gaussian_noise(arr, sigma, rng):
    if sigma == 0.0:
        return arr.copy()
    if arr.dtype == np.uint8:
        # in grey levels and single precision: the sum is rounded to a level
        # anyway, and the draw costs half as much (the augmentation of the
        # encoders adds noise to every other training image)
        noise = rng.standard_normal(arr.shape, dtype=np.float32)
        noisy = arr.astype(np.float32) + noise * np.float32(sigma * 255.0)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    noisy = _to_unit(arr) + rng.normal(0.0, sigma, size=arr.shape)
    return _from_unit(noisy, arr.dtype)


# ---------------------------------------------------------------------------
# random mixes
# ---------------------------------------------------------------------------
def _check_range(name, value, interval):
    """None, a number or a (low, high) pair -> None or (low, high).

    The parameter constraints have checked that ``value`` is None, a number
    in ``interval`` or array-like; here the two ends of a pair are checked
    against the same ``interval``.
    """
    if value is None:
        return None
    if not hasattr(value, "__len__"):
        return value, value
    ends = list(value)
    if len(ends) != 2 or not all(interval.is_satisfied_by(v) for v in ends):
        raise ValueError(
            f"{name} must be None, {interval} or a (low, high) pair of them, got "
            f"{value!r}."
        )
    if ends[0] > ends[1]:
        raise ValueError(f"{name} must have low <= high, got {value!r}.")
    return ends[0], ends[1]


class RandomPostProcessing(BaseEstimator):
    """Random post-processing of images: resize, blur, noise, JPEG.

    Calling the object on images applies each operation with probability
    ``p``, with a strength drawn uniformly from its range, in the order
    resize, blur, noise, JPEG (compression comes last, as when pictures are
    saved or uploaded).  Use it as the ``augmentation`` of
    :class:`~skfingerprint.SetFingerprintEncoder`, to train fingerprints
    that survive post-processing, or to perturb test images.

    Parameters
    ----------
    jpeg_quality : None, int or (int, int), default=(50, 100)
        JPEG quality (see :func:`jpeg`), drawn uniformly among the integers
        of the range (both ends included); None never compresses.
    resize_scale : None, float or (float, float), default=(0.5, 1.0)
        Scale of :func:`resize` (down and back up); None never resizes.
    blur_sigma : None, float or (float, float), default=(0.0, 1.0)
        Standard deviation of :func:`gaussian_blur`, in pixels; None never
        blurs.
    noise_sigma : None, float or (float, float), default=(0.0, 2 / 255)
        Standard deviation of :func:`gaussian_noise`, in units of the
        intensity range; None adds no noise.
    p : float, default=0.5
        Probability of applying each operation (independently).
    per_image : bool, default=True
        True: every image (every element of the leading axes) draws its own
        operations and strengths, as images collected from the web are each
        processed their own way.  False: one draw for the whole input, e.g.
        a bag of images all saved the same way.
    interpolation : {"nearest", "bilinear", "bicubic", "lanczos"}, default="bilinear"
        Filter of :func:`resize`.

    Notes
    -----
    The call ``augmentation(images, random_state)`` is deterministic for a
    given seed or generator state: a fixed number of random draws per image
    (or per call) whatever is applied, then the noise.  The object holds
    only its parameters (plain numbers), so it pickles, clones (it has
    ``get_params`` and ``set_params``, so ``GridSearchCV`` can tune e.g.
    ``fp__augmentation__p``) and saves with :func:`skfingerprint.save`.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import RandomPostProcessing
    >>> bag = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    >>> aug = RandomPostProcessing(p=1.0)
    >>> out = aug(bag, random_state=0)
    >>> out.shape, out.dtype
    ((4, 16, 16, 3), dtype('uint8'))
    >>> bool((out == aug(bag, random_state=0)).all())
    True

    Train an encoder on post-processed bags:

    >>> from skfingerprint import SetFingerprintEncoder
    >>> enc = SetFingerprintEncoder(augmentation=RandomPostProcessing())
    """

    _parameter_constraints: dict = {
        "jpeg_quality": [None, _QUALITY, "array-like"],
        "resize_scale": [None, _SCALE, "array-like"],
        "blur_sigma": [None, _SIGMA, "array-like"],
        "noise_sigma": [None, _SIGMA, "array-like"],
        "p": [Interval(Real, 0, 1, closed="both")],
        "per_image": ["boolean"],
        "interpolation": [StrOptions(set(_INTERPOLATIONS))],
    }

    def __init__(
        self,
        *,
        jpeg_quality=(50, 100),
        resize_scale=(0.5, 1.0),
        blur_sigma=(0.0, 1.0),
        noise_sigma=(0.0, 2 / 255),
        p=0.5,
        per_image=True,
        interpolation="bilinear",
    ):
        self.jpeg_quality = jpeg_quality
        self.resize_scale = resize_scale
        self.blur_sigma = blur_sigma
        self.noise_sigma = noise_sigma
        self.p = p
        self.per_image = per_image
        self.interpolation = interpolation

    # a call reads only its arguments: the encoders augment bags in threads
    _thread_safe = True

    def _ranges(self):
        """Validate the parameters; return ``(p, ranges)`` in the order of the operations.

        The result is kept for the parameters' current values: a call on a
        bag of one image would otherwise spend more time validating than
        augmenting (a set parameter is validated again at the next call).
        """
        key = repr((self.p, self.resize_scale, self.blur_sigma, self.noise_sigma,
                    self.jpeg_quality))
        cached = getattr(self, "_ranges_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        result = self._validated_ranges()
        self._ranges_cache = (key, result)
        return result

    def __getstate__(self):
        # the cache of _ranges is not part of what is saved
        state = super().__getstate__()
        state.pop("_ranges_cache", None)
        return state

    def _validated_ranges(self):
        self._validate_params()
        return float(self.p), (
            _check_range("resize_scale", self.resize_scale, _SCALE),
            _check_range("blur_sigma", self.blur_sigma, _SIGMA),
            _check_range("noise_sigma", self.noise_sigma, _SIGMA),
            _check_range("jpeg_quality", self.jpeg_quality, _QUALITY),
        )

    def _draw(self, rng, p, ranges):
        """The operations of one unit: a list of (operation, strength)."""
        # the four coins, then the four strengths (one call: the same stream)
        draws = rng.random(8).tolist()
        coins, values = draws[:4], draws[4:]
        ops = []
        for k, (name, rng_k) in enumerate(zip(("resize", "blur", "noise", "jpeg"), ranges)):
            if rng_k is None or coins[k] >= p:
                continue
            low, high = rng_k
            if name == "jpeg":
                value = int(low + np.floor(values[k] * (high - low + 1)))
                value = min(value, int(high))
            else:
                value = float(low + values[k] * (high - low))
            ops.append((name, value))
        return ops

    def _apply(self, arr, ops, rng):
        for name, value in ops:
            if name == "resize":
                arr = _resize(arr, value, self.interpolation)
            elif name == "blur":
                arr = _gaussian_blur(arr, value)
            elif name == "noise":
                arr = _gaussian_noise(arr, value, rng)
            else:
                arr = _jpeg(arr, value)
        return arr

    def __call__(self, images, random_state=None):
        """Post-process ``images`` at random.

        Parameters
        ----------
        images : ndarray of shape (..., H, W, C)
            uint8 in [0, 255] or floating in [0, 1].
        random_state : None, int, numpy.random.Generator or RandomState, default=None
            Source of the random draws; a Generator is advanced.

        Returns
        -------
        out : ndarray
            Of the shape and dtype of ``images``; the input is not modified.
        """
        p, ranges = self._ranges()
        validate_parameter_constraints(
            {"random_state": _RANDOM_STATE}, {"random_state": random_state},
            caller_name=f"{type(self).__name__}.__call__",
        )
        rng = _generator(random_state)
        arr = _check_images(images)
        if not self.per_image:
            return self._apply(arr.copy(), self._draw(rng, p, ranges), rng)
        flat = arr.reshape((-1,) + arr.shape[-3:])
        out = np.empty_like(flat)
        for i in range(flat.shape[0]):
            out[i] = self._apply(flat[i], self._draw(rng, p, ranges), rng)
        return out.reshape(arr.shape)


_KINDS = {"jpeg": 75, "resize": 0.5, "blur": 1.0, "noise": 2 / 255, "none": None}


class PostProcess(TransformerMixin, BaseEstimator):
    """Post-process bags of images: a stateless scikit-learn transformer.

    For robustness studies: put it in front of a fitted Pipeline at test
    time, or transform test bags with it, e.g.
    ``PostProcess("jpeg", 75).transform(X_test)``.

    Parameters
    ----------
    kind : {"jpeg", "resize", "blur", "noise", "none"} or callable, default="jpeg"
        The operation: :func:`jpeg`, :func:`resize`, :func:`gaussian_blur`,
        :func:`gaussian_noise`, or nothing.  A callable (such as a
        :class:`RandomPostProcessing`) is called as
        ``kind(images, generator)``.
    value : int, float or None, default=None
        Its strength: the JPEG quality, the resize scale, the blur sigma or
        the noise sigma.  None takes 75, 0.5, 1.0 and 2/255 respectively.
        Ignored by ``"none"`` and callables.
    interpolation : {"nearest", "bilinear", "bicubic", "lanczos"}, default="bilinear"
        Filter of ``"resize"``.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds ``"noise"`` and callables; an int gives the same output at
        every call.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.augment import PostProcess
    >>> X = np.random.default_rng(0).integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    >>> PostProcess("jpeg", 50).fit_transform(X).shape
    (2, 3, 16, 16, 3)
    """

    _parameter_constraints: dict = {
        "kind": [StrOptions(set(_KINDS)), callable],
        # the strength is checked by the operation it is passed to
        "value": [None, Real],
        "interpolation": [StrOptions(set(_INTERPOLATIONS))],
        "random_state": _RANDOM_STATE,
    }

    def __init__(self, kind="jpeg", value=None, *, interpolation="bilinear",
                 random_state=None):
        self.kind = kind
        self.value = value
        self.interpolation = interpolation
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check the parameters (nothing is learnt).

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self : PostProcess
        """
        return self

    def transform(self, X):
        """Post-process every image of ``X``.

        Parameters
        ----------
        X : ndarray of shape (..., H, W, C)
            Bags (or images), uint8 in [0, 255] or floating in [0, 1].

        Returns
        -------
        X_out : ndarray
            Of the shape and dtype of ``X``.
        """
        self._validate_params()  # stateless: transform needs no fit
        if callable(self.kind):
            return self.kind(_check_images(X, "X"), _generator(self.random_state))
        value = _KINDS[self.kind] if self.value is None else self.value
        if self.kind == "jpeg":
            return jpeg(X, value)
        if self.kind == "resize":
            return resize(X, value, interpolation=self.interpolation)
        if self.kind == "blur":
            return gaussian_blur(X, value)
        if self.kind == "noise":
            return gaussian_noise(X, value, random_state=self.random_state)
        return _check_images(X, "X").copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        return tags
