"""Where data sets are cached: the data home."""

from __future__ import annotations

import os
import shutil

_ENV_VAR = "SKFINGERPRINT_DATA"
_DEFAULT_HOME = os.path.join("~", "skfingerprint_data")


def get_data_home(data_home=None):
    """Return the path of the skfingerprint data directory, creating it.

    Built data sets (such as the model zoo of :func:`make_model_zoo`) are
    cached there so that they are built only once.  By default it is
    ``~/skfingerprint_data``; the ``SKFINGERPRINT_DATA`` environment
    variable or the ``data_home`` argument change it.  A leading ``~`` is
    expanded to the user's home folder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The path to the data directory.  If None, the value of the
        ``SKFINGERPRINT_DATA`` environment variable, or else
        ``~/skfingerprint_data``.

    Returns
    -------
    data_home : str
        The path to the data directory (it exists after the call).

    Examples
    --------
    >>> import os, tempfile
    >>> from skfingerprint.datasets import get_data_home
    >>> home = get_data_home(os.path.join(tempfile.mkdtemp(), "cache"))
    >>> os.path.isdir(home)
    True
    """
    if data_home is None:
        data_home = os.environ.get(_ENV_VAR) or _DEFAULT_HOME
    try:
        data_home = os.fspath(data_home)
    except TypeError:
        raise TypeError(
            "data_home must be a str or a path-like object (or None for the "
            f"default), got {type(data_home).__name__}."
        ) from None
    data_home = os.path.expanduser(data_home)
    if os.path.exists(data_home) and not os.path.isdir(data_home):
        raise NotADirectoryError(
            f"data_home {data_home!r} is a file, not a folder; pass a folder "
            f"(it is created if missing), or unset {_ENV_VAR}."
        )
    os.makedirs(data_home, exist_ok=True)
    return data_home


def clear_data_home(data_home=None):
    """Delete all the content of the data home cache.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The path to the data directory; see :func:`get_data_home`.

    Examples
    --------
    >>> import os, tempfile
    >>> from skfingerprint.datasets import clear_data_home, get_data_home
    >>> home = get_data_home(os.path.join(tempfile.mkdtemp(), "cache"))
    >>> clear_data_home(home)
    >>> os.path.exists(home)
    False
    """
    data_home = get_data_home(data_home)
    shutil.rmtree(data_home)
