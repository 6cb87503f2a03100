"""Atomic file writes: the one implementation (model files, zoo caches, re-encoded copies)."""

from __future__ import annotations

import contextlib
import os
import tempfile


def _current_umask():
    # os.umask is the only portable way to read it (briefly sets it to 0)
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path):
    """Open a temporary file next to ``path``; rename it over ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is
    removed and ``path`` is left as it was.  A symbolic link is written
    through: the file it points to is replaced and the link stays.
    """
    if os.path.islink(path):
        path = os.path.realpath(path)
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
