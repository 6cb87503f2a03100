"""The bag data model: validation of bags, lazy image access and ``make_bags``.

A *bag* is a set of images from one source.  Every estimator of the library
accepts bags in one of these forms and turns them into a :class:`BagSource`
with :func:`check_bags`:

* a numeric array of shape ``(n_bags, bag_size, H, W, C)`` (channels-last),
  ``uint8`` in [0, 255] or floating in [0, 1];
* ``(n_bags, bag_size, H, W)``: grayscale images (C = 1);
* ``(n_bags, bag_size)`` numeric: each row a bag of scalar items (1x1x1
  "images" of any real value; this makes the estimators usable on plain
  tabular data and by scikit-learn's common checks);
* ``(n_bags, bag_size)`` of strings or path-like objects: image files,
  decoded lazily, batch by batch;
* in patch mode only, nested lists (or an object array of shape
  ``(n_bags, bag_size)``) of images ``(H, W[, C])`` of different sizes.

A ``numpy.memmap`` works like an ndarray and is never loaded whole.

What reaches the network from each image is one of (see :mod:`._patches`):
the whole image (the default), the image resized to ``image_size`` (files
only; resampling erases high-frequency traces), or ``patches_per_image``
aligned crops of ``patch_size`` (patch mode: any, and mixed, image sizes;
``patch_size="auto"`` chooses from the sizes of the images).

:class:`BagInputMixin` is the one bag-input contract of the estimators (the
set encoder and the baselines): it declares the constraints of
``image_size``, ``patch_size`` and ``patches_per_image``, validates bags with
:func:`check_bags` and records what ``transform`` checks new bags against.
"""

from __future__ import annotations

import numbers
import os
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import type_of_target

from ._io import check_image_size, read_image, read_image_size
from . import _patches
from ._patches import PatchSpec
from ._validation import POSITIVE_INT

_CHUNK_BYTES = 64 * 2**20  # scan big arrays for NaN / range in chunks


def _is_pathlike_array(arr):
    if arr.dtype.kind in ("U", "S"):
        return True
    if arr.dtype.kind == "O":
        if arr.size == 0:
            return False
        flat = arr.reshape(-1)
        kinds = {type(v) for v in flat[: min(flat.size, 1000)]}
        if all(issubclass(k, (str, os.PathLike)) for k in kinds):
            return all(isinstance(v, (str, os.PathLike)) for v in flat)
    return False


def _first_mismatch(X, name):
    """Where nested sequences stop having one shape: ``"X[0] has shape ..."``."""
    def shape(v):
        try:
            return np.shape(v)
        except ValueError:  # itself ragged
            return None

    if not isinstance(X, (list, tuple)) or not X:
        return ""
    shapes = [shape(v) for v in X]
    for i, s in enumerate(shapes):
        if s is None:
            return _first_mismatch(X[i], f"{name}[{i}]")
        if s != shapes[0]:
            return f": {name}[0] has shape {shapes[0]} but {name}[{i}] has shape {s}"
    return ""


def _ragged_error(X, name):
    return ValueError(
        f"{name} is ragged: its bags (or images) do not all have the same shape"
        f"{_first_mismatch(X, name)}. Give every bag the same number of images "
        "(e.g. with skfingerprint.make_bags); for images of mixed sizes use patch "
        "mode (patch_size=64, say), which crops instead of resizing."
    )


def as_array(X, name):
    if isinstance(X, np.ndarray):
        return X
    if hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
        return np.asarray(X)
    if isinstance(X, (list, tuple)):
        try:
            arr = np.asarray(X)
        except ValueError:
            raise _ragged_error(X, name) from None
        if arr.dtype.kind == "O" and arr.ndim < 2 and any(
            isinstance(v, (list, tuple, np.ndarray)) for v in arr.reshape(-1)
        ):
            raise _ragged_error(X, name)
        return arr
    raise TypeError(
        f"{name} must be an array of bags (ndarray, memmap or nested lists), got "
        f"{type(X).__name__}."
    )


