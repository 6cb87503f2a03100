"""Wavelet noise residuals (Lukas et al. 2006), shared by PRNU and spectrum baselines."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import ndimage
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._validation import check_int_tuple
from ._common import _BagFeatureTransformer, select_colour

__all__ = ["noise_residual"]


def _import_pywt():
    try:
        import pywt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "PRNU and spectrum residuals need PyWavelets: pip install PyWavelets"
        ) from None
    return pywt


def check_wavelet(wavelet):
    """``wavelet`` must name a discrete PyWavelets wavelet (a list constraints cannot hold)."""
    pywt = _import_pywt()
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(
            f"wavelet must be a discrete PyWavelets wavelet (pywt.wavelist"
            f"(kind='discrete')), got {wavelet!r}."
        )


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


@validate_params(
    {
        "images": ["array-like"],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "wavelet": [str],
        "levels": [Interval(Integral, 1, None, closed="left")],
        "windows": ["array-like"],
        "zero_mean": ["boolean"],
        "wiener_dft": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
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
    wins = check_int_tuple("windows", windows, odd=True)
    check_wavelet(wavelet)
    return _residual_2d(arr, sigma, wavelet, levels, wins, zero_mean, wiener_dft)


class _ResidualBagTransformer(_BagFeatureTransformer):
    """Bag transformers whose image features start from wavelet noise residuals.

    Adds the parameters ``color``, ``sigma``, ``wavelet`` and ``levels`` to
    :class:`~skfingerprint.baselines._common._BagFeatureTransformer`, and
    :meth:`_residuals`, the residual of every kept colour channel.
    """

    _parameter_constraints: dict = {
        **_BagFeatureTransformer._parameter_constraints,
        "color": [StrOptions({"luminance", "per_channel"})],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "wavelet": [str],
        "levels": [Interval(Integral, 1, None, closed="left")],
    }

    def _validate_params(self):
        super()._validate_params()
        check_wavelet(self.wavelet)

    def _residuals(self, images, *, windows, zero_mean, wiener_dft):
        """``(N, H, W, C)`` grey levels -> residuals ``(N, C', H, W)`` per kept channel.

        A 1x1 image has no spatial noise: its residual is 0.
        """
        stack = np.moveaxis(select_colour(images, self.color), -1, 1)  # (N, C', H, W)
        n, c, h, w = stack.shape
        if h * w == 1:
            return np.zeros_like(stack)
        return _residual_2d(
            stack.reshape(n * c, h, w), self.sigma, self.wavelet, self.levels,
            windows, zero_mean, wiener_dft,
        ).reshape(n, c, h, w)
