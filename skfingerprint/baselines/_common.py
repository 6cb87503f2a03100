"""The skeleton shared by the baselines' bag transformers, and colour helpers.

:class:`_BagFeatureTransformer` is the one place where a baseline reads
bags: subclasses only say how long the feature of an image is and how to
compute it; the base class validates the bags through
:class:`skfingerprint._bags.BagInputMixin` (the contract it shares with the
set encoder) and streams the images batch by batch into the mean feature of
every bag.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._bags import BagInputMixin
from .._threads import decode_threads, read_ahead
from .._validation import POSITIVE_INT

# ITU-R BT.601 luma weights (as in MATLAB's rgb2gray, used by the PRNU code)
_LUMA = np.array([0.299, 0.587, 0.114])


def to_grey_levels(images, is_scalar):
    """Images of a batch as float64 in grey levels (0-255 scale).

    uint8 images are taken as they are, float images in [0, 1] are multiplied
    by 255; scalar items (2D input) keep their values.
    """
    out = np.asarray(images, dtype=np.float64)
    if images.dtype != np.uint8 and not is_scalar:
        out = out * 255.0
    return out


def select_colour(images, color):
    """``(..., H, W, C)`` -> ``(..., H, W, C')`` for ``color`` in luminance/per_channel.

    ``"luminance"`` gives one channel: the BT.601 luma of RGB(A) images, the
    first channel of grey(+alpha) images.  ``"per_channel"`` drops an alpha
    channel (C = 2 or 4) and keeps the others.
    """
    c = images.shape[-1]
    if color == "luminance":
        if c >= 3:
            return (images[..., :3] @ _LUMA)[..., None]
        return images[..., :1]
    if c in (2, 4):
        return images[..., : c - 1]
    return images


def n_colour_channels(c, color):
    """Number of channels :func:`select_colour` keeps of ``c``."""
    if color == "luminance":
        return 1
    return c - 1 if c in (2, 4) else c


def bag_batches(n_bags, bag_size, batch_size):
    """Yield ``(bag_idx (n,), item_idx (n, m))`` covering every image once.

    Whole bags are grouped while they fit in ``batch_size`` images; a bag
    larger than that is read in chunks of ``batch_size`` images.  Memory is
    bounded by the batch, not by the number of bags or images.
    """
    if bag_size <= batch_size:
        step = max(1, batch_size // bag_size)
        items = np.arange(bag_size)
        for start in range(0, n_bags, step):
            idx = np.arange(start, min(start + step, n_bags))
            yield idx, np.broadcast_to(items, (idx.size, bag_size))
    else:
        for b in range(n_bags):
            for start in range(0, bag_size, batch_size):
                items = np.arange(start, min(start + batch_size, bag_size))
                yield np.array([b]), items[None, :]


class _BagImages:
    """Every item of every bag, one at a time, as a sequence (for training).

    Item ``i`` is ``(image, bag)``: the ``i``-th image (in patch mode: patch,
    of the deterministic grid of its image) of the bags taken bag after bag,
    prepared by ``as_model_input``, and the index of its bag.
    """

    def __init__(self, bags, as_model_input):
        self.bags = bags
        self.as_model_input = as_model_input

    def __len__(self):
        return self.bags.n_bags * self.bags.bag_size * self.bags.items_per_image

    def __getitem__(self, i):
        image, patch = divmod(int(i), self.bags.items_per_image)
        b, k = divmod(image, self.bags.bag_size)
        items = self.bags.take(np.array([b]), np.array([[k]]))
        return self.as_model_input(items, self.bags.is_scalar)[0, patch], b


#: Docstring parts every baseline shares; a line ``%(name)s`` in a subclass's
#: docstring or in one of its methods' docstrings is replaced by the part,
#: indented like the line.
DOC_PARTS = {
    "bag_input_parameters": """\
image_size : int, (int, int) or None, default=None
    For bags of image files: resize and centre-crop to this size.
patch_size : None, "auto", int or (int, int), default=None
    Patch mode, as in :class:`~skfingerprint.SetFingerprintEncoder`
    (``"auto"``: whole images when they all have one size of at most 64
    pixels, else patches; the choice is ``patch_size_``).
patches_per_image : int, default=8
    Crops per image in patch mode.
""",
    "bag_input_attributes": """\
image_shape_ : tuple of int
    ``(H, W, C)`` of the images seen in ``fit``.
n_features_in_ : int
    Number of items per bag for 2D input (bags of scalar items); not set
    for image bags.
patch_size_ : tuple of int or None
    The patch ``(height, width)`` used (``patch_size="auto"`` resolved
    from the training images), or None for whole images.
""",
    "X_fit": """\
X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
    Bags of images (uint8, or floats in [0, 1]), of image paths, or
    of scalar items.
""",
    "X_transform": """\
X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
    Bags of the image shape seen in ``fit``; bags may hold any number
    of images.
""",
}
_DOC_PART_LINE = re.compile(r"^( *)%\((\w+)\)s\n", re.MULTILINE)


def fill_doc_parts(doc):
    """``doc`` with each ``%(name)s`` line replaced by ``DOC_PARTS[name]``."""
    if not doc or "%(" not in doc:
        return doc
    return _DOC_PART_LINE.sub(
        lambda m: textwrap.indent(DOC_PARTS[m.group(2)], m.group(1)), doc
    )


class _BagFeatureTransformer(
    BagInputMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Bags in, one feature vector per bag out: the mean feature of its images.

    The bag input (``image_size``, ``patch_size``, ``patches_per_image``,
    the validation of bags and ``n_features_in_``) is the contract of
    :class:`~skfingerprint._bags.BagInputMixin`, shared with
    :class:`~skfingerprint.SetFingerprintEncoder`.  Subclasses define
    ``__init__`` (with those parameters and ``batch_size``), extend
    ``_parameter_constraints``, decorate their ``fit`` with
    ``_fit_context`` and implement

    * ``_n_image_features(image_shape)``: the length of the feature of one
      image of shape ``(H, W, C)``;
    * ``_image_features(images)``: ``(N, H, W, C)`` images, as
      ``_as_model_input`` prepares them, to ``(N, n_features)`` numbers.

    and may override ``_as_model_input`` (default: float64 grey levels) and
    ``_finish_features`` (applied to the bag means; default: none) and
    ``_n_features_out`` (when fitted attributes fix the number of output
    features).  ``fit`` calls ``_validate_bags(X, reset=True)``;
    ``transform`` is shared; ``_images(bags)`` gives the images one by one
    (for training on single images).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__doc__ = fill_doc_parts(cls.__doc__)
        for value in vars(cls).values():
            doc = getattr(value, "__doc__", None) if callable(value) else None
            if doc and "%(" in doc:
                value.__doc__ = fill_doc_parts(doc)

    _parameter_constraints: dict = {
        **BagInputMixin._bag_input_constraints,
        "batch_size": [POSITIVE_INT],
    }
    _input_shape_attr = "image_shape_"

    # ------------------------------------------------------------- subclass API
    def _n_image_features(self, image_shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def _image_features(self, images):  # pragma: no cover - abstract
        raise NotImplementedError

    def _as_model_input(self, images, is_scalar):
        """A batch of images ``(n, m, H, W, C)`` as the features expect them."""
        return to_grey_levels(images, is_scalar)

    def _finish_features(self, features):
        """Map the bag means ``(n_bags, n_features)`` to the output."""
        return features

    # ------------------------------------------------------------- bags
    def _validate_bags(self, X, *, reset):
        """:meth:`BagInputMixin._validate_bags`; in ``transform``, the parameters
        must still give the number of features seen in ``fit``."""
        bags = super()._validate_bags(X, reset=reset)
        if not reset:
            n_features = self._n_image_features(tuple(bags.image_shape))
            if n_features != self._n_features_out:
                raise ValueError(
                    f"{type(self).__name__} was fitted with {self._n_features_out} "
                    f"features per bag but its parameters now give {n_features}; "
                    "refit it after changing parameters."
                )
        return bags

    @property
    def _n_features_out(self):
        """Number of output features (for ``get_feature_names_out``), once fitted."""
        return self._n_image_features(self.image_shape_)

    def _images(self, bags):
        """The images of ``bags`` one by one, for a model trained on single images."""
        return _BagImages(bags, self._as_model_input)

    def _bag_features(self, bags):
        """Mean over each bag of ``_image_features``, float64, streamed.

        At most ``batch_size`` images are read and processed at once.
        """
        n_features = self._n_image_features(tuple(bags.image_shape))
        sums = np.zeros((bags.n_bags, n_features), dtype=np.float64)
        plan = list(bag_batches(bags.n_bags, bags.bag_size, int(self.batch_size)))
        # files are read by threads, a few batches ahead of the features
        threads = decode_threads(bags)
        read = read_ahead(lambda i: (plan[i][0], bags.take(*plan[i])), len(plan),
                          threads, ahead=2 * threads)
        for bag_idx, images in read:
            batch = self._as_model_input(images, bags.is_scalar)
            n, m = batch.shape[:2]
            feats = np.asarray(
                self._image_features(batch.reshape((n * m,) + batch.shape[2:])),
                dtype=np.float64,
            )
            sums[bag_idx] += feats.reshape(n, m, n_features).sum(axis=1)
        return sums / (bags.bag_size * bags.items_per_image)

    # ------------------------------------------------------------- transform
    def transform(self, X):
        """Feature vector of each bag.

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
            Bags of the image shape seen in ``fit`` (images, image paths or
            scalar items, like the training bags); bags may hold any number
            of images.

        Returns
        -------
        Z : ndarray of shape (n_bags, n_features_out), dtype float32
            See the class documentation for what the features are.
        """
        check_is_fitted(self, "image_shape_")
        self._validate_params()  # parameters may have been set since fit
        bags = self._validate_bags(X, reset=False)
        return self._finish_features(self._bag_features(bags)).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
