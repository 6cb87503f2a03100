"""Save and load fitted models in a format that cannot execute code.

:func:`save` writes a fitted estimator (or a :class:`~sklearn.pipeline.Pipeline`
that contains one) to a single file; :func:`load` reads it back.  Unlike
:mod:`pickle` and :mod:`joblib`, loading never imports or calls anything that
is not on an explicit list of trusted types, so a file from an untrusted
source cannot run code on your machine.

File format (format version 1)
------------------------------
The file is a ZIP archive holding exactly two members:

``meta.json``
    UTF-8 JSON with the keys ``format`` (always ``"skfingerprint-model"``),
    ``format_version`` (an int, 1 here), ``library_version`` (the
    skfingerprint that wrote the file), ``sklearn_version``,
    ``skops_version``, ``model_type`` (the fully qualified class name of the
    saved object), ``payload`` (``"model.skops"``) and ``payload_sha256``
    (hex digest of the payload bytes).
``model.skops``
    The model in the `skops <https://skops.readthedocs.io>`_ format: JSON
    describing the object tree plus ``.npy`` arrays (read with
    ``allow_pickle=False``).  No pickle is involved.

:func:`load` checks, in this order: the file is such a ZIP archive, the
format name and version are known, the payload matches its SHA-256 digest,
every type named in the payload is trusted (see :func:`trusted_types`), and
only then builds the object.  Files are written atomically: to a temporary
file in the target folder, then renamed over the target, so a crash while
writing never leaves a partial file and never damages an existing one.

The SHA-256 digest detects corrupt and modified files; it is not a
signature (whoever can write the file can also rewrite the digest).  Safety
against code execution does not rest on it but on the trusted-type check.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import numbers
import os
import warnings
import zipfile
import zlib

import numpy as np

from ._atomic import atomic_open

__all__ = ["save", "load", "trusted_types"]

FORMAT_NAME = "skfingerprint-model"
FORMAT_VERSION = 1
_META_NAME = "meta.json"
_PAYLOAD_NAME = "model.skops"
_MAX_META_BYTES = 1 << 20
# Resource limits of load() (documented in docs/guide/persistence.md).  A file
# of N bytes is read only if N <= _MAX_FILE_BYTES; the archives inside it may
# expand to at most _MAX_EXPANSION * N + _EXPANSION_SLACK bytes in all (each
# member's declared size is checked before it is read, and its actual size
# while it is read); the skops payload may hold at most _MAX_MEMBERS members,
# and each of its arrays must be exactly as large as its header says.
_MAX_FILE_BYTES = 1 << 30
_MAX_EXPANSION = 16
_EXPANSION_SLACK = 1 << 20
_MAX_MEMBERS = 2048
_CHUNK = 1 << 16

# Fully qualified names (``module.ClassName``, as skops spells them) of the
# classes, beyond skops' own defaults (scikit-learn estimators, numpy and
# builtin data types), that :func:`load` trusts.  Only classes whose state
# holds plain data (arrays, numbers, strings, lists, dicts) and whose
# ``__setstate__`` never unpickles anything may be listed.  Add one line per
# new estimator of the library.
_TRUSTED_TYPES = (
    "skfingerprint.encoder._estimator.SetFingerprintEncoder",
    "skfingerprint.baselines._prnu.PRNUFingerprint",
    "skfingerprint.baselines._spectrum.SpectrumFingerprint",
    "skfingerprint.baselines._attribution_cnn.AttributionCNN",
    "skfingerprint.classifiers._nearest.NearestFingerprintClassifier",
    "skfingerprint.classifiers._calibrated.HeldOutRejectionClassifier",
    "skfingerprint.cluster._relatives.NearestRelatives",
    "skfingerprint.augment._transforms.RandomPostProcessing",
    "skfingerprint.augment._transforms.PostProcess",
    # scikit-learn internals that skops does not trust by default: plain data
    # holders (the solver state of MLPClassifier/MLPRegressor).
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)


def trusted_types():
    """Return the names of the types that :func:`load` trusts by default.

    These are the estimators of skfingerprint (whose saved state holds only
    plain arrays and values, never a pickled torch module) and a few
    scikit-learn internals.  skops additionally trusts its own defaults:
    scikit-learn estimators and numpy, scipy and builtin data types.

    Returns
    -------
    names : list of str
        Fully qualified type names, sorted.

    Examples
    --------
    >>> from skfingerprint._persistence import trusted_types
    >>> "skfingerprint.encoder._estimator.SetFingerprintEncoder" in trusted_types()
    True
    """
    return sorted(_TRUSTED_TYPES)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _import_skops():
    try:
        import skops
        import skops.io as sio
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skfingerprint.save and skfingerprint.load need the 'skops' package: "
            "pip install skops (or pip install 'skfingerprint[safe]')."
        ) from None
    return skops, sio


def _library_version():
    import skfingerprint

    return skfingerprint.__version__


def _check_path(path, name="path"):
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or os.PathLike file path, got "
            f"{type(path).__name__}."
        )
    path = os.fspath(path)
    if not path:
        raise ValueError(f"{name} must be a non-empty file path.")
    return path


def _type_name(t):
    if isinstance(t, str):
        return t
    if isinstance(t, type):
        return f"{t.__module__}.{t.__name__}"
    raise TypeError(
        "trusted must be None or a list of type names (str) or types, got an "
        f"element of type {type(t).__name__}: {t!r}."
    )


def _check_trusted(trusted):
    if trusted is None:
        return []
    if isinstance(trusted, bool):
        raise TypeError(
            f"trusted={trusted!r} is not accepted: trusting every type would let "
            "the file run arbitrary code. Pass a list of the type names you "
            "trust, e.g. trusted=['mypackage.MyEstimator']."
        )
    if isinstance(trusted, (str, type)):
        raise TypeError(
            f"trusted must be a list of type names or types, got the single "
            f"{type(trusted).__name__} {trusted!r}; wrap it in a list."
        )
    try:
        items = list(trusted)
    except TypeError:
        raise TypeError(
            f"trusted must be None or a list of type names or types, got "
            f"{type(trusted).__name__}."
        ) from None
    return [_type_name(t) for t in items]




def _write_envelope(fileobj, meta_bytes, payload):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META_NAME, meta_bytes)
        zf.writestr(_PAYLOAD_NAME, payload)


def _corrupt(path, detail):
    """The one error for a file that is not a valid model file."""
    return ValueError(
        f"Cannot load {path!r}: not a valid model file: the file was modified or "
        f"is corrupt ({detail}), or was crafted to harm. Save the model again, or "
        "get an intact copy from a source you trust."
    )


def _read_regular_file(path, limit):
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    FIFOs, devices and sockets are refused before they are read (they could
    block forever or never end).
    """
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"Cannot load {path!r}: no such file.") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"Cannot load {path!r}: it is a folder, not a file.")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"Cannot load {path!r}: not a valid model file: it is not a regular "
            "file (a FIFO, device or socket); give the path of a file written by "
            "skfingerprint.save."
        )
    too_large = ValueError(
        f"Cannot load {path!r}: not a valid model file: it is larger than "
        f"{limit} bytes, the largest model file skfingerprint reads."
    )
    if st.st_size > limit:
        raise too_large
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # replaced meanwhile
            raise ValueError(f"Cannot load {path!r}: not a valid model file: "
                             "it is not a regular file.")
        # read(n) reserves n bytes: ask for the file's size (+1 to see growth)
        data = f.read(min(st.st_size, limit) + 1)
    if len(data) > limit:
        raise too_large
    return data


