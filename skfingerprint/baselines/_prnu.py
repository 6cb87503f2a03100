"""PRNU-style noise residuals and the PRNUFingerprint baseline (Marra et al. 2019)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._bags import check_bags
from ._common import (
    bag_mean_features,
    check_choice,
    check_same_input,
    n_colour_channels,
    positive_int,
    positive_real,
    record_input,
    select_colour,
)

__all__ = ["PRNUFingerprint", "noise_residual"]


def _import_pywt():
    try:
        import pywt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "PRNU and spectrum residuals need PyWavelets: pip install PyWavelets"
        ) from None
    return pywt


def _check_windows(windows):
    try:
        wins = tuple(int(w) for w in windows)
    except TypeError:
        wins = ()
    if not wins or any(w < 1 or w % 2 == 0 for w in wins) or any(
        isinstance(w, bool) or not isinstance(w, numbers.Integral) for w in windows
    ):
        raise ValueError(
            f"windows must be a non-empty tuple of odd positive integers, got "
            f"{windows!r}."
        )
    return wins


def _wiener_noise(coef, noise_var, windows, mode):
    """Noise part of ``coef`` under adaptive Wiener shrinkage (last two axes).

    The local signal variance is ``max(0, local mean of coef**2 - noise_var)``
    over square windows of each size, the minimum over the sizes taken; the
    noise part is ``coef * noise_var / (signal_var + noise_var)``.
    """
    sq = coef * coef
    signal_var = None
    for w in windows:
        size = (1,) * (coef.ndim - 2) + (w, w)
        local = ndimage.uniform_filter(sq, size=size, mode=mode)
        v = np.maximum(local - noise_var, 0.0)
        signal_var = v if signal_var is None else np.minimum(signal_var, v)
    return coef * (noise_var / (signal_var + noise_var))


def _residual_2d(images, sigma, wavelet, levels, windows, zero_mean, wiener_dft):
    """Noise residual of a stack of single-channel images ``(N, H, W)``."""
    pywt = _import_pywt()
    h, w = images.shape[-2:]
    wav = pywt.Wavelet(wavelet)
    level = max(1, min(int(levels), pywt.dwt_max_level(min(h, w), wav.dec_len)))
    noise_var = float(sigma) ** 2
    with warnings.catch_warnings():
        # images smaller than the filter: one level, all of it boundary
        warnings.simplefilter("ignore", UserWarning)
        coeffs = pywt.wavedec2(images, wav, mode="symmetric", level=level, axes=(-2, -1))
        coeffs[0] = np.zeros_like(coeffs[0])  # the approximation is image content
        for i in range(1, len(coeffs)):
            coeffs[i] = tuple(
                _wiener_noise(band, noise_var, windows, "reflect") for band in coeffs[i]
            )
        res = pywt.waverec2(coeffs, wav, mode="symmetric", axes=(-2, -1))
    res = np.ascontiguousarray(res[..., :h, :w])
    if zero_mean:
        res = res - res.mean(axis=-1, keepdims=True)
        res = res - res.mean(axis=-2, keepdims=True)
    if wiener_dft:
        spec = np.fft.fft2(res, axes=(-2, -1))
        mag = np.abs(spec) / np.sqrt(h * w)
        var = res.var(axis=(-2, -1), keepdims=True)
        var = np.where(var > 0, var, 1.0)
        mag_noise = _wiener_noise(mag, var, windows, "wrap")
        gain = np.divide(mag_noise, mag, out=np.zeros_like(mag), where=mag > 0)
        res = np.real(np.fft.ifft2(spec * gain, axes=(-2, -1)))
    return res


def noise_residual(
    images,
    *,
    sigma=3.0,
    wavelet="db4",
    levels=4,
    windows=(3, 5, 7, 9),
    zero_mean=True,
    wiener_dft=True,
):
    """PRNU noise residual of images: the image minus a denoised copy.

    The denoiser of the PRNU literature (Lukas, Fridrich and Goljan 2006):
    a wavelet decomposition, adaptive Wiener shrinkage of the detail bands
    (local variance over several windows, the minimum taken), the
    approximation band zeroed, reconstruction; then optionally zero-mean
    rows and columns and Wiener filtering in the Fourier domain (which
    flattens spectral peaks shared by many images).

    Parameters
    ----------
    images : array-like of shape (H, W) or (N, H, W)
        Single-channel images in grey levels (0-255 scale); the residual is
        computed over the last two axes.
    sigma : float, default=3.0
        Standard deviation of the noise the denoiser assumes, in grey levels.
    wavelet : str, default="db4"
        PyWavelets wavelet name.
    levels : int, default=4
        Decomposition levels, capped at the most the image size allows (and
        at least 1).
    windows : tuple of odd int, default=(3, 5, 7, 9)
        Window sizes of the local variance estimates.
    zero_mean : bool, default=True
        Subtract the mean of every row and then of every column.
    wiener_dft : bool, default=True
        Wiener-filter the magnitude of the residual's Fourier transform with
        the residual's variance as the noise level.

    Returns
    -------
    residual : ndarray of float64, same shape as ``images``

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.baselines import noise_residual
    >>> flat = np.full((16, 16), 128.0)
    >>> float(np.abs(noise_residual(flat)).max()) < 1e-9
    True
    """
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"images must have shape (H, W) or (N, H, W), got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError("images contains NaN or infinity.")
    positive_real("sigma", sigma)
    positive_int("levels", levels)
    wins = _check_windows(windows)
    pywt = _import_pywt()
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"wavelet must be a discrete PyWavelets wavelet, got {wavelet!r}.")
    return _residual_2d(arr, sigma, wavelet, levels, wins, zero_mean, wiener_dft)


class PRNUFingerprint(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bag fingerprint = mean PRNU noise residual of its images (Marra et al.).

    Each image's noise residual (:func:`noise_residual`: the image minus a
    wavelet-denoised copy, made zero-mean per row and column and Wiener
    filtered in the Fourier domain) is computed; the feature of a bag is the
    mean residual of its images, flattened.  Averaging cancels the image
    content and keeps what the images of one source share: its artifacts.
    With :class:`~skfingerprint.classifiers.NearestFingerprintClassifier`
    ``(metric="correlation")`` this is the attribution of Marra et al. (2019):
    a bag goes to the source whose mean training residual it correlates with
    most.

    Parameters
    ----------
    color : {"per_channel", "luminance"}, default="per_channel"
        ``"per_channel"`` computes a residual per colour channel and keeps
        them all (features ``H * W * C``): generators leave colour-specific
        artifacts.  ``"luminance"`` turns colour images into their BT.601
        luma before denoising (one residual per image, as camera PRNU
        work does; features ``H * W``).  An alpha channel is ignored.
    sigma : float, default=3.0
        Noise standard deviation assumed by the denoiser, in grey levels
        (0-255; float images in [0, 1] are scaled by 255 first).
    wavelet : str, default="db4"
        PyWavelets wavelet of the decomposition.
    levels : int, default=4
        Decomposition levels (capped by the image size, at least 1).
    windows : tuple of odd int, default=(3, 5, 7, 9)
        Window sizes of the local variance estimates; the minimum is used.
    zero_mean : bool, default=True
        Make every residual zero-mean along rows and columns.
    wiener_dft : bool, default=True
        Wiener filtering of the residual in the Fourier domain.  It
        suppresses spectral peaks, which in camera forensics are non-unique
        artifacts (JPEG, colour filter array) but in generated images are
        often the periodic upsampling artifacts that identify the model;
        ``False`` keeps them (see Notes).
    image_size : int, (int, int) or None, default=None
        For bags of image files: resize and centre-crop to this size.
    batch_size : int, default=256
        Images processed at once; memory is bounded by a batch.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in ``fit``; ``transform`` needs it.
    n_features_in_ : int
        Number of items per bag for 2D input (bags of scalar items); not set
        for image bags.

    See Also
    --------
    noise_residual : The residual of single images.
    SpectrumFingerprint : Frequency features of the residual.

    Notes
    -----
    ``fit`` learns nothing but the image shape: the features of a bag do not
    depend on other bags.  2D input (rows = bags of scalar items, i.e. 1x1
    images) is accepted for compatibility; a 1x1 image has no spatial
    noise, so its residual, and each such bag's feature, is 0.

    Defaults measured on ``make_fingerprinted_images`` (8 sources, 16x16,
    ``strength=0.005``, 160 training and 160 test bags of 2, nearest
    correlation): ``"per_channel"``
    attributes 94% of the test bags, ``"luminance"`` 65% (71% with
    ``wiener_dft=False``).  ``wiener_dft`` made no difference per channel
    there; the default keeps the literature's pipeline.

    References
    ----------
    F. Marra, D. Gragnaniello, L. Verdoliva, G. Poggi, "Do GANs leave
    artificial fingerprints?", MIPR 2019.  J. Lukas, J. Fridrich, M. Goljan,
    "Digital camera identification from sensor pattern noise", IEEE TIFS 2006.

    Examples
    --------
    >>> from skfingerprint import make_bags
    >>> from skfingerprint.baselines import PRNUFingerprint
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> data = make_fingerprinted_images(n_models=2, n_images_per_model=16,
    ...                                  image_size=16, random_state=0)
    >>> X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    >>> PRNUFingerprint().fit_transform(X).shape  # 16 * 16 * 3 features
    (4, 768)
    """

    def __init__(
        self,
        *,
        color="per_channel",
        sigma=3.0,
        wavelet="db4",
        levels=4,
        windows=(3, 5, 7, 9),
        zero_mean=True,
        wiener_dft=True,
        image_size=None,
        batch_size=256,
    ):
        self.color = color
        self.sigma = sigma
        self.wavelet = wavelet
        self.levels = levels
        self.windows = windows
        self.zero_mean = zero_mean
        self.wiener_dft = wiener_dft
        self.image_size = image_size
        self.batch_size = batch_size

    def _check_params(self):
        check_choice("color", self.color, ("luminance", "per_channel"))
        positive_real("sigma", self.sigma)
        positive_int("levels", self.levels)
        positive_int("batch_size", self.batch_size)
        wins = _check_windows(self.windows)
        pywt = _import_pywt()
        if self.wavelet not in pywt.wavelist(kind="discrete"):
            raise ValueError(
                f"wavelet must be a discrete PyWavelets wavelet (pywt.wavelist"
                f"(kind='discrete')), got {self.wavelet!r}."
            )
        return wins

    def fit(self, X, y=None):
        """Record the image shape of the bags (nothing else is learned).

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
            Bags of images (uint8, or floats in [0, 1]), of image paths, or
            of scalar items.
        y : None
            Ignored.

        Returns
        -------
        self : PRNUFingerprint
        """
        self._check_params()
        bags = check_bags(X, image_size=self.image_size)
        record_input(self, bags)
        h, w, c = bags.image_shape
        self._n_features_out = h * w * n_colour_channels(c, self.color)
        return self

    def _image_features(self, images, windows):
        imgs = select_colour(images, self.color)  # (N, H, W, C')
        stack = np.moveaxis(imgs, -1, 1)  # (N, C', H, W)
        n, c, h, w = stack.shape
        if h * w == 1:  # a single pixel has no spatial noise
            return np.zeros((n, h * w * c))
        res = _residual_2d(
            stack.reshape(n * c, h, w), self.sigma, self.wavelet, self.levels,
            windows, self.zero_mean, self.wiener_dft,
        ).reshape(n, c, h, w)
        return np.moveaxis(res, 1, -1).reshape(n, -1)  # features in (H, W, C) order

    def transform(self, X):
        """Mean noise residual of each bag.

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
            Bags of the image shape seen in ``fit``; bags may hold any number
            of images.

        Returns
        -------
        Z : ndarray of shape (n_bags, H * W * C'), dtype float32
            Flattened mean residuals (``C'`` = 1 for ``color="luminance"``),
            in grey levels, in (H, W, C') order: reshape to see them as images.
        """
        check_is_fitted(self, "image_shape_")
        windows = self._check_params()
        bags = check_bags(X, image_size=self.image_size)
        check_same_input(self, bags)
        feats = bag_mean_features(
            bags, lambda im: self._image_features(im, windows),
            self._n_features_out, int(self.batch_size),
        )
        return feats.astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
