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


def make_dataset_bunch(*, labels, images=None, paths=None, sources=None,
                       families=None, lineage=None, DESCR="", **extra):
    """The one container of every data set of the library.

    Every dataset function (:func:`make_model_zoo`,
    :func:`make_fingerprinted_images`, and the folder loaders) returns a
    Bunch built here, so that the fields and their types are the same
    everywhere:

    - ``images``: ndarray ``(n, H, W, 3)`` uint8 (decoded data sets), or
    - ``paths``: ndarray of str (data sets of image files);
      exactly one of the two is given;
    - ``labels``: ndarray of str of shape ``(n,)``, the source of each image;
    - ``sources``: ndarray of str, every source once, in the data set's
      order (given, else sorted);
    - ``families``: dict, source -> family name (str); ``"unknown"`` where
      the data set does not know it;
    - ``lineage``: dict, source -> tuple of str, its ancestry from the root
      (see :func:`lineage_groups`); where unknown, ``(family, source)``
      (or ``(source,)`` when the family is unknown or the source itself,
      as ``"real"``);
    - ``DESCR``: str;
    - any ``extra`` field of the data set (``metadata``, ``artifacts``...).

    Parameters
    ----------
    labels : array-like of str
    images, paths : array-like, default=None
    sources : sequence of str, default=None
    families : mapping, default=None
    lineage : mapping, default=None
    DESCR : str, default=""
    **extra
        Further fields, stored unchanged.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.datasets._base import make_dataset_bunch
    >>> b = make_dataset_bunch(images=np.zeros((2, 4, 4, 3), np.uint8),
    ...                        labels=["b", "a"], families={"a": "gan"})
    >>> b.sources.tolist(), b.families, b.lineage
    (['a', 'b'], {'a': 'gan', 'b': 'unknown'}, {'a': ('gan', 'a'), 'b': ('b',)})
    """
    import numpy as np
    from sklearn.utils import Bunch

    if (images is None) == (paths is None):
        raise ValueError("give exactly one of images and paths.")
    labels = np.asarray(labels).astype(str)
    if sources is None:
        sources = np.unique(labels)
    sources = np.asarray(list(sources), dtype=str)
    families = dict(families or {})
    families = {s: str(families.get(s, "unknown")) for s in sources.tolist()}
    lineage = dict(lineage or {})
    lineage = {
        s: tuple(str(p) for p in lineage[s]) if s in lineage
        else ((s,) if families[s] in ("unknown", s) else (families[s], s))
        for s in sources.tolist()
    }
    data = {"images": images} if images is not None else {"paths": np.asarray(paths, dtype=str)}
    return Bunch(**data, labels=labels, sources=sources, families=families,
                 lineage=lineage, DESCR=DESCR, **extra)