def _expansion_budget(n_bytes):
    return _MAX_EXPANSION * n_bytes + _EXPANSION_SLACK


def _check_members(path, zf, budget, max_members, what):
    """Refuse an archive with too many members or a declared size over ``budget``."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise _corrupt(path, f"{what} has {len(infos)} members")
    total = sum(info.file_size for info in infos)
    if total > budget:
        raise _corrupt(path, f"{what} declares {total} bytes once expanded, more "
                             f"than the {budget} allowed for a file of this size")
    return infos


def _read_member(zf, info, limit):
    """Read one member in chunks, never more than ``limit`` bytes."""
    parts, size = [], 0
    with zf.open(info) as f:
        while True:
            chunk = f.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise zipfile.BadZipFile(f"{info.filename} expands beyond {limit} bytes")
            parts.append(chunk)
    return b"".join(parts)


def _check_npy_header(path, zf, info):
    """An array member must be exactly as large as its header says (no object dtype)."""
    import numpy as np
    from numpy.lib import format as npy

    with zf.open(info) as f:
        version = npy.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = npy.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = npy.read_array_header_2_0(f)
        else:
            raise ValueError(f"npy format version {version}")
        header = f.tell()
    if dtype.hasobject:
        raise _corrupt(path, f"the array {info.filename} has an object dtype")
    n_bytes = int(np.prod([int(d) for d in shape], dtype=object)) * dtype.itemsize
    if header + n_bytes != info.file_size:
        raise _corrupt(path, f"the array {info.filename} declares shape {shape} "
                             f"({n_bytes} bytes) but stores {info.file_size - header}")


def _check_payload(path, payload, budget):
    """Bounds on the skops archive before skops reads anything of it."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            infos = _check_members(path, zf, budget, _MAX_MEMBERS, _PAYLOAD_NAME)
            for info in infos:
                if info.filename.endswith(".npy"):
                    _check_npy_header(path, zf, info)
    except ValueError as exc:
        if str(exc).startswith(f"Cannot load {path!r}"):
            raise
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # zipfile, zlib, numpy's header parser (tokenize, ...)
        raise _corrupt(path, f"{type(exc).__name__}: {str(exc)[:200]}") from None


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def save(model, path):
    """Save a fitted model to a file that cannot execute code when loaded.

    The model is written in the skops format inside a small envelope that
    records the format version and a SHA-256 digest of the content (see the
    module documentation).  The file is written atomically: an existing file
    at ``path`` is replaced only once the new one is complete.  If ``path``
    is a symbolic link, the file it points to is written (the link stays).
    Only a regular file is replaced: a FIFO, a device node (``/dev/null``),
    a socket or a folder at ``path`` is refused with an error.

    Parameters
    ----------
    model : estimator
        A (usually fitted) estimator of skfingerprint or scikit-learn, or a
        :class:`~sklearn.pipeline.Pipeline` of them.
    path : str or os.PathLike
        The file to write; its folder must exist.  Any extension works; the
        documentation uses ``.skfp``.

    Warns
    -----
    UserWarning
        If the model contains types that :func:`load` does not trust by
        default (e.g. your own estimator class): loading the file then needs
        ``trusted=[...]`` naming them.

    See Also
    --------
    load : Load a model saved by this function.

    Examples
    --------
    >>> import os, tempfile
    >>> from skfingerprint import SetFingerprintEncoder, make_bags
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> from skfingerprint._persistence import save, load
    >>> data = make_fingerprinted_images(n_models=2, n_images_per_model=16,
    ...                                  image_size=8, random_state=0)
    >>> X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
    >>> enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "encoder.skfp")
    >>> save(enc, path)
    >>> again = load(path)
    >>> bool((again.transform(X) == enc.transform(X)).all())
    True
    """
    path = _check_path(path)
    skops, sio = _import_skops()
    try:
        payload = sio.dumps(model)
    except Exception as exc:
        raise TypeError(
            f"Cannot save a {type(model).__name__} in the safe format: skops cannot "
            f"serialise part of it ({type(exc).__name__}: {exc}). Objects that "
            "hold torch modules or tensors, such as skorch nets, are not "
            "supported; skfingerprint's own estimators store their weights as "
            "arrays and are. Use joblib.dump for such objects (loading is then "
            "unsafe for files from untrusted sources)."
        ) from exc
    untrusted = sorted(
        set(sio.get_untrusted_types(data=payload)) - set(_TRUSTED_TYPES)
    )
    if untrusted:
        warnings.warn(
            f"The saved model contains types that skfingerprint.load does not "
            f"trust by default: {untrusted}. Loading it will need "
            f"trusted={untrusted!r}; pass that only for types you know hold "
            "plain data (e.g. your own estimators), never for skorch nets, "
            "whose state is a pickle.",
            UserWarning,
            stacklevel=2,
        )
    import sklearn

    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": _library_version(),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "model_type": f"{type(model).__module__}.{type(model).__qualname__}",
        "payload": _PAYLOAD_NAME,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    meta_bytes = json.dumps(meta, indent=2, sort_keys=True).encode("utf-8")
    with atomic_open(path) as f:
        _write_envelope(f, meta_bytes, payload)


