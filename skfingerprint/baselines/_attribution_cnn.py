"""AttributionCNN: a supervised single-image source classifier (Yu et al. 2019 style)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._bags import check_bag_labels
from .._net_state import NetStateMixin
from .._training import check_callbacks, fit_net
from .._validation import check_int_tuple, resolve_device
from ._common import _BagFeatureTransformer

__all__ = ["AttributionCNN"]

_STATE_VERSION = 1


class _AttributionNet(nn.Module):
    """Convolutional stages, global average pooling, a penultimate layer, a head."""

    def __init__(self, in_channels, channels, feature_dim, n_classes, highpass=True):
        super().__init__()
        self.config = dict(
            in_channels=int(in_channels),
            channels=tuple(int(c) for c in channels),
            feature_dim=int(feature_dim),
            n_classes=int(n_classes),
            highpass=bool(highpass),
        )
        self.highpass = bool(highpass)
        layers, prev = [], int(in_channels)
        for i, c in enumerate(channels):
            # the first stage keeps full resolution, where artifacts live
            layers += [nn.Conv2d(prev, c, 3, stride=1 if i == 0 else 2, padding=1),
                       nn.LeakyReLU(0.1)]
            prev = c
        self.convs = nn.Sequential(*layers)
        self.penultimate = nn.Sequential(nn.Linear(prev, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x):
        """Penultimate activations of images ``(N, H, W, C)`` (float)."""
        x = x.permute(0, 3, 1, 2).float()
        if self.highpass:
            # fixed first layer: image minus its 3x3 local mean (the content is
            # mostly smooth, artifacts are not), normalised per image/channel
            smooth = nn.functional.avg_pool2d(
                nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1
            )
            x = x - smooth
            x = x - x.mean(dim=(2, 3), keepdim=True)
            x = x / torch.sqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + 1e-10)
        x = self.convs(x).mean(dim=(2, 3))
        return self.penultimate(x)

    def forward(self, x):
        return self.head(self.features(x))


def _as_float(images, is_scalar):
    """uint8 -> float32 in [0, 1]; float images and scalar items as they are."""
    if images.dtype == np.uint8 and not is_scalar:
        return images.astype(np.float32) / np.float32(255.0)
    return np.asarray(images, dtype=np.float32)


class _ImageDataset(torch.utils.data.Dataset):
    """The images of ``_BagFeatureTransformer._images``, labelled with their bag's source."""

    def __init__(self, images, y_idx):
        self.images = images
        self.y_idx = np.asarray(y_idx, dtype=np.int64)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image, bag = self.images[i]
        return image, self.y_idx[bag]