def scan_numeric(arr, name, check_range):
    """Check finiteness and value range chunk by chunk (memmap friendly)."""
    kind = arr.dtype.kind
    if kind in ("i", "u") and not check_range:
        return
    n = arr.shape[0]
    per_row = max(1, int(np.prod(arr.shape[1:], dtype=np.int64)) * arr.itemsize)
    step = max(1, _CHUNK_BYTES // per_row)
    lo, hi = np.inf, -np.inf
    for start in range(0, n, step):
        chunk = np.asarray(arr[start : start + step])
        if kind == "f":
            if not np.isfinite(chunk).all():
                raise ValueError(
                    f"{name} contains NaN or infinity. Remove or repair the "
                    "affected images (np.isfinite shows where)."
                )
        if check_range and chunk.size:
            lo = min(lo, float(chunk.min()))
            hi = max(hi, float(chunk.max()))
    if not check_range or lo > hi:
        return
    if kind == "f" and (lo < 0.0 or hi > 1.0):
        raise ValueError(
            f"{name} holds floating-point images with values in [{lo:.4g}, "
            f"{hi:.4g}], outside [0, 1]. Scale them to [0, 1] (e.g. divide uint8 "
            "data by 255) or pass uint8 images in [0, 255]."
        )
    if kind in ("i", "u") and (lo < 0 or hi > 255):
        raise ValueError(
            f"{name} holds integer images with values in [{lo:g}, {hi:g}], outside "
            "[0, 255]. Pass uint8 images in [0, 255] or floats in [0, 1]."
        )


def _plain(value):
    """A NumPy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _looks_numeric(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


class BagSource:
    """Canonical, validated view of bags, read batch by batch.

    Created by :func:`check_bags`; not meant to be built directly.

    Attributes
    ----------
    kind : {"array", "paths", "images"}
        A numeric array, an array of file paths, or (patch mode) an object
        array of images of different sizes.
    n_bags : int
    bag_size : int
        Images per bag.
    image_shape : tuple of int
        ``(H, W, C)`` of every item handed to the network: the image, or the
        patch in patch mode.
    is_scalar : bool
        True for 2D numeric input (bags of scalar items).
    patch : PatchSpec or None
        The patch settings (patch mode), else None.
    items_per_image : int
        Items each image contributes: ``patch.per_image`` in patch mode, else 1.
    """

    def __init__(
        self, kind, data, image_shape, *, is_scalar=False, image_size=None, patch=None,
        name="X",
    ):
        self.name = name
        self.kind = kind
        self.data = data
        self.n_bags = int(data.shape[0])
        self.bag_size = int(data.shape[1])
        self.image_shape = tuple(int(s) for s in image_shape)
        self.is_scalar = is_scalar
        self.image_size = image_size
        self.patch = patch

    def __len__(self):
        return self.n_bags

    @property
    def items_per_image(self):
        return 1 if self.patch is None else self.patch.per_image

    @property
    def dtype(self):
        """dtype of the images handed to the network (uint8 or float32)."""
        if self.kind == "paths" or self.data.dtype == np.uint8:
            return np.dtype(np.uint8)
        if self.kind == "images":
            return np.dtype(np.uint8 if self.data.flat[0].dtype == np.uint8 else np.float32)
        return np.dtype(np.float32)

    def take(self, bags, items, rng=None):
        """Items of the given bags and images, ``(len(bags), k * items_per_image, H, W, C)``.

        Parameters
        ----------
        bags : array of int, shape (n,)
        items : array of int, shape (n, k)
            Indices of the images inside each bag.
        rng : numpy.random.Generator or None, default=None
            Patch mode: draws random aligned crops (training); None takes each
            image's deterministic grid of crops (transform).  Ignored outside
            patch mode.
        """
        bags = np.asarray(bags, dtype=np.intp)
        items = np.asarray(items, dtype=np.intp)
        if self.kind != "array" or self.patch is not None:
            per = self.items_per_image
            out = np.empty(
                (items.shape[0], items.shape[1] * per) + self.image_shape, dtype=self.dtype
            )
            for i, j in np.ndindex(items.shape):
                b, k = bags[i], items[i, j]
                out[i, j * per : (j + 1) * per] = self._items(self.data[b, k], rng, (b, k))
            return out
        # group by bag so that memmaps are read with few, ordered accesses
        out = np.asarray(self.data[bags[:, None], items])
        if self.is_scalar:
            out = out.reshape(out.shape + (1, 1, 1))
        elif out.ndim == 4:
            out = out[..., None]
        if out.dtype != np.uint8:
            out = out.astype(np.float32, copy=False)
        return out

    def _items(self, entry, rng, position):
        """The item(s) one image contributes: ``(items_per_image, H, W, C)``.

        ``position``: ``(bag, image)`` of the image in ``data``, for messages.
        """
        at = f"{self.name}[{position[0]}][{position[1]}]"
        if self.kind == "paths":
            image = self._read(entry)
            where = f"Image {os.fspath(entry)!r} ({at}: bag {position[0]}, image {position[1]})"
        else:
            image, where = np.asarray(entry), at
            if image.ndim == 2:
                image = image[..., None]
            if image.dtype != np.uint8:
                image = image.astype(np.float32, copy=False)
        if self.patch is None:
            return image[None]
        return self.patch.crops(image, rng, where=where)

    def _read(self, path):
        img = read_image(path, mode="RGB", image_size=self.image_size)
        if self.patch is None and img.shape != self.image_shape:
            raise ValueError(
                f"Image {os.fspath(path)!r} has shape {img.shape}, but the first "
                f"image of the bags, {os.fspath(self.data[0, 0])!r}, has shape "
                f"{self.image_shape}: the images have mixed sizes (or one of these "
                "two files was replaced after it was listed). Use patch mode "
                "(patch_size=64, say), which crops every image without resizing, "
                "or image_size=(H, W), which resizes (and blurs the traces of the "
                "generators)."
            )
        return img


def check_patch_settings(patch_size, patches_per_image, image_size=None):
    """A :class:`~skfingerprint._patches.PatchSpec`, or None outside patch mode.

    ``patch_size`` is None (whole images), ``"auto"`` (a spec whose size
    :func:`check_bags` resolves from the images, see
    :func:`~skfingerprint._patches.auto_patch_size`), an int or a pair
    ``(height, width)``.  ``patches_per_image`` is validated by the
    estimators' parameter constraints (a positive int).

    Raises a ValueError when ``patch_size`` and ``image_size`` are both given
    (patch mode crops; ``image_size`` resizes).
    """
    if patch_size is None:
        return None
    if not (isinstance(patch_size, str) and patch_size == "auto"):
        patch_size = check_image_size(patch_size, name="patch_size")
    if image_size is not None:
        raise ValueError(
            f"patch_size={patch_size!r} and image_size={image_size!r} exclude each "
            "other: patch mode crops images of any size without resizing them; "
            "set image_size=None (or patch_size=None to resize)."
        )
    return PatchSpec(patch_size, patches_per_image, align=_patches.PATCH_ALIGN)


class BagInputMixin:
    """The bag-input contract shared by every bag transformer of the library.

    It owns the parameters ``image_size``, ``patch_size`` and
    ``patches_per_image`` (their constraints are declared once, in
    ``_bag_input_constraints``, which estimators merge into their
    ``_parameter_constraints``), the validation of bags by
    :func:`check_bags`, and what ``fit`` records for ``transform`` to check
    new bags against:

    * ``patch_size_``: the patch ``(height, width)`` used, with
      ``patch_size="auto"`` resolved from the training images, or None
      (whole images);
    * the shape ``(H, W, C)`` of the items the model saw (images, or
      patches), under the name ``_input_shape_attr``;
    * ``n_features_in_``: the number of items per bag for 2D input (bags of
      scalar items); not set for bags of images.

    Estimators call ``_validate_bags(X, reset=True)`` in ``fit`` and
    ``_validate_bags(X, reset=False)`` in ``transform``.
    """

    _bag_input_constraints: dict = {
        # the contents of a pair are checked by check_image_size
        "image_size": [None, Interval(Integral, 1, None, closed="left"), "array-like"],
        "patch_size": [
            None,
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            "array-like",
        ],
        "patches_per_image": [POSITIVE_INT],
    }
    _input_shape_attr = "input_shape_"

    def _patch_spec(self, *, fitted=False):
        """The :class:`~skfingerprint._patches.PatchSpec` of the parameters (or None).

        With ``fitted``, ``patch_size="auto"`` stands for the patch that
        ``fit`` chose (``patch_size_``).
        """
        patch_size = self.patch_size
        if fitted and isinstance(patch_size, str) and hasattr(self, "patch_size_"):
            patch_size = self.patch_size_
            if patch_size is None:
                return None
        return check_patch_settings(patch_size, self.patches_per_image, self.image_size)

    def _validate_bags(self, X, *, reset):
        """Check ``X`` and return its :class:`BagSource`.

        With ``reset`` (in ``fit``) record what ``transform`` needs; otherwise
        ``X`` must match it.
        """
        bags = check_bags(X, image_size=self.image_size,
                          patch=self._patch_spec(fitted=not reset))
        if reset:
            setattr(self, self._input_shape_attr, tuple(bags.image_shape))
            self.patch_size_ = None if bags.patch is None else bags.patch.size
            if bags.is_scalar:
                self.n_features_in_ = bags.bag_size
            elif hasattr(self, "n_features_in_"):
                del self.n_features_in_
        else:
            self._check_same_input(bags)
        return bags

    def _check_same_input(self, bags):
        """``bags`` must be of the kind, size and channels seen in ``fit``."""
        name = type(self).__name__
        if bags.is_scalar != hasattr(self, "n_features_in_"):
            kind = "scalar items (2D input)" if bags.is_scalar else "images"
            raise ValueError(
                f"X holds bags of {kind}, unlike the bags seen in fit; pass bags of "
                "the same kind."
            )
        if bags.is_scalar and bags.bag_size != self.n_features_in_:
            raise ValueError(
                f"X has {bags.bag_size} features, but {name} is expecting "
                f"{self.n_features_in_} features as input (2D input is read as bags "
                "of scalar items; their number is fixed at fit)."
            )
        fitted = tuple(getattr(self, self._input_shape_attr, bags.image_shape))
        if bags.image_shape[2] != fitted[2]:
            raise ValueError(
                f"X has images with {bags.image_shape[2]} channel(s), but {name} was "
                f"fitted on images with {fitted[2]}."
            )
        if tuple(bags.image_shape[:2]) != fitted[:2]:
            raise ValueError(
                f"X has images of size {tuple(bags.image_shape[:2])}, but {name} was "
                f"fitted on images of size {fitted[:2]}: outside patch mode the "
                "features depend on the image size. Give images of the training "
                "size, or fit with patch_size=... (patch mode) to take images of "
                "any size."
            )


def _is_mixed_size_list(X):
    """Nested lists / a 2-D object array that NumPy cannot stack into images."""
    if isinstance(X, np.ndarray):
        return X.dtype.kind == "O" and X.ndim == 2 and not _is_pathlike_array(X)
    if not isinstance(X, (list, tuple)):
        return False
    try:
        arr = np.asarray(X)
    except ValueError:
        return True
    return arr.dtype.kind == "O" and not _is_pathlike_array(arr)


def _image_list(X, name):
    """Nested lists or an object array of images of mixed sizes (patch mode)."""
    if isinstance(X, np.ndarray) and X.dtype.kind == "O" and X.ndim == 2:
        rows = X.tolist()
    elif isinstance(X, (list, tuple)) and all(isinstance(b, (list, tuple)) for b in X):
        rows = [list(b) for b in X]
    else:
        return None
    if not rows or len({len(r) for r in rows}) != 1 or not rows[0]:
        return None
    out = np.empty((len(rows), len(rows[0])), dtype=object)
    channels = None
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            where = f"{name}[{i}][{j}]"
            if not isinstance(image, np.ndarray):
                try:
                    image = np.asarray(image)
                except ValueError:
                    raise _ragged_error(X, name) from None
            if image.ndim not in (2, 3) or image.dtype.kind not in ("u", "i", "f"):
                raise ValueError(
                    f"{where} must be a numeric image of shape (H, W) or (H, W, C), "
                    f"got shape {image.shape} and dtype {image.dtype}."
                )
            scan_numeric(image[None], where, check_range=True)
            c = 1 if image.ndim == 2 else image.shape[2]
            if channels is None:
                channels = c
            elif c != channels:
                raise ValueError(
                    f"{where} has {c} channel(s), but {name}[0][0] has {channels}; "
                    "give every image the same number of channels."
                )
            if image.dtype.kind in ("u", "i") and image.dtype != np.uint8:
                image = image.astype(np.uint8)  # range was checked: lossless
            out[i, j] = image
    return out, channels


def check_bags(
    X, *, name="X", image_size=None, patch=None, min_bag_size=1, check_files=True
):
    """Validate bags and return a canonical :class:`BagSource`.

    Parameters
    ----------
    X : array-like
        Bags in any accepted form (see the module docstring).
    name : str, default="X"
        Name used in error messages.
    image_size : int, (int, int) or None, default=None
        For path arrays: resize and centre-crop every decoded image to this
        size.  When None (and not in patch mode), every file must have the
        size of the first one.
    patch : PatchSpec or None, default=None
        Patch mode (from :func:`check_patch_settings`): every image gives
        ``patch.per_image`` aligned crops of ``patch.size``; images may have
        any size of at least the patch, and differ in size.
    min_bag_size : int, default=1
        Smallest accepted number of images per bag.
    check_files : bool, default=True
        For path arrays, check that every file exists and read the header of
        the first one.

    Returns
    -------
    bags : BagSource

    Raises
    ------
    ValueError
        Wrong number of dimensions, ragged bags, NaN or infinity, values out
        of range, empty input, missing or unreadable files.
    TypeError
        Boolean, complex or mixed-type object arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint._bags import check_bags
    >>> bags = check_bags(np.zeros((4, 3, 8, 8, 3), dtype=np.uint8))
    >>> bags.n_bags, bags.bag_size, bags.image_shape
    (4, 3, (8, 8, 3))
    >>> patch = check_patch_settings(8, 4)
    >>> bags = check_bags([[np.zeros((16, 24, 3)), np.zeros((8, 8, 3))]], patch=patch)
    >>> bags.kind, bags.image_shape, bags.take([0], [[0, 1]]).shape
    ('images', (8, 8, 3), (1, 8, 8, 8, 3))
    """
    if isinstance(X, BagSource):
        return X
    image_size = check_image_size(image_size)
    if patch is not None and _is_mixed_size_list(X):
        listed = _image_list(X, name)
        if listed is not None:
            bags = _image_list_bags(*listed, name=name, patch=patch)
            if bags is not None:
                return bags
            # "auto" chose whole images: they all have one size
            X = np.array(listed[0].tolist())
            patch = None
    arr = _bag_array(X, name, min_bag_size)
    if _is_pathlike_array(arr):
        return _path_bags(arr, name, image_size, patch, check_files)
    return _numeric_bags(arr, name, image_size, patch)


def _image_list_bags(data, channels, *, name, patch):
    """The BagSource of images of mixed sizes (None: "auto" chose whole images)."""
    names = [f"{name}[{i}][{j}]" for i, j in np.ndindex(data.shape)]
    sizes = [image.shape[:2] for image in data.reshape(-1)]
    patch = patch.resolve(sizes, names=names)
    if patch is None:
        return None
    for where, (height, width) in zip(names, sizes):
        patch.check_fits(height, width, where=where)
    return BagSource("images", data, patch.size + (channels,), patch=patch, name=name)


def _bag_array(X, name, min_bag_size):
    """``X`` as an array of at least ``(n_bags, bag_size)``, or a clear error."""
    if hasattr(X, "iloc") or hasattr(X, "to_numpy"):
        X = X.to_numpy()
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be an array of bags, got a single string {X!r}. For a "
            "folder of images use skfingerprint.datasets.load_image_folder and "
            "skfingerprint.make_bags."
        )
    try:
        import scipy.sparse as sp

        if sp.issparse(X):
            raise TypeError(
                f"{name} is a sparse matrix; bags of images must be dense arrays. "
                "Convert it with X.toarray()."
            )
    except ImportError:  # pragma: no cover
        pass
    arr = as_array(X, name)
    if arr.ndim == 0 or arr.size == 0 and arr.ndim < 2:
        raise ValueError(f"{name} is empty; it must contain at least one bag.")
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must have 2, 4 or 5 dimensions (n_bags, bag_size[, H, W[, C]]), "
            f"got a 1-dimensional array of shape {arr.shape}. Reshape your data: if "
            "it holds single images or image paths, group them into bags with "
            "skfingerprint.make_bags(images, labels, bag_size=...)."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 bags); it must contain at least one bag.")
    if arr.shape[1] == 0:
        raise ValueError(
            f"{name} has bags of 0 images: 0 feature(s) (shape={arr.shape}) while "
            "a minimum of 1 is required. Every bag needs images."
        )
    if arr.shape[1] < min_bag_size:
        raise ValueError(
            f"{name} has bags of {arr.shape[1]} images, fewer than the "
            f"{min_bag_size} required."
        )
    return arr


def _path_bags(arr, name, image_size, patch, check_files):
    """The BagSource of an array of image paths."""
    if arr.ndim != 2:
        raise ValueError(
            f"{name} holds file paths and must have shape (n_bags, bag_size), "
            f"got shape {arr.shape}."
        )
    paths = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        paths[idx] = str(os.fsdecode(arr[idx]))  # np.str_/bytes -> str
    if check_files:
        _check_files_exist(paths, name)
    if patch is not None and patch.is_auto:
        flat = paths.reshape(-1).tolist()
        patch = patch.resolve([read_image_size(p) for p in flat], names=flat)
    first = read_image(paths[0, 0], mode="RGB", image_size=image_size)
    shape = first.shape if patch is None else patch.size + (first.shape[2],)
    return BagSource(
        "paths", paths, shape, image_size=image_size, patch=patch, name=name
    )


def _check_files_exist(paths, name):
    missing = [p for p in paths.reshape(-1) if not os.path.isfile(p)]
    if not missing:
        return
    hint = ""
    if len(missing) == paths.size and _looks_numeric(missing[0]):
        hint = (
            f" {name} holds strings, which are read as image file "
            "paths; if they are numbers, convert them first, e.g. "
            "X.astype(float)."
        )
    raise ValueError(
        f"{len(missing)} image file(s) in {name} do not exist (or are not "
        f"files), e.g. {missing[0]!r}. Check the paths (relative paths are "
        f"resolved against {os.getcwd()!r}).{hint}"
    )


def _numeric_dtype(arr, name):
    """``arr`` as a real-valued array, or a TypeError/ValueError naming its dtype."""
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} is an object array of mixed types; it must hold numbers "
                "(images) or only strings (image paths)."
            ) from None
    if arr.dtype.kind == "b":
        raise TypeError(
            f"{name} is a boolean array; images must be uint8 in [0, 255] or "
            "floating in [0, 1]. Convert masks with X.astype(np.uint8) * 255."
        )
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has dtype {arr.dtype}; images "
            "must be uint8 in [0, 255] or floating in [0, 1]."
        )
    if arr.dtype.kind not in ("u", "i", "f"):
        raise TypeError(
            f"{name} has dtype {arr.dtype}; images must be uint8 in [0, 255] or "
            "floating in [0, 1], and paths must be strings."
        )
    return arr


def _check_image_dims(arr, name):
    if arr.ndim == 3:
        raise ValueError(
            f"{name} has 3 dimensions {arr.shape}; bags must have shape (n_bags, "
            "bag_size, H, W, C) or (n_bags, bag_size, H, W) for grayscale. A "
            "single bag of images needs a leading axis: X[None]."
        )
    if arr.ndim > 5:
        raise ValueError(
            f"{name} has {arr.ndim} dimensions {arr.shape}; bags must have shape "
            "(n_bags, bag_size, H, W, C)."
        )
    if arr.ndim == 5 and arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name} has {arr.shape[-1]} channels in its last axis (shape "
            f"{arr.shape}); images must be channels-last with 1 to 4 channels. "
            "For channels-first data use np.moveaxis(X, 2, -1)."
        )
    if arr.ndim >= 4 and 0 in arr.shape[2:4]:
        raise ValueError(
            f"{name} holds empty images: their size is {arr.shape[2]}x"
            f"{arr.shape[3]} (height x width) pixels (shape {arr.shape}). Give "
            "images of at least one pixel."
        )


def _numeric_bags(arr, name, image_size, patch):
    """The BagSource of a numeric array of images or scalar items."""
    arr = _numeric_dtype(arr, name)
    _check_image_dims(arr, name)
    is_scalar = arr.ndim == 2
    if is_scalar and patch is not None and not patch.is_auto:
        raise ValueError(
            f"{name} has 2 dimensions {arr.shape} (bags of scalar items), but patch "
            "mode crops images: give bags of images (n_bags, bag_size, H, W[, C]) "
            "or set patch_size=None."
        )
    scan_numeric(arr, name, check_range=not is_scalar)
    if is_scalar:
        if arr.dtype.kind in ("u", "i") and arr.dtype != np.uint8:
            arr = arr.astype(np.float32)
        image_shape = (1, 1, 1)
    else:
        image_shape = arr.shape[2:] if arr.ndim == 5 else arr.shape[2:] + (1,)
        if arr.dtype.kind in ("u", "i") and arr.dtype != np.uint8:
            arr = arr.astype(np.uint8)  # range was checked: lossless
    if image_size is not None and not is_scalar:
        if tuple(image_shape[:2]) != tuple(image_size):
            raise ValueError(
                f"{name} has images of size {image_shape[:2]}, but image_size="
                f"{image_size!r}. image_size only resizes images read from files; "
                "resize arrays before passing them, or set image_size=None."
            )
    if patch is not None:
        # every image of an array has one size: the first stands for all
        where = f"{name}[0][0] (every image of {name} has this size)"
        patch = patch.resolve([image_shape[:2]], names=[where])
    if patch is not None:
        patch.check_fits(*image_shape[:2], where=where)
        image_shape = patch.size + image_shape[2:]
    return BagSource(
        "array", arr, image_shape, is_scalar=is_scalar, patch=patch, name=name
    )


def label_kind(value):
    if isinstance(value, (str, bytes)):
        return "strings"
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        return "numbers"
    return type(value).__name__


def check_label_values(y, *, name="y"):
    """Check that 1-D labels can name sources: sortable, no missing values.

    Raises a ValueError for None, NaN or infinite labels, complex labels and
    object arrays that mix strings and numbers (which cannot be sorted into
    ``classes_``).
    """
    kind = y.dtype.kind
    if kind == "c":
        raise ValueError(
            f"{name} holds complex numbers ({y.dtype}); labels must name the "
            "source of each bag (strings or integers)."
        )
    if kind == "O":
        values = y.reshape(-1)
        if any(v is None for v in values):
            raise ValueError(f"{name} contains missing labels (None).")
        kinds = {label_kind(v) for v in values}
        if len(kinds) > 1:
            raise ValueError(
                f"{name} mixes labels of different types ({', '.join(sorted(kinds))}"
                f"); use one type for all labels, e.g. {name}.astype(str)."
            )
        if kinds == {"numbers"}:
            try:
                finite = np.isfinite(values.astype(np.float64)).all()
            except (TypeError, ValueError):
                finite = True
            if not finite:
                raise ValueError(f"{name} contains NaN or infinite labels.")
    if kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinite labels.")


def check_bag_labels(y, n_bags, *, name="y"):
    """Validate bag labels: 1-D, one per bag, classification targets."""
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None: "
            "give the source (model name or 'real') of every bag."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be 1-dimensional with one label per bag, got shape {y.shape}."
        )
    if y.shape[0] != n_bags:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but X has {n_bags} bags; give one "
            "label per bag."
        )
    check_label_values(y, name=name)
    check_source_target(y, name=name)
    return y


def value_per_source(sources, values, *, what, items="items"):
    """``{source: value}`` from the value of each item, one value per source.

    ``sources`` and ``values`` run in parallel (one item each, e.g. a bag or
    a file); the dict is in order of first appearance.  A source whose items
    carry two different values is a ValueError naming the source, the two
    values and ``what`` they are (e.g. ``"groups"``), and saying that all the
    ``items`` (e.g. ``"bags"``) of a source must share one.
    """
    out = {}
    for source, value in zip(sources, values):
        if out.setdefault(source, value) != value:
            raise ValueError(
                f"The source {str(source)!r} has two {what} ({str(out[source])!r} and "
                f"{str(value)!r}); all the {items} of a source must share one of the "
                f"{what}."
            )
    return out


def check_source_groups(groups, y_idx, classes):
    """Validate per-bag ``groups`` against the sources: one group per source.

    Returns None (no groups) or ``(source_groups, source_group_idx)``: the
    group label of each class of ``classes`` and its integer code.
    """
    if groups is None:
        return None
    groups = check_bag_labels(groups, y_idx.shape[0], name="groups")
    names, g_idx = np.unique(groups, return_inverse=True)
    per_source = value_per_source(classes[y_idx], names[g_idx], what="groups",
                                  items="bags")
    source_groups = np.array([per_source[c] for c in classes], dtype=names.dtype)
    return source_groups, np.searchsorted(names, source_groups)


def check_source_target(y, *, name="y"):
    """Refuse labels that do not name sources (continuous, multi-output, ...)."""
    target = type_of_target(y)
    if target not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {name} looks {target!r}; labels must name the "
            "source of each bag (strings or integers)."
        )


@validate_params(
    {
        "images": "no_validation",  # checked below, with messages about images
        "labels": ["array-like"],
        "bag_size": [POSITIVE_INT],
        "n_bags_per_model": [POSITIVE_INT, None],
        "replace": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_bags(
    images,
    labels,
    *,
    bag_size,
    n_bags_per_model=None,
    replace=False,
    random_state=None,
):
    """Group single images into bags that each hold images of one source.

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W[, C]) or (n_images,) of paths
        Single images (uint8 in [0, 255] or floats in [0, 1]) or image file
        paths, e.g. ``load_image_folder(root).paths``.
    labels : array-like of shape (n_images,)
        Source of each image (a model name or ``"real"``).
    bag_size : int
        Number of images in each bag.
    n_bags_per_model : int or None, default=None
        Number of bags per source.  None makes as many disjoint bags as the
        images of each source allow (``n_images_of_source // bag_size``; the
        remainder is left out).
    replace : bool, default=False
        If False, bags are disjoint: no image appears in two bags (so a
        cross-validation fold never shares an image with another fold).  If
        True, each bag draws ``bag_size`` distinct images independently, so
        bags may overlap; then ``n_bags_per_model`` may exceed what the
        images allow.
    random_state : int, RandomState instance or None, default=None
        Seed of the random assignment of images to bags.

    Returns
    -------
    X : ndarray of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
        The bags, grouped by source in sorted label order.
    y : ndarray of shape (n_bags,)
        The source of each bag.

    Raises
    ------
    ValueError
        If labels and images differ in length, a source has fewer images than
        one bag, or more disjoint bags are asked for than the images allow.

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint import make_bags
    >>> images = np.zeros((10, 8, 8, 3), dtype=np.uint8)
    >>> labels = np.array(["gan"] * 6 + ["real"] * 4)
    >>> X, y = make_bags(images, labels, bag_size=2, random_state=0)
    >>> X.shape, y.tolist()
    ((5, 2, 8, 8, 3), ['gan', 'gan', 'gan', 'real', 'real'])
    """
    images = as_array(images, "images")
    if images.ndim == 0 or images.shape[0] == 0:
        raise ValueError("images is empty; give at least one image per source.")
    paths = _is_pathlike_array(images)
    if paths:
        if images.ndim != 1:
            raise ValueError(
                f"images holds paths and must be 1-dimensional, got shape {images.shape}."
            )
    elif images.ndim not in (3, 4):
        raise ValueError(
            f"images must have shape (n_images, H, W) or (n_images, H, W, C), or "
            f"be a 1-D array of paths; got shape {images.shape}. Already bagged "
            "data (n_bags, bag_size, ...) needs no make_bags."
        )
    else:
        if images.dtype.kind == "b" or images.dtype.kind not in ("u", "i", "f"):
            raise TypeError(
                f"images has dtype {images.dtype}; use uint8 in [0, 255] or floats "
                "in [0, 1]."
            )
        scan_numeric(images, "images", check_range=True)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-dimensional, got shape {labels.shape}.")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels has {labels.shape[0]} entries but images has "
            f"{images.shape[0]}; give one label per image."
        )
    check_label_values(labels, name="labels")
    rng = check_random_state(random_state)
    classes = np.unique(labels)
    chosen, out_labels = [], []
    for cls in classes:
        idx = np.flatnonzero(labels == cls)
        n = idx.size
        if n < bag_size:
            raise ValueError(
                f"Source {_plain(cls)!r} has {n} images, fewer than one bag of "
                f"bag_size={bag_size}. Lower bag_size or add images."
            )
        if replace:
            n_bags = n // bag_size if n_bags_per_model is None else n_bags_per_model
            for _ in range(n_bags):
                chosen.append(rng.choice(idx, size=bag_size, replace=False))
        else:
            possible = n // bag_size
            n_bags = possible if n_bags_per_model is None else n_bags_per_model
            if n_bags > possible:
                raise ValueError(
                    f"Source {_plain(cls)!r} has {n} images: enough for {possible} disjoint "
                    f"bags of {bag_size}, but n_bags_per_model={n_bags}. Lower "
                    "n_bags_per_model or bag_size, or pass replace=True to let "
                    "bags overlap."
                )
            perm = rng.permutation(idx)[: n_bags * bag_size]
            chosen.extend(perm.reshape(n_bags, bag_size))
        out_labels.extend([cls] * n_bags)
    order = np.asarray(chosen)
    X = images[order]
    return X, np.asarray(out_labels, dtype=labels.dtype)