def _read_envelope(path, data):
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(
            f"Cannot load {path!r}: it is not a skfingerprint model file (not a "
            "ZIP archive), or it is truncated or corrupt. Files from pickle or "
            "joblib are not read here because loading them can run arbitrary "
            "code; open them with joblib.load only if you trust their source, "
            "then re-save them with skfingerprint.save."
        )
    expected = sorted([_META_NAME, _PAYLOAD_NAME])
    budget = _expansion_budget(len(data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            if sorted(names) == expected:
                _check_members(path, zf, budget, 2, "the file")
                if zf.getinfo(_META_NAME).file_size > _MAX_META_BYTES:
                    raise _corrupt(path, f"{_META_NAME} is implausibly large")
                meta_bytes = _read_member(zf, zf.getinfo(_META_NAME), _MAX_META_BYTES)
                payload = _read_member(zf, zf.getinfo(_PAYLOAD_NAME), budget)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
            OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(f"Cannot load {path!r}"):
            raise
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None
    if sorted(names) != expected:
        raise ValueError(
            f"Cannot load {path!r}: it is not a skfingerprint model file, or it "
            f"was modified or is corrupt (it holds {sorted(names)}, expected "
            f"{expected})."
        )
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _corrupt(path, f"unreadable {_META_NAME}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(
            f"Cannot load {path!r}: it is not a skfingerprint model file "
            f"({_META_NAME} does not name the format {FORMAT_NAME!r})."
        )
    return meta, payload, budget


def _check_meta(path, meta, payload):
    version = meta.get("format_version")
    written_by = str(meta.get("library_version", "an unknown version"))[:40]
    current = _library_version()
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(
            f"Cannot load {path!r}: its format version {version!r} is not valid; "
            "the file was modified or is corrupt."
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"Cannot load {path!r}: it was written by skfingerprint {written_by} "
            f"in format version {version}, newer than the format version "
            f"{FORMAT_VERSION} that this skfingerprint ({current}) reads. Upgrade "
            "skfingerprint, or save the model again with this version."
        )
    if version < 1:
        raise ValueError(
            f"Cannot load {path!r}: format version {version} (written by "
            f"skfingerprint {written_by}) is not supported by skfingerprint "
            f"{current}, which reads format version {FORMAT_VERSION}. Refit the "
            "model and save it again."
        )
    expected = meta.get("payload_sha256")
    if not isinstance(expected, str):
        raise _corrupt(path, "no payload digest")
    if hashlib.sha256(payload).hexdigest() != expected.lower():
        raise _corrupt(path, "SHA-256 digest mismatch")
    if written_by != current:
        warnings.warn(
            f"{path!r} was saved with skfingerprint {written_by} and is loaded "
            f"with skfingerprint {current}; results may differ. Check them, or "
            "refit and save the model with this version.",
            UserWarning,
            stacklevel=3,
        )


def load(path, *, trusted=None):
    """Load a model saved by :func:`save`, refusing anything that could run code.

    Nothing in the file is unpickled or imported unless its type is trusted:
    the types of skfingerprint (see :func:`trusted_types`), skops' defaults
    (scikit-learn estimators, numpy, scipy and builtin data types), and the
    names given in ``trusted``.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    trusted : list of str or type, default=None
        Additional types to trust, e.g. your own estimator classes inside a
        saved Pipeline, given as fully qualified names such as
        ``"mypackage.module.MyEstimator"``.  The error for an untrusted file
        lists the names it contains.  ``True`` (trust everything) is refused.

    Returns
    -------
    model : object
        The saved model, with identical ``transform``/``predict`` results.

    Raises
    ------
    ValueError
        If the file is not a skfingerprint model file (e.g. a pickle), was
        written in an incompatible format version, was modified or is
        corrupt, contains types that are not trusted, or stores parameters
        or fitted attributes out of the bounds of a loaded model (the pixels
        one image becomes, non-finite numbers, ...: see the guide to saving
        models).
    FileNotFoundError
        If ``path`` does not exist.

    See Also
    --------
    save : Save a model in this format.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfingerprint._persistence import save, load
    >>> clf = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.skfp")
    >>> save(clf, path)
    >>> load(path).predict([[0.9]])
    array([1])
    """
    path = _check_path(path)
    extra = _check_trusted(trusted)
    _, sio = _import_skops()
    data = _read_regular_file(path, _MAX_FILE_BYTES)
    meta, payload, budget = _read_envelope(path, data)
    del data
    _check_meta(path, meta, payload)
    _check_payload(path, payload, budget)

    try:
        found = sio.get_untrusted_types(data=payload)
    except Exception as exc:  # any failure to parse the payload: the file is bad
        detail = f"unreadable skops payload: {type(exc).__name__}: {str(exc)[:200]}"
        raise _corrupt(path, detail) from None
    allowed = set(_TRUSTED_TYPES) | set(extra)
    refused = sorted(set(found) - allowed)
    if refused:
        raise ValueError(_untrusted_message(path, refused))
    # An explicit list: only the types found in the file and allowed above.
    try:
        model = sio.loads(payload, trusted=sorted(set(found) & allowed))
    except Exception as exc:  # the objects cannot be built from the file's state
        raise _corrupt(
            path, f"its objects cannot be built: {type(exc).__name__}: {str(exc)[:300]}"
        ) from exc
    _check_loaded(path, model)
    return model


def _untrusted_message(path, refused):
    """Name the refused types and the risk; suggest ``trusted=`` only for
    scikit-learn estimators (never for a type that could run code)."""
    sklearn_estimators = [name for name in refused if _is_sklearn_estimator(name)]
    message = (
        f"Cannot load {path!r}: it contains types that are not trusted: "
        f"{[name[:120] for name in refused[:10]]}. Building them could run code "
        "from the file (skfingerprint trusts only its own estimators, those of "
        "scikit-learn and plain data types)."
    )
    if sklearn_estimators == refused:
        return message + (
            " They are scikit-learn estimators: if you trust the file's source, "
            f"pass trusted={sklearn_estimators!r}."
        )
    return message + (
        " If the file is from a source you do not fully trust, do not load it. The "
        "trusted= parameter is only for your own classes whose state you know is "
        "plain data; never trust a type you do not know (e.g. subprocess.Popen, "
        "os.system, builtins.eval), a skorch net or a pickled object."
    )


def _is_sklearn_estimator(name):
    import importlib

    from sklearn.base import BaseEstimator

    module, _, attr = name.rpartition(".")
    if not (module == "sklearn" or module.startswith("sklearn.")) or not attr.isidentifier():
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(obj, type) and issubclass(obj, BaseEstimator)


# Bounds on the stored parameters and fitted attributes of the library's
# estimators (documented in docs/guide/persistence.md), so that a loaded model
# reads an image into a bounded number of values whatever the file says: the
# pixels one image becomes (``image_size`` height x width, or
# ``patches_per_image`` x the pixels of ``patch_size``), the patches of one
# image, the images of one batch, and every other integer.  Every stored float
# is finite (a closed-set ``threshold_`` may be +inf), and the scales that
# divide are positive.
MAX_PIXELS_PER_IMAGE = 1 << 24  # a 4096 x 4096 image
MAX_PATCHES_PER_IMAGE = 1 << 12
MAX_CHUNK_SIZE = 1 << 16
MAX_STORED_INT = 1 << 32
_INT_BOUNDS = {
    "patches_per_image": MAX_PATCHES_PER_IMAGE,
    "chunk_size": MAX_CHUNK_SIZE,
    "batch_size": MAX_CHUNK_SIZE,
    "bag_size": MAX_CHUNK_SIZE,
    "embedding_dim": MAX_CHUNK_SIZE,
    "rho_hidden": MAX_CHUNK_SIZE,
}
# fitted attributes that are one number: their bounds (low, high, closed at low)
_SCALAR_ATTRIBUTES = {
    "threshold_": (-np.inf, np.inf, False, "a number below +inf (+inf: closed set)"),
    "temperature_": (0.0, np.inf, False, "a positive finite number"),
    "embedding_scale_": (0.0, np.inf, False, "a positive finite number"),
}
_POSITIVE_ARRAYS = ("score_scale_",)
# fitted arrays of the library's estimators: (ndim, dtype kinds); the first
# axis of those marked True has one row per class (``classes_``)
_FITTED_ARRAYS = {
    "classes_": (1, "biufUSO", True),
    "fingerprints_": (2, "f", True),
    "class_counts_": (1, "iu", True),
    "score_scale_": (1, "f", True),
    "precisions_": (3, "f", True),
    "embedding_center_": (1, "f", False),
    "source_groups_": (1, "biufUSO", True),
}
_INFINITE_ALLOWED = ("threshold_", "calibration_scores_")  # +inf: never rejected
_MAX_DEPTH = 4


class _StoredValueError(ValueError):
    """A stored value out of the bounds of a loaded model."""


def _stored(est, name, value, detail):
    text = repr(value) if not isinstance(value, np.ndarray) else (
        f"an array of shape {value.shape}")
    return _StoredValueError(
        f"the model file stores {type(est).__name__}({name}={text[:60]}); {detail}")


def _check_stored_number(est, name, value, depth=0):
    """Every int within its bound, every float finite, in nested containers too."""
    if isinstance(value, (bool, np.bool_, str, bytes, type(None))):
        return
    if isinstance(value, numbers.Integral):
        bound = _INT_BOUNDS.get(name, MAX_STORED_INT)
        if abs(int(value)) > bound:
            raise _stored(est, name, value, f"at most {bound}")
        return
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v) or (math.isinf(v) and not (
                name in _INFINITE_ALLOWED and v > 0)):
            raise _stored(est, name, value, "a stored number must be finite")
        return
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            finite = np.isfinite(value)
            if name in _INFINITE_ALLOWED:
                finite |= np.isposinf(value.real)
            if not finite.all():
                raise _stored(est, name, value, "its values must be finite")
        elif value.dtype.kind in "iu" and value.size and (
                np.abs(value.astype(np.float64)).max() > MAX_STORED_INT):
            raise _stored(est, name, value, f"its values must be at most {MAX_STORED_INT}")
        elif value.dtype.kind == "O" and depth < _MAX_DEPTH:
            for item in value.reshape(-1).tolist():
                _check_stored_number(est, name, item, depth + 1)
        return
    if depth >= _MAX_DEPTH:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_stored_number(est, name, item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _check_stored_number(est, name, item, depth + 1)


def _check_image_params(est):
    """``image_size``, ``patch_size`` and ``patches_per_image``: bounded pixels."""
    from ._io import check_image_size

    params = vars(est)
    sizes = {}
    for name in ("image_size", "patch_size"):
        if name in params:
            value = params[name]
            if name == "patch_size" and isinstance(value, str) and value == "auto":
                # the patch fit chose (None: whole images, or not fitted yet)
                name, value = "patch_size_", params.get("patch_size_")
            try:
                sizes[name] = check_image_size(value, name=name)
            except (TypeError, ValueError) as exc:
                raise _stored(est, name, value, str(exc)) from None
    per_item = {"image_size": 1}
    patch = "patch_size_" if "patch_size_" in sizes else "patch_size"
    if "patches_per_image" in params and sizes.get(patch) is not None:
        n = params["patches_per_image"]
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
            raise _stored(est, "patches_per_image", n, "a positive int")
        per_item[patch] = int(n)
    for name, size in sizes.items():
        if size is None:
            continue
        pixels = size[0] * size[1] * per_item.get(name, 1)
        if pixels > MAX_PIXELS_PER_IMAGE:
            what = ("" if name == "image_size" else
                    f" x {per_item[name]} patches per image")
            raise _stored(est, name, params.get(name),
                          f"{size[0]} x {size[1]} pixels{what} is {pixels} pixels per "
                          f"image, at most {MAX_PIXELS_PER_IMAGE}")


def _check_fitted_scalars(est):
    for name, (low, high, closed, what) in _SCALAR_ATTRIBUTES.items():
        if name not in vars(est):
            continue
        value = vars(est)[name]
        ok = (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
              and not math.isnan(float(value)))
        if ok:
            v = float(value)
            ok = (v >= low if closed else v > low) and (
                v <= high if name in _INFINITE_ALLOWED else v < high)
        if not ok:
            raise _stored(est, name, value, f"it must be {what}")
    for name in _POSITIVE_ARRAYS:
        value = vars(est).get(name)
        if value is not None and not (isinstance(value, np.ndarray)
                                      and value.dtype.kind == "f" and (value > 0).all()):
            raise _stored(est, name, value, "it must be an array of positive numbers")


def _check_fitted_arrays(est):
    """Fitted arrays of the right kind, one row per class, one column per feature."""
    state = vars(est)
    classes = state.get("classes_")
    for name, (ndim, kinds, per_class) in _FITTED_ARRAYS.items():
        if name not in state:
            continue
        value = state[name]
        if not (isinstance(value, np.ndarray) and value.ndim == ndim
                and value.dtype.kind in kinds):
            raise _stored(est, name, value, f"it must be a {ndim}-d array")
        if per_class and name != "classes_" and isinstance(classes, np.ndarray) and (
                value.shape[0] != classes.shape[0]):
            raise _stored(est, name, value, f"it must have one row for each of the "
                                            f"{classes.shape[0]} classes")
    width = state.get("n_features_in_")
    dims = [state[n].shape[-1] for n in ("fingerprints_", "embedding_center_", "precisions_")
            if n in state]
    if isinstance(est.get_params(deep=False).get("embedding_dim"), numbers.Integral) and (
            "fingerprints_" in state):
        dims.append(int(est.embedding_dim))
    elif isinstance(width, numbers.Integral) and not isinstance(width, bool):
        dims.append(int(width))
    if len(set(dims)) > 1:
        raise _stored(est, "fingerprints_", state.get("fingerprints_"),
                      f"its fitted arrays disagree on the number of features ({dims})")


def _is_library_estimator(est):
    return type(est).__module__.split(".")[0] == "skfingerprint"


def check_stored_values(est):
    """Refuse stored parameters and fitted attributes of one of the library's
    estimators that are out of the bounds of a loaded model (ValueError)."""
    if not _is_library_estimator(est):
        return
    for name, value in est.get_params(deep=False).items():
        _check_stored_number(est, name, value)
    for name, value in vars(est).items():
        if name.endswith("_") and not name.startswith("_") and name != "net_":
            _check_stored_number(est, name, value)
    _check_image_params(est)
    _check_fitted_scalars(est)
    _check_fitted_arrays(est)


# Parameters that only say how many CPU workers to use: a stored value larger
# than this machine's CPU count is lowered to it when loading (with a warning)
# so that a file cannot make the loaded model start hundreds of processes.
_WORKER_PARAMS = ("num_workers", "n_jobs")


def _estimators_in(model):
    """``model`` and every estimator nested in its parameters (Pipelines too)."""
    from sklearn.base import BaseEstimator

    found, stack = [], [model]
    while stack:
        est = stack.pop()
        if not isinstance(est, BaseEstimator) or any(est is e for e in found):
            continue
        found.append(est)
        stack.extend(v for v in est.get_params(deep=False).values()
                     if isinstance(v, BaseEstimator))
        for value in est.get_params(deep=False).values():
            if isinstance(value, (list, tuple)):  # Pipeline steps, FeatureUnion
                stack.extend(v for item in value for v in
                             (item if isinstance(item, tuple) else (item,))
                             if isinstance(v, BaseEstimator))
    return found


def _check_loaded(path, model):
    """Validate the stored parameters of every estimator in ``model`` with its own
    ``_parameter_constraints``; bound worker counts to this machine."""
    try:
        estimators = _estimators_in(model)
        for est in estimators:
            if hasattr(type(est), "_parameter_constraints"):
                est._validate_params()
            if hasattr(est, "_validate_steps"):  # a Pipeline: (name, estimator) pairs
                est._validate_steps()
        for est in estimators:
            check_stored_values(est)
    except _StoredValueError as exc:
        raise ValueError(
            f"Cannot load {path!r}: {exc}, the bound of any model file (see "
            "'Resource limits' in the guide to saving models). The file was modified "
            "or crafted: get an intact copy from a source you trust."
        ) from None
    except Exception as exc:  # InvalidParameterError, or a broken get_params
        raise _corrupt(
            path, f"stored parameters are not valid: {type(exc).__name__}: "
                  f"{str(exc)[:300]}"
        ) from None
    n_cpus = os.cpu_count() or 1
    for est in estimators:
        for name in _WORKER_PARAMS:
            value = getattr(est, name, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > n_cpus:
                warnings.warn(
                    f"{path!r}: the stored {type(est).__name__}({name}={value}) is more "
                    f"than the {n_cpus} CPUs of this machine; using {name}={n_cpus}.",
                    UserWarning, stacklevel=3)
                setattr(est, name, n_cpus)
