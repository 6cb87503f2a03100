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

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
import zlib

__all__ = ["save", "load", "trusted_types"]

FORMAT_NAME = "skfingerprint-model"
FORMAT_VERSION = 1
_META_NAME = "meta.json"
_PAYLOAD_NAME = "model.skops"
_MAX_META_BYTES = 1 << 20

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


def _current_umask():
    # os.umask is the only portable way to read it (briefly sets it to 0)
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _atomic_open(path):
    """Open a temporary file next to ``path``; rename it over ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is
    removed and ``path`` is left as it was.
    """
    folder, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the folder {folder!r} does not exist. "
            "Create it first."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot save to {path!r}: it is a folder. Give a file path, e.g. "
            f"{os.path.join(path, 'model.skfp')!r}."
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            mode = os.stat(path).st_mode & 0o7777
        else:
            mode = 0o666 & ~_current_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_envelope(fileobj, meta_bytes, payload):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META_NAME, meta_bytes)
        zf.writestr(_PAYLOAD_NAME, payload)


def _corrupt(path, detail):
    return ValueError(
        f"Cannot load {path!r}: the file was modified or is corrupt ({detail}). "
        "Save the model again, or get an intact copy."
    )


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def save(model, path):
    """Save a fitted model to a file that cannot execute code when loaded.

    The model is written in the skops format inside a small envelope that
    records the format version and a SHA-256 digest of the content (see the
    module documentation).  The file is written atomically: an existing file
    at ``path`` is replaced only once the new one is complete.

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
    with _atomic_open(path) as f:
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
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            if sorted(names) == expected:
                if zf.getinfo(_META_NAME).file_size > _MAX_META_BYTES:
                    raise _corrupt(path, f"{_META_NAME} is implausibly large")
                meta_bytes = zf.read(_META_NAME)
                payload = zf.read(_PAYLOAD_NAME)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
            OSError, RuntimeError, NotImplementedError) as exc:
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None
    if sorted(names) != expected:
        raise ValueError(
            f"Cannot load {path!r}: it is not a skfingerprint model file, or it "
            f"was modified or is corrupt (it holds {sorted(names)}, expected "
            f"{expected})."
        )
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _corrupt(path, f"unreadable {_META_NAME}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(
            f"Cannot load {path!r}: it is not a skfingerprint model file "
            f"({_META_NAME} does not name the format {FORMAT_NAME!r})."
        )
    return meta, payload


def _check_meta(path, meta, payload):
    version = meta.get("format_version")
    written_by = meta.get("library_version", "an unknown version")
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
        corrupt, or contains types that are not trusted.
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
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot load {path!r}: no such file.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot load {path!r}: it is a folder, not a file.")
    with open(path, "rb") as f:
        data = f.read()
    meta, payload = _read_envelope(path, data)
    _check_meta(path, meta, payload)

    try:
        found = sio.get_untrusted_types(data=payload)
    except Exception as exc:
        detail = f"unreadable skops payload: {type(exc).__name__}: {exc}"
        raise _corrupt(path, detail) from None
    allowed = set(_TRUSTED_TYPES) | set(extra)
    refused = sorted(set(found) - allowed)
    if refused:
        raise ValueError(
            f"Cannot load {path!r}: it contains types that are not trusted: "
            f"{refused}. Loading them could run code from the file. If you "
            "trust the file's source and know these types hold plain data, "
            f"pass trusted={refused!r}. Never trust skorch nets or pickled "
            "objects: their state is unpickled when loaded."
        )
    # An explicit list: only the types found in the file and allowed above.
    return sio.loads(payload, trusted=sorted(set(found) & allowed))