class AttributionCNN(NetStateMixin, _BagFeatureTransformer):
    """Single-image CNN source classifier; bag feature = mean penultimate activation.

    In the style of Yu et al. (2019): a CNN is trained with cross-entropy to
    name the source of single images (every image of a training bag carries
    the bag's label).  ``transform`` feeds every image of a bag through it
    and averages the activations of its penultimate layer over the bag.  The
    estimator owns a skorch ``NeuralNet`` (``net_``), like
    :class:`~skfingerprint.SetFingerprintEncoder`.

    Parameters
    ----------
    feature_dim : int, default=64
        Width of the penultimate layer: the length of the bag features.
    channels : tuple of int, default=(16, 32, 64)
        Widths of the convolutional stages (3x3 convolutions, leaky ReLU);
        the first runs at full resolution, each later one halves it.
    highpass : bool, default=True
        Put a fixed high-pass layer first: each image minus its 3x3 local
        mean, normalised to unit variance per image and channel.  Weak
        artifacts under strong image content are then learned in a few
        epochs; ``False`` feeds the pixels as they are (as Yu et al. do),
        which needs many more epochs.
    max_epochs : int, default=10
        Passes over the training images.
    lr : float, default=3e-3
        Learning rate of Adam.
    batch_size : int, default=64
        Images per optimisation step, and per forward pass in ``transform``.
    %(bag_input_parameters)s
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        Where the network runs; ``"auto"`` takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (in a forked torch RNG; the global RNG is
        left as it was) and the shuffling (a private ``torch.Generator``).
        With an int, results are identical from run to run on CPU.
    verbose : int, default=0
        0 prints nothing; 1 prints the loss per epoch.
    callbacks : list of skorch callbacks or None, default=None
        Passed to the skorch net.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sources seen in ``fit``, sorted; the order of the CNN's outputs.
    net_ : skorch.NeuralNet
        The trained net; ``net_.history`` holds the loss per epoch.
    device_ : str
        The device the network ran on.
    %(bag_input_attributes)s

    See Also
    --------
    skfingerprint.SetFingerprintEncoder : The set encoder of the paper.

    Notes
    -----
    No part of the training data is held out silently; training runs
    ``max_epochs`` epochs.  2D input (rows = bags of scalar items) trains the
    CNN on 1x1 single-channel images.

    References
    ----------
    N. Yu, L. Davis, M. Fritz, "Attributing fake images to GANs: learning and
    analyzing GAN fingerprints", ICCV 2019.

    Examples
    --------
    >>> from skfingerprint import make_bags
    >>> from skfingerprint.baselines import AttributionCNN
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> data = make_fingerprinted_images(n_models=2, n_images_per_model=16,
    ...                                  image_size=16, random_state=0)
    >>> X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    >>> cnn = AttributionCNN(feature_dim=8, max_epochs=1, random_state=0).fit(X, y)
    >>> cnn.transform(X).shape
    (4, 8)
    """

    _parameter_constraints: dict = {
        **_BagFeatureTransformer._parameter_constraints,
        "feature_dim": [Interval(Integral, 1, None, closed="left")],
        "channels": ["array-like"],
        "highpass": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list, tuple],
    }

    def __init__(
        self,
        feature_dim=64,
        *,
        channels=(16, 32, 64),
        highpass=True,
        max_epochs=10,
        lr=3e-3,
        batch_size=64,
        image_size=None,
        patch_size=None,
        patches_per_image=8,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.feature_dim = feature_dim
        self.channels = channels
        self.highpass = highpass
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.image_size = image_size
        self.patch_size = patch_size
        self.patches_per_image = patches_per_image
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _validate_params(self):
        super()._validate_params()
        check_int_tuple("channels", self.channels)
        resolve_device(self.device)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the CNN on the images of the bags, labelled by their bag's source.

        Parameters
        ----------
        %(X_fit)s
        y : array-like of shape (n_bags,)
            Source of each bag.

        Returns
        -------
        self : AttributionCNN
        """
        from skorch import NeuralNet

        bags = self._validate_bags(X, reset=True)
        y = check_bag_labels(y, bags.n_bags)
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"AttributionCNN needs bags of at least 2 sources (classes) to "
                f"learn to tell apart, got 1 class ({classes.tolist()[0]!r})."
            )
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = _AttributionNet(
                bags.image_shape[2], check_int_tuple("channels", self.channels),
                int(self.feature_dim), classes.size,
                highpass=bool(self.highpass),
            )
        self.device_ = device = resolve_device(self.device)
        callbacks = check_callbacks(self.callbacks)
        self.net_ = NeuralNet(
            module=module,
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=float(self.lr),
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            train_split=None,
            callbacks=callbacks or None,
            device=device,
            verbose=int(self.verbose),
        )
        # an interrupt (Ctrl-C) keeps the last weights, with a warning
        fit_net(self, _ImageDataset(self._images(bags), y_idx))
        losses = [h["train_loss"] for h in self.net_.history if "train_loss" in h]
        if not np.isfinite(losses).all():
            raise RuntimeError("Training diverged (loss is NaN or infinite); lower lr.")
        self.classes_ = classes
        return self

    def _n_image_features(self, image_shape):
        return int(self.feature_dim)

    @property
    def _n_features_out(self):
        return self.net_.module_.config["feature_dim"]

    def _as_model_input(self, images, is_scalar):
        return _as_float(images, is_scalar)

    def _image_features(self, images):
        tensor = torch.from_numpy(np.ascontiguousarray(images)).to(self.device_)
        return self.net_.module_.features(tensor).double().cpu().numpy()

    def transform(self, X):
        """Mean penultimate activation of the images of each bag.

        Parameters
        ----------
        %(X_transform)s

        Returns
        -------
        Z : ndarray of shape (n_bags, feature_dim), dtype float32
        """
        check_is_fitted(self, ("net_", "image_shape_"))
        self.net_.module_.eval()
        with torch.inference_mode():
            return super().transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------- persistence
    _net_module_cls = _AttributionNet
    _net_criterion = nn.CrossEntropyLoss
    _net_state_version = _STATE_VERSION


def _expected_failed_checks(estimator):
    """Checks of scikit-learn's suite that fail by design, with the reason."""
    return {
        "check_methods_subset_invariance": (
            "float32 convolutions differ in the last bits with the batch size "
            "(relative differences about 1e-6), as in any torch model."
        ),
    }
