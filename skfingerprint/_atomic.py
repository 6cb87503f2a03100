"""Atomic file writes: the one implementation (model files, zoo caches, re-encoded copies)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_replaceable(path):
    """Refuse an existing ``path`` that is not a regular file.

    An output may replace only a regular file (a symbolic link is followed
    to the file it points to): never a FIFO, a device node (``/dev/null``),
    a socket or a folder, whatever ``--force`` says.  A path that does not
    exist (or a dangling link) is fine.

    Raises
    ------
    ValueError
        If ``path`` exists and is not a regular file (``IsADirectoryError``
        for a folder).
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(
            f"Cannot save to {os.fspath(path)!r}: it is a folder. Give a file path, e.g. "
            f"{os.path.join(path, 'model.skfp')!r}."
        )
    what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise ValueError(
        f"Cannot write {os.fspath(path)!r}: it is {what}, not a regular file; only a "
        "regular file is ever replaced (even with --force). Give the path of a "
        "regular file."
    )


def probe_writable(folder):
    """Create and remove an empty file in ``folder``; OSError if that fails."""
    fd, probe = tempfile.mkstemp(prefix=".skfingerprint-", dir=folder)
    os.close(fd)
    os.unlink(probe)


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
    through: the file it points to is replaced and the link stays.  Only a
    regular file is replaced: an existing FIFO, device node, socket or folder
    at ``path`` is refused (see :func:`check_replaceable`) before anything is
    written.
    """
    if os.path.islink(path):
        path = os.path.realpath(path)
    check_replaceable(path)
    folder, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the folder {folder!r} does not exist. "
            "Create it first."
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
        check_replaceable(path)  # again: it may have been replaced meanwhile
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
