"""PRNUFingerprint: the mean noise residual of a bag (Marra et al. 2019)."""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context

from .._validation import check_int_tuple
from ._common import n_colour_channels
from ._residual import _ResidualBagTransformer

__all__ = ["PRNUFingerprint"]


class PRNUFingerprint(_ResidualBagTransformer):
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
    %(bag_input_parameters)s
    batch_size : int, default=256
        Images processed at once; memory is bounded by a batch.

    Attributes
    ----------
    %(bag_input_attributes)s

    See Also
    --------
    noise_residual : The residual of single images.
    SpectrumFingerprint : Frequency features of the residual.

    Notes
    -----
    ``transform`` returns float32 features in grey levels, in (H, W, C')
    order (``C'`` = 1 for ``color="luminance"``): reshape a row to
    ``(H, W, C')`` to see the mean residual as an image.

    ``fit`` learns nothing but the image shape: the features of a bag do not
    depend on other bags.  2D input (rows = bags of scalar items, i.e. 1x1
    images) is accepted for compatibility; a 1x1 image has no spatial
    noise, so its residual, and each such bag's feature, is 0.

    ``wiener_dft=True`` (the default) keeps the literature's pipeline; the
    guide "Training the set encoder" compares the settings of the baselines.

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

    _parameter_constraints: dict = {
        **_ResidualBagTransformer._parameter_constraints,
        "windows": ["array-like"],
        "zero_mean": ["boolean"],
        "wiener_dft": ["boolean"],
    }

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
        patch_size=None,
        patches_per_image=8,
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
        self.patch_size = patch_size
        self.patches_per_image = patches_per_image
        self.batch_size = batch_size

    def _validate_params(self):
        super()._validate_params()
        check_int_tuple("windows", self.windows, odd=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the image shape of the bags (nothing else is learned).

        Parameters
        ----------
        %(X_fit)s
        y : None
            Ignored.

        Returns
        -------
        self : PRNUFingerprint
        """
        self._validate_bags(X, reset=True)
        return self

    def _n_image_features(self, image_shape):
        h, w, c = image_shape
        return h * w * n_colour_channels(c, self.color)

    def _image_features(self, images):
        res = self._residuals(
            images, windows=check_int_tuple("windows", self.windows, odd=True),
            zero_mean=self.zero_mean, wiener_dft=self.wiener_dft,
        )
        return np.moveaxis(res, 1, -1).reshape(res.shape[0], -1)  # (H, W, C) order

    def transform(self, X):
        """Mean noise residual of each bag.

        Parameters
        ----------
        %(X_transform)s

        Returns
        -------
        Z : ndarray of shape (n_bags, H * W * C'), dtype float32
            Flattened mean residuals (``C'`` = 1 for ``color="luminance"``),
            in grey levels, in (H, W, C') order: reshape to see them as images.
        """
        return super().transform(X)  # documented here for the API reference
