"""The zoo's cache: one ``.npz`` per build, one per finished job while it
builds (so an interrupted build resumes), written atomically, verified with
a SHA-256 on load, never pickled; a lock file per key."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import zipfile
import zlib

import numpy as np

from ..._atomic import atomic_open, probe_writable
from .._base import get_data_home


class CorruptCache(Exception):
    pass


def zoo_folder(data_home):
    return os.path.join(get_data_home(data_home), "model_zoo")


def cache_path(data_home, key):
    return os.path.join(zoo_folder(data_home), f"{key}.npz")


def parts_folder(path):
    """Where the finished jobs of an unfinished build are kept."""
    return path[: -len(".npz")] + "-parts"


def check_writable(folder):
    """Refuse a read-only cache folder before anything is built."""
    try:
        os.makedirs(folder, exist_ok=True)
        probe_writable(folder)
    except OSError as exc:
        raise PermissionError(
            f"the model zoo cache folder {folder!r} is not writable ({exc.strerror or exc}); "
            "the zoo would be built and then lost.  Pass a writable data_home= "
            "(or set SKFINGERPRINT_DATA), or make that folder writable."
        ) from exc


@contextlib.contextmanager
def build_lock(path, timeout=-1):
    """Hold ``<path>.lock`` while building: a second process building the
    same zoo waits here, then finds the cache and loads it."""
    from filelock import FileLock

    with FileLock(path + ".lock", timeout=timeout):
        yield


def _sha256(arrays, meta_bytes):
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    h.update(meta_bytes)
    return h.hexdigest()


def write_npz(fileobj, arrays):
    np.savez(fileobj, **arrays)


def save(path, arrays, meta):
    """Write ``arrays`` (name -> ndarray) and ``meta`` (JSON) atomically."""
    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    payload = {
        **arrays,
        "__meta__": np.frombuffer(meta_bytes, dtype=np.uint8),
        "__sha256__": np.frombuffer(_sha256(arrays, meta_bytes).encode(), dtype=np.uint8),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_open(path) as f:  # readers see no file or the whole file
        write_npz(f, payload)


def load(path):
    """``(arrays, meta)`` of a file written by :func:`save`; raises
    :class:`CorruptCache` for anything unreadable or altered."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files if k not in ("__meta__", "__sha256__")}
            meta_bytes = f["__meta__"].tobytes()
            expected = f["__sha256__"].tobytes().decode("ascii")
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError,
            zipfile.BadZipFile, zlib.error) as exc:
        raise CorruptCache(f"{type(exc).__name__}: {exc}") from exc
    if _sha256(arrays, meta_bytes) != expected:
        raise CorruptCache("sha256 checksum mismatch")
    try:
        meta = json.loads(meta_bytes)
    except ValueError as exc:
        raise CorruptCache(f"unreadable metadata: {exc}") from exc
    return arrays, meta


def remove_parts(path):
    shutil.rmtree(parts_folder(path), ignore_errors=True)
