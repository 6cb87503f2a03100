"""SpectrumFingerprint: frequency features of noise residuals (Durall 2020, Frank 2020)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions

from ._common import n_colour_channels, select_colour
from ._residual import _ResidualBagTransformer

__all__ = ["SpectrumFingerprint"]

_EPS = 1e-6  # added to powers (grey levels squared) before the logarithm
_WINDOWS = (3, 5, 7, 9)


@lru_cache(maxsize=8)
def _radial_bins(h, w):
    """Radial bin of every frequency of an ``h x w`` FFT, and bin radii.

    Bin ``k`` holds the frequencies whose radius (cycles per pixel) rounds to
    ``k / min(h, w)``; empty bins are dropped.  Returns ``(index (h*w,),
    radii (n_bins,), counts (n_bins,))`` with ``index`` in ``[0, n_bins)``.
    """
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    radius = np.sqrt(fy**2 + fx**2).ravel()
    raw = np.rint(radius * min(h, w)).astype(np.intp)
    used, index = np.unique(raw, return_inverse=True)
    counts = np.bincount(index, minlength=used.size)
    radii = np.bincount(index, weights=radius, minlength=used.size) / counts
    for arr in (index, radii, counts):
        arr.setflags(write=False)  # shared by the cache
    return index, radii, counts


class SpectrumFingerprint(_ResidualBagTransformer):
    """Bag feature = mean frequency features of its images' noise residuals.

    Two families of spectral features, each averaged over the images of a
    bag:

    * ``"azimuthal"`` (Durall et al. 2020): the power spectrum averaged
      over rings of equal spatial frequency, in log scale, a 1D profile from
      the lowest to the highest (diagonal) frequency; up-sampling artifacts
      show as bumps at high frequencies.  The powers of a ring are averaged
      before the logarithm is taken: averaging logarithms instead dilutes an
      isolated spectral peak among the many bins of its ring;
    * ``"dct"`` (Frank et al. 2020): the log power of every 2D DCT-II
      coefficient (an ``H x W`` map), where periodic artifacts show as
      isolated peaks.

    Parameters
    ----------
    features : {"both", "azimuthal", "dct"}, default="both"
        Which features; ``"both"`` concatenates the azimuthal profile and
        the log-DCT map (in that order).
    residual : {"wavelet", "none"}, default="wavelet"
        ``"wavelet"``: spectra of the wavelet noise residual of
        :func:`~skfingerprint.baselines.noise_residual` (without its
        zero-mean and Fourier-Wiener steps, which would alter the spectrum);
        this removes most of the image content.  ``"none"``: spectra of the
        images themselves, as Durall et al. and Frank et al. do.
    color : {"per_channel", "luminance"}, default="per_channel"
        Spectra of every colour channel (features repeated per channel), or
        of the BT.601 luma.  An alpha channel is ignored.
    sigma : float, default=3.0
        Noise level of the residual's denoiser, in grey levels.
    wavelet : str, default="db4"
        PyWavelets wavelet of the residual.
    levels : int, default=4
        Wavelet levels of the residual (capped by the image size).
    standardize : bool, default=True
        Centre and scale every feature by its mean and standard deviation
        over the training bags (as Frank et al. do before classifying):
        log-spectra of different frequencies have very different ranges.
    %(bag_input_parameters)s
    batch_size : int, default=256
        Images processed at once; memory is bounded by a batch.

    Attributes
    ----------
    radial_frequencies_ : ndarray of shape (n_radial_bins,)
        Mean spatial frequency (cycles per pixel, 0 to about 0.71) of each
        ring of the azimuthal profile; present when the features include it.
    mean_ : ndarray of shape (n_features_out,)
        Mean training feature (zeros when ``standardize=False``).
    scale_ : ndarray of shape (n_features_out,)
        Standard deviation of the training features (ones when
        ``standardize=False``; 1 where a feature is constant).
    %(bag_input_attributes)s

    See Also
    --------
    PRNUFingerprint : The mean residual itself.

    Notes
    -----
    Features are, in order: the azimuthal profile (``n_radial_bins`` values
    per channel, channel after channel), then the log-DCT map in (H, W, C)
    order.  Powers are in grey levels squared (float images in [0, 1] are
    scaled by 255) plus 1e-6 before the logarithm.  2D input (bags of
    scalar items, 1x1 images) gives constant features.

    Spectra drop the phase of the artifacts, which the mean residual of
    :class:`PRNUFingerprint` keeps.

    References
    ----------
    R. Durall, M. Keuper, J. Keuper, "Watch your up-convolution", CVPR 2020.
    J. Frank et al., "Leveraging frequency analysis for deep fake image
    recognition", ICML 2020.

    Examples
    --------
    >>> from skfingerprint import make_bags
    >>> from skfingerprint.baselines import SpectrumFingerprint
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> data = make_fingerprinted_images(n_models=2, n_images_per_model=16,
    ...                                  image_size=16, random_state=0)
    >>> X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    >>> spec = SpectrumFingerprint(features="azimuthal").fit(X)
    >>> spec.transform(X).shape, spec.radial_frequencies_.shape  # 12 rings x 3
    ((4, 36), (12,))
    """

    _parameter_constraints: dict = {
        **_ResidualBagTransformer._parameter_constraints,
        "features": [StrOptions({"both", "azimuthal", "dct"})],
        "residual": [StrOptions({"wavelet", "none"})],
        "standardize": ["boolean"],
    }

    def __init__(
        self,
        *,
        features="both",
        residual="wavelet",
        color="per_channel",
        sigma=3.0,
        wavelet="db4",
        levels=4,
        standardize=True,
        image_size=None,
        patch_size=None,
        patches_per_image=8,
        batch_size=256,
    ):
        self.features = features
        self.residual = residual
        self.color = color
        self.sigma = sigma
        self.wavelet = wavelet
        self.levels = levels
        self.standardize = standardize
        self.image_size = image_size
        self.patch_size = patch_size
        self.patches_per_image = patches_per_image
        self.batch_size = batch_size

    def _n_image_features(self, image_shape):
        h, w, c = image_shape
        per_channel = 0
        if self.features in ("both", "azimuthal"):
            per_channel += _radial_bins(h, w)[1].size
        if self.features in ("both", "dct"):
            per_channel += h * w
        return per_channel * n_colour_channels(c, self.color)

    def _image_features(self, images):
        h, w = images.shape[1:3]
        if self.residual == "wavelet" and h * w > 1:
            imgs = self._residuals(images, windows=_WINDOWS, zero_mean=False,
                                   wiener_dft=False)
        else:  # the images themselves (and 1x1 images: no spatial residual)
            imgs = np.moveaxis(select_colour(images, self.color), -1, 1)
        n, c = imgs.shape[:2]  # (N, C', H, W)
        out = []
        if self.features in ("both", "azimuthal"):
            index, _, counts = _radial_bins(h, w)
            power = (np.abs(np.fft.fft2(imgs, axes=(-2, -1))) ** 2 / (h * w)).reshape(
                n * c, h * w
            )
            ring = np.zeros((n * c, counts.size))
            np.add.at(ring.T, index, power.T)
            out.append(np.log(ring / counts + _EPS).reshape(n, c * counts.size))
        if self.features in ("both", "dct"):
            coef = sp_fft.dctn(imgs, type=2, norm="ortho", axes=(-2, -1))
            logd = np.log(coef**2 + _EPS)
            out.append(np.moveaxis(logd, 1, -1).reshape(n, h * w * c))
        return np.concatenate(out, axis=1)

    @property
    def _n_features_out(self):
        return self.mean_.shape[0]

    def _finish_features(self, features):
        return (features - self.mean_) / self.scale_

    def fit(self, X, y=None):
        """Learn the image shape and (with ``standardize``) the feature scaling.

        Parameters
        ----------
        %(X_fit)s
        y : None
            Ignored.

        Returns
        -------
        self : SpectrumFingerprint
        """
        self.fit_transform(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and return the features of the training bags (one pass).

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_bags, n_features_out), dtype float32
        """
        bags = self._validate_bags(X, reset=True)
        feats = self._bag_features(bags)
        if self.features in ("both", "azimuthal"):
            self.radial_frequencies_ = _radial_bins(*bags.image_shape[:2])[1].copy()
        elif hasattr(self, "radial_frequencies_"):
            del self.radial_frequencies_
        if self.standardize:
            self.mean_ = feats.mean(axis=0)
            std = feats.std(axis=0)
            self.scale_ = np.where(std > 1e-12 * (1 + np.abs(self.mean_)), std, 1.0)
        else:
            self.mean_ = np.zeros(feats.shape[1])
            self.scale_ = np.ones(feats.shape[1])
        return self._finish_features(feats).astype(np.float32)

    def transform(self, X):
        """Spectral features of each bag.

        Parameters
        ----------
        %(X_transform)s

        Returns
        -------
        Z : ndarray of shape (n_bags, n_features_out), dtype float32
            See Notes for the order of the features.
        """
        return super().transform(X)  # documented here for the API reference
