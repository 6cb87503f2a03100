"""Users' images: folders of image files and CSV manifests of paths and labels.

Both loaders return file *paths* and their labels, ready for
:func:`skfingerprint.make_bags`; pixels are decoded later, lazily, by
:func:`skfingerprint._io.read_image`.  Nothing in the user's folders is ever
written or modified.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Hashable, Mapping

import numpy as np
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params

from .._bags import value_per_source
from .._io import IMAGE_EXTENSIONS
from .._io import read_header, check_image_size, read_image

_LAYOUTS = ("auto", "per_source", "genimage", "forensynths")
_GENIMAGE_SPLITS = ("train", "val")
_GENIMAGE_CLASSES = ("ai", "nature")  # "ai": generated, "nature": real
_FORENSYNTHS_CLASSES = ("0_real", "1_fake")
_SKIPPED_DIRS = ("__MACOSX",)  # resource forks left by macOS zip archives
_N_NAMED = 3  # how many skipped files a warning names


def _avif_readable():
    """Whether the Pillow of this machine decodes AVIF files."""
    try:
        from PIL import features

        return bool(features.check("avif"))
    except Exception:  # pragma: no cover - an old or broken Pillow
        return False


#: The extensions the folder loaders read by default: those of
#: :data:`skfingerprint._io.IMAGE_EXTENSIONS`, and ``.avif`` where Pillow
#: reads AVIF.
DEFAULT_EXTENSIONS = tuple(IMAGE_EXTENSIONS) + ((".avif",) if _avif_readable() else ())
# image formats that a folder may hold but that are not read unless listed in
# ``extensions`` (and Pillow reads them): named in a warning, never skipped silently
_OTHER_IMAGE_EXTENSIONS = (".avif", ".heic", ".heif", ".jxl", ".jp2", ".psd", ".raw",
                           ".dng", ".cr2", ".nef", ".arw", ".svg", ".ico", ".ppm",
                           ".pgm", ".pbm", ".tga", ".exr", ".hdr")


# --------------------------------------------------------------------------
# parameter checks
# --------------------------------------------------------------------------
def _check_extensions(extensions):
    if isinstance(extensions, (str, bytes)):
        extensions = (extensions,)
    try:
        extensions = tuple(extensions)
    except TypeError:
        raise TypeError(
            "extensions must be a sequence of file extensions such as "
            f"('.png', '.jpg'); got {extensions!r}."
        ) from None
    out = []
    for ext in extensions:
        if not isinstance(ext, str) or not ext.strip("."):
            raise ValueError(
                "extensions must be non-empty strings such as '.png' or 'png'; "
                f"got {ext!r}."
            )
        ext = ext.lower()
        out.append(ext if ext.startswith(".") else "." + ext)
    if not out:
        raise ValueError("extensions must name at least one file extension.")
    return tuple(sorted(set(out)))


#: Constraints shared by both loaders (sklearn's ``validate_params``).
_LOADER_PARAMS = {
    "image_size": "no_validation",  # check_image_size: an int or (height, width)
    "extensions": "no_validation",  # _check_extensions: str or sequence of str
    "on_error": [StrOptions({"raise", "skip"})],
    "verify": ["boolean"],
    "reencode": "no_validation",  # augment.check_reencode
    "data_home": [str, os.PathLike, None],
    "families": [Mapping, HasMethods(["keys", "__getitem__"]), None],
    "return_X_y": ["boolean"],
}


def _check_families(families):
    """``families`` as a dict (``_LOADER_PARAMS`` admits only mappings and None)."""
    if families is None:
        return None
    return {key: families[key] for key in families.keys()}


# --------------------------------------------------------------------------
# walking a folder tree
# --------------------------------------------------------------------------
def _is_hidden(name):
    return name.startswith(".") or name in _SKIPPED_DIRS


def _within(path, folder):
    """Whether the real path ``path`` is ``folder`` or below it (both real)."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _link_escapes(root_real, parts, path):
    """Why the link to a directory ``path`` inside the source ``parts[0]`` is
    not followed (it leads into another source folder, or to ``root`` or a
    folder above it), or None."""
    target = os.path.realpath(path)
    if _within(root_real, target):
        return "a folder that holds the whole tree"
    source_real = os.path.realpath(os.path.join(root_real, parts[0]))
    if _within(target, root_real) and not _within(target, source_real):
        rel = os.path.relpath(target, root_real).split(os.sep)[0]
        return f"the source {rel!r}"
    return None


def _walk(root, extensions, report=None):
    """Image files below ``root`` as sorted ``(relative parts, path)`` pairs.

    Hidden entries are skipped; symbolic links are followed, but a directory
    reached a second time (a link cycle, or two links to one folder) is
    listed only the first time.  Also returns how many other files were seen.

    With a ``report`` dict (the folder loaders: ``root`` holds one folder
    per source), a link to a directory inside a source folder that leads
    into another source folder, or to ``root`` or above it, is not followed
    (the other source's images would take this source's label); it is listed
    in ``report["links"]`` as ``(path, where it leads)``.  The files seen
    that are not images are listed by source in ``report["other"]``.
    """
    found = []
    n_other = 0
    visited = set()
    stack = [((), root)]
    root_real = os.path.realpath(root)
    while stack:
        parts, directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError:
            continue  # a broken link to a directory: nothing to list
        key = (st.st_dev, st.st_ino)
        if key in visited:
            continue
        visited.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise ValueError(
                f"Cannot list the folder {directory!r} ({exc}); check its "
                "permissions."
            ) from None
        subdirs = []
        for entry in entries:
            if _is_hidden(entry.name):
                continue
            try:
                is_dir = entry.is_dir()  # follows symbolic links
            except OSError:
                is_dir = False
            if is_dir:
                if report is not None and parts and entry.is_symlink():
                    why = _link_escapes(root_real, parts, entry.path)
                    if why is not None:
                        report.setdefault("links", []).append((entry.path, why))
                        continue
                subdirs.append((parts + (entry.name,), entry.path))
            elif os.path.splitext(entry.name)[1].lower() in extensions:
                # broken links are kept: they are reported as unreadable
                found.append((parts + (entry.name,), entry.path))
            else:
                n_other += 1
                if report is not None and parts:
                    report.setdefault("other", {}).setdefault(parts[0], []).append(
                        entry.path)
        stack.extend(reversed(subdirs))
    found.sort(key=lambda item: item[0])
    return found, n_other


def _named(paths, root):
    rel = [os.path.relpath(p, root).replace(os.sep, "/") for p in paths]
    more = f" and {len(rel) - _N_NAMED} more" if len(rel) > _N_NAMED else ""
    return ", ".join(repr(r) for r in rel[:_N_NAMED]) + more


def _avif_note(paths, extensions):
    if ".avif" in extensions or _avif_readable() or not any(
            p.lower().endswith(".avif") for p in paths):
        return ""
    return (" The Pillow of this machine cannot read AVIF files: install a Pillow "
            "built with AVIF (pip install -U pillow), or convert them to PNG.")


def _warn_walk(report, sources, root, extensions):
    """What the walk of a folder tree left out, named: links to folders that
    were not followed, source folders without one image file read, and files
    of image formats that are not read."""
    links = report.get("links", [])
    if links:
        named = ", ".join(f"{os.path.relpath(p, root).replace(os.sep, '/')!r} (to {why})"
                          for p, why in links[:_N_NAMED])
        more = f" and {len(links) - _N_NAMED} more" if len(links) > _N_NAMED else ""
        warnings.warn(
            f"Did not follow {len(links)} link(s) to folders inside the source "
            f"folders of {root!r}: {named}{more}. Their images would have taken the "
            "label of the folder that holds the link. Remove the links, or copy "
            "(or link one by one) the files that belong to that source.",
            UserWarning, stacklevel=3)
    other = report.get("other", {})
    read = ", ".join(extensions)
    for source in sorted(set(other) - set(sources)):
        files = other[source]
        warnings.warn(
            f"The source folder {source!r} holds no image file with the extensions "
            f"read ({read}), only {len(files)} other file(s), e.g. "
            f"{_named(files, root)}: it is left out.{_avif_note(files, extensions)} "
            "Convert the images to PNG, or pass extensions= naming theirs.",
            UserWarning, stacklevel=3)
    skipped = [(source, p) for source in sorted(set(other) & set(sources))
               for p in other[source]
               if os.path.splitext(p)[1].lower() in _OTHER_IMAGE_EXTENSIONS
               and os.path.splitext(p)[1].lower() not in extensions]
    if skipped:
        named = ", ".join(f"{os.path.relpath(p, root).replace(os.sep, '/')!r} "
                          f"(source {source!r})" for source, p in skipped[:_N_NAMED])
        more = f" and {len(skipped) - _N_NAMED} more" if len(skipped) > _N_NAMED else ""
        paths = [p for _, p in skipped]
        warnings.warn(
            f"Skipped {len(skipped)} image file(s) of formats that are not read "
            f"(the extensions read: {read}): {named}{more}."
            f"{_avif_note(paths, extensions)} Convert them to PNG, or pass "
            "extensions= naming theirs.",
            UserWarning, stacklevel=3)


def list_image_files(root, *, extensions=DEFAULT_EXTENSIONS):
    """The image files below a folder, found as :func:`load_image_folder` finds them.

    The one directory walker of the library: sub-folders are searched
    recursively and symbolic links are followed, but a folder reached a
    second time (a link cycle, or two links to one folder) is listed once;
    hidden files and folders (names starting with ``.``) and ``__MACOSX``
    folders are skipped.

    Parameters
    ----------
    root : str or os.PathLike
        The folder to search.

    extensions : sequence of str, default=DEFAULT_EXTENSIONS
        File extensions to keep (case-insensitive), e.g. ``(".png", ".jpg")``.

    Returns
    -------
    paths : list of str
        The files, sorted by their path below ``root``.

    Raises
    ------
    ValueError
        If ``root`` is not a folder or a folder below it cannot be listed.

    See Also
    --------
    load_image_folder : Image paths and labels of one folder per source.

    Examples
    --------
    >>> import os, tempfile
    >>> from skfingerprint.datasets import list_image_files
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "b", "__MACOSX"))
    >>> for name in ["b/2.png", "a.jpg", ".hidden.png", "b/__MACOSX/x.png", "notes.txt"]:
    ...     open(os.path.join(root, name), "w").close()
    >>> [os.path.relpath(p, root) for p in list_image_files(root)]
    ['a.jpg', 'b/2.png']
    """
    root_arg = root
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise ValueError(f"root={os.fspath(root_arg)!r} is not a folder.")
    found, _ = _walk(root, _check_extensions(extensions))
    return [path for _, path in found]


def _match_genimage(parts):
    """``(is_real, split)`` for ``<gen>/.../{train,val}/{ai,nature}/.../file``."""
    for i in range(1, len(parts) - 2):
        split, kind = parts[i].lower(), parts[i + 1].lower()
        if split in _GENIMAGE_SPLITS and kind in _GENIMAGE_CLASSES:
            return kind == "nature", split
    return None


def _match_forensynths(parts):
    """``is_real`` for ``<class>/.../{0_real,1_fake}/.../file``."""
    for i in range(1, len(parts) - 1):
        kind = parts[i].lower()
        if kind in _FORENSYNTHS_CLASSES:
            return kind == "0_real"
    return None


_LAYOUT_TREES = {
    "per_source": "root/<source>/**/<image>",
    "genimage": "root/<generator>/**/{train,val}/{ai,nature}/**/<image>",
    "forensynths": "root/<class>/**/{0_real,1_fake}/**/<image>",
}


def _label_files(found, layout, split, real_label, root):
    """Turn walked files into ``(label, split, rel, path)`` records."""
    nested = [(parts, path) for parts, path in found if len(parts) > 1]
    loose = [path for parts, path in found if len(parts) == 1]
    if layout == "auto":
        if any(_match_genimage(parts) is not None for parts, _ in nested):
            layout = "genimage"
        elif any(_match_forensynths(parts) is not None for parts, _ in nested):
            layout = "forensynths"
        else:
            layout = "per_source"
    if split is not None and layout != "genimage":
        raise ValueError(
            f"split={split!r} applies only to the 'genimage' layout "
            f"({_LAYOUT_TREES['genimage']}), but the layout of {root!r} is "
            f"{layout!r}; pass split=None."
        )
    records = []
    fake_labels = set()
    for parts, path in nested:
        rel = "/".join(parts)
        if layout == "per_source":
            records.append((parts[0], None, rel, path))
            continue
        if layout == "genimage":
            match = _match_genimage(parts)
            is_real, file_split = match if match is not None else (None, None)
        else:
            is_real, file_split = _match_forensynths(parts), None
        if is_real is None:
            raise ValueError(
                f"The file {path!r} does not follow the {layout!r} layout "
                f"({_LAYOUT_TREES[layout]}). Move or remove it, or pass "
                "layout='per_source' to label every image by its top-level "
                "folder only."
            )
        if not is_real:
            fake_labels.add(parts[0])
        if split is not None and file_split != split:
            continue
        if is_real:
            if real_label is not None:
                records.append((real_label, file_split, rel, path))
        else:
            records.append((parts[0], file_split, rel, path))
    if real_label in fake_labels:
        raise ValueError(
            f"The generated images of the folder {real_label!r} in {root!r} "
            f"would share the label {real_label!r} with the real images; pass "
            "another real_label=, e.g. real_label='real_images'."
        )
    records.sort(key=lambda rec: (rec[0], rec[2]))
    return records, loose, layout


# --------------------------------------------------------------------------
# headers, checks and the returned Bunch (shared by both loaders)
# --------------------------------------------------------------------------
def _scan(paths, *, on_error, verify):
    """Read every header (and decode everything if ``verify``).

    Returns a boolean mask of the readable files, their sizes and formats.
    """
    n = len(paths)
    keep = np.ones(n, dtype=bool)
    sizes = np.zeros((n, 2), dtype=np.int64)
    formats = [""] * n
    bad = []
    for i, path in enumerate(paths):
        try:
            height, width, fmt = read_header(path)
            if verify:
                read_image(path, mode="keep")
        except ValueError:
            if on_error == "raise":
                raise
            keep[i] = False
            bad.append(path)
            continue
        sizes[i] = (height, width)
        formats[i] = fmt
    if bad:
        named = ", ".join(repr(p) for p in bad[:_N_NAMED])
        more = f" and {len(bad) - _N_NAMED} more" if len(bad) > _N_NAMED else ""
        what = "could not be decoded" if verify else "have unreadable headers"
        warnings.warn(
            f"Skipped {len(bad)} of {n} image files that {what} "
            f"(on_error='skip'): {named}{more}.",
            UserWarning,
            stacklevel=4,  # _scan < _read_headers < loader < the user's call
        )
    return keep, sizes, np.asarray(formats, dtype=str)


def _read_headers(paths, labels, *, what, on_error, verify, image_size):
    """Scan the files, drop the unreadable ones (``on_error="skip"``), record
    their sizes and warn about format confounds.

    Returns the kept ``paths``, ``labels``, ``sizes``, ``formats`` and the
    boolean ``keep`` mask over the given files.
    """
    keep, sizes, formats = _scan(paths, on_error=on_error, verify=verify)
    kept = [p for p, k in zip(paths, keep) if k]
    labels = [lab for lab, k in zip(labels, keep) if k]
    if not kept:
        raise ValueError(
            f"None of the {len(paths)} {what} could be read "
            "(on_error='skip' skipped them all)."
        )
    sizes, formats = sizes[keep], formats[keep]
    # Mixed sizes are recorded, not refused: the estimator's mode decides
    # (patch mode takes any size of at least the patch; whole images need one).
    # stacklevel 4: the warning points at the caller of the public loader
    _warn_confounds(np.asarray(labels), formats, sizes, image_size, stacklevel=4)
    return kept, labels, sizes, formats, keep


def _describe(values):
    return "/".join(sorted(values))


def _warn_confounds(labels, formats, sizes, image_size, *, stacklevel):
    """Warn when a property of the files, not the generator, separates sources."""
    sources = [str(s) for s in np.unique(labels)]
    if len(sources) < 2:
        return
    # File format (JPEG compression vs lossless PNG ...).
    per_source = {s: frozenset(formats[labels == s]) for s in sources}
    for i, a in enumerate(sources):
        for b in sources[i + 1 :]:
            if per_source[a].isdisjoint(per_source[b]):
                warnings.warn(
                    f"The sources differ systematically in file format: "
                    f"{a!r} is {_describe(per_source[a])} while {b!r} is "
                    f"{_describe(per_source[b])}. Attribution may learn the file "
                    "format (e.g. JPEG compression) instead of the generator. "
                    "Re-encode every image to one format (e.g. the same JPEG "
                    "quality for all sources) before fitting, or check that "
                    "the results hold when the format is the same.",
                    UserWarning,
                    stacklevel=stacklevel,
                )
                break
        else:
            continue
        break
    # Resampling (only some sources resized to image_size).
    if image_size is None:
        return
    resampled = np.any(sizes != np.asarray(image_size), axis=1)
    never = [s for s in sources if not resampled[labels == s].any()]
    always = [s for s in sources if resampled[labels == s].all()]
    if never and always:
        warnings.warn(
            f"With image_size={tuple(image_size)!r} every image of "
            f"{always[0]!r} is resampled while no image of {never[0]!r} is. "
            "Attribution may learn the resampling instead of the generator; "
            "choose an image_size that no source needs resampling for, or "
            "resample every source the same way.",
            UserWarning,
            stacklevel=stacklevel,
        )


def _families_for(labels, families):
    """``families`` restricted to the sources found, every one of them covered."""
    sources = sorted(set(np.asarray(labels).tolist()))
    missing = [s for s in sources if s not in families]
    if missing:
        raise ValueError(
            f"families has no entry for the sources {missing}; give every "
            "source a family (the real images too)."
        )
    return {s: str(families[s]) for s in sources}


def _families_from_column(labels, values, family_col):
    """Source -> family from a manifest column; one family per source."""
    try:
        return value_per_source(labels, [str(v) for v in values], what="families",
                                 items="files")
    except ValueError as exc:
        raise ValueError(f"In the manifest column {family_col!r}: {exc}") from None


def _check_reencode(reencode):
    from ..augment import check_reencode

    return check_reencode(reencode)


def _bunch(paths, labels, *, sizes, formats, image_size, families, descr,
           reencode=None, data_home=None, return_X_y=False, **extra):
    """The loaders' Bunch (:func:`~skfingerprint.datasets._base.make_dataset_bunch`)."""
    from ._base import make_dataset_bunch

    paths = np.asarray(paths, dtype=str).reshape(-1)
    labels = np.asarray(labels, dtype=str).reshape(-1)
    if reencode is not None:
        from ._reencoded import reencoded_copies

        extra["original_paths"] = paths
        paths = reencoded_copies(paths, reencode, data_home=data_home).astype(str)
        formats = np.full(len(paths), "PNG")
        descr += f"; re-encoded with {reencode} (copies under the data home)"
    if return_X_y:
        return paths, labels
    if families is not None:
        families = _families_for(labels, families)
    return make_dataset_bunch(
        paths=paths, labels=labels, families=families, DESCR=descr,
        image_size=image_size, formats=formats, sizes=sizes, reencode=reencode, **extra,
    )


# --------------------------------------------------------------------------
# public loaders
# --------------------------------------------------------------------------
@validate_params(
    {
        "root": [str, os.PathLike],
        "layout": [StrOptions(set(_LAYOUTS))],
        "split": [StrOptions(set(_GENIMAGE_SPLITS)), None],
        "real_label": [str, None],
        **_LOADER_PARAMS,
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    root,
    *,
    layout="auto",
    split=None,
    real_label="real",
    families=None,
    image_size=None,
    extensions=DEFAULT_EXTENSIONS,
    on_error="raise",
    verify=False,
    reencode=None,
    data_home=None,
    return_X_y=False,
):
    """Load the paths and source labels of a folder of images.

    The images are not decoded: only their headers are read, to check that
    every file is an image and to find its size and format.  The returned
    paths are decoded later, lazily, in batches (see
    :func:`skfingerprint._io.read_image` for the colour rule: grayscale is
    replicated to RGB and alpha is composited on black).  Nothing inside
    ``root`` is written or modified.

    Parameters
    ----------
    root : str or os.PathLike
        The folder that holds one sub-folder per source.

    layout : {"auto", "per_source", "genimage", "forensynths"}, default="auto"
        How folders map to labels.  Labels are always folder names (or
        ``real_label``), never integers.

        ``"per_source"``: one folder per source (a generator, or real images);
        the label is the top-level folder name and images are found
        recursively below it::

            root/
              stylegan2/img001.png
              ddpm/batch1/0001.png
              real/photo.jpg

        ``"genimage"`` (the GenImage benchmark): ``ai`` images are labelled by
        their top-level generator folder and ``nature`` images get
        ``real_label``; any folders may lie between the generator folder and
        ``train``/``val``::

            root/
              ADM/imagenet_ai_0508_adm/train/ai/0001.png      -> "ADM"
              ADM/imagenet_ai_0508_adm/train/nature/n01.JPEG  -> "real"
              BigGAN/train/ai/0001.png                        -> "BigGAN"
              BigGAN/val/nature/n02.JPEG                      -> "real"

        ``"forensynths"`` (Wang et al., CNNDetection): ``1_fake`` images are
        labelled by their top-level folder and ``0_real`` images get
        ``real_label``; category folders may lie in between::

            root/
              progan/airplane/0_real/00001.png   -> "real"
              progan/airplane/1_fake/00001.png   -> "progan"
              stylegan/car/1_fake/00001.png      -> "stylegan"

        (In the ForenSynths training set the top-level folders are image
        categories of one generator, ProGAN, so they become the labels.)

        ``"auto"`` picks ``"genimage"`` when some image lies below
        ``train``/``val`` then ``ai``/``nature`` folders, else
        ``"forensynths"`` when some image lies below a ``0_real`` or
        ``1_fake`` folder, else ``"per_source"``.  With ``"genimage"`` and
        ``"forensynths"``, an image outside that structure raises an error.
        The layout used is returned as ``layout``.

    split : {"train", "val"} or None, default=None
        With the ``"genimage"`` layout, keep only this split; ``None`` keeps
        both and returns each image's split as ``splits``.  An error for the
        other layouts.

    real_label : str or None, default="real"
        The label of the real images (``nature`` or ``0_real``) in the
        ``"genimage"`` and ``"forensynths"`` layouts.  The real images of all
        generators share it.  ``None`` leaves real images out.

    families : mapping of str to object, default=None
        Maps each source (label) to its family, e.g. ``{"stylegan2": "gan",
        "ddpm": "diffusion", "real": "real"}``; every label found must have an
        entry.  Returned as ``families`` (source -> family).

    image_size : int or tuple of (int, int), default=None
        ``(height, width)`` the images will be decoded to (an int ``s`` means
        ``(s, s)``): centre-cropped to that aspect ratio, then resized with an
        anti-aliased filter.  It is returned as ``image_size`` so that it can
        be passed on to the estimator that decodes the paths.  ``None``
        keeps every image at its size; sizes may differ (each file's is in
        ``sizes``): the estimator decides, e.g. patch mode
        (``patch_size=64``) crops images of any size, never resizing them.
        Resizing erases much of the high-frequency traces of generators.

    extensions : sequence of str, default=DEFAULT_EXTENSIONS
        File extensions of the images (case-insensitive, with or without the
        dot).  The default reads PNG, JPEG (also ``.jfif`` and ``.jpe``),
        WebP, BMP, TIFF and GIF files, and AVIF where the Pillow of this
        machine reads it.  Other files are ignored, but a source folder
        left without any image, and files of other image formats (AVIF that
        Pillow cannot read, HEIC, ...), are named in a warning.

    on_error : {"raise", "skip"}, default="raise"
        What to do with a file that is not a readable image: ``"raise"`` a
        ``ValueError`` that names it, or ``"skip"`` it, with one warning that
        counts the skipped files and names the first few.

    verify : bool, default=False
        Also decode every image now, to find files whose pixel data is
        truncated or corrupt after a valid header.  This reads every pixel
        (slow for large sets).  Without it such files raise an error naming
        them when they are decoded.

    reencode : str or None, default=None
        Pass every image through one codec, e.g. ``"jpeg:90"`` (see
        :func:`skfingerprint.augment.check_reencode`), to remove a format
        confound (real photos as JPEG, generated images as PNG; see
        :func:`audit_confounds`).  Your files are not modified: re-encoded
        copies are written once (losslessly, as PNG) under
        ``<data_home>/reencoded/`` and ``paths`` points to them
        (``original_paths`` to yours).
    data_home : str or path-like, default=None
        Where the re-encoded copies are cached (see :func:`get_data_home`).

    return_X_y : bool, default=False
        Return ``(paths, labels)`` instead of the Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes, in the order
        of (label, path relative to ``root``):

        paths : ndarray of str of shape (n_images,)
            Absolute paths of the images, ready for
            :func:`skfingerprint.make_bags`.
        labels : ndarray of str of shape (n_images,)
            The source of each image.
        sources : ndarray of str
            The sorted unique labels.
        image_size : None or tuple of (int, int)
            The ``image_size`` given.
        formats : ndarray of str of shape (n_images,)
            The file format of each image read from its header, lowercased
            (``"png"``, ``"jpeg"``, ``"webp"``, ...), whatever its extension.
        sizes : ndarray of int of shape (n_images, 2)
            ``(height, width)`` of each file as stored.
        layout : str
            The layout used (``"auto"`` resolved).
        splits : ndarray of str of shape (n_images,)
            ``"train"`` or ``"val"``; only with the ``"genimage"`` layout.
        families : dict
            Source -> family (str): the ``families`` given, else
            ``"unknown"`` for every source.
        lineage : dict
            Source -> ancestry tuple (``(family, source)``, or ``(source,)``
            where the family is unknown), as every dataset Bunch of the
            library.
        original_paths : ndarray of str of shape (n_images,)
            Your files; only with ``reencode``.
        DESCR : str
            A one-paragraph description of what was loaded.

    Raises
    ------
    ValueError
        If ``root`` is not a folder, holds no image, a file is unreadable
        (with ``on_error="raise"``), or a file does not follow an explicit
        layout.

    Warns
    -----
    UserWarning
        When the sources differ systematically in file format (two sources
        share no format, e.g. real images all JPEG and generated ones all
        PNG): a model may then learn the format (JPEG compression traces)
        instead of the generator; re-encode all images to one format.  Also
        when ``image_size`` makes every image of one source resampled and no
        image of another, when files lie directly in ``root`` (they are
        ignored, having no source folder), when a link to a folder is not
        followed (see Notes), when a source folder holds no image with the
        ``extensions`` (it is left out), and when files of other image
        formats are skipped.

    See Also
    --------
    load_image_manifest : Load images listed in a CSV file or a DataFrame.

    Notes
    -----
    Hidden files and folders (names starting with ``.``) and ``__MACOSX``
    folders are skipped.  Symbolic links are followed; a folder reached twice
    (a link cycle, or two links to one folder) is listed only once.  A link
    to a folder inside a source folder is not followed when it leads into
    another source folder or to ``root`` (or above it), since its images
    would take the label of the wrong source: it is named in a warning.
    Links to folders outside ``root`` are followed.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfingerprint.datasets import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for source in ["ddpm", "stylegan2"]:
    ...     os.makedirs(os.path.join(root, source))
    ...     for i in range(3):
    ...         img = np.full((8, 8, 3), 40 * i, dtype=np.uint8)
    ...         Image.fromarray(img).save(os.path.join(root, source, f"{i}.png"))
    >>> data = load_image_folder(root)
    >>> data.labels
    array(['ddpm', 'ddpm', 'ddpm', 'stylegan2', 'stylegan2', 'stylegan2'],
          dtype='<U9')
    >>> data.sources
    array(['ddpm', 'stylegan2'], dtype='<U9')
    >>> [os.path.relpath(p, root) for p in data.paths[:2]]
    ['ddpm/0.png', 'ddpm/1.png']
    >>> str(data.formats[0]), data.image_size
    ('png', None)
    """
    root_arg = root
    root = os.path.abspath(os.fspath(root))
    if real_label == "":
        raise ValueError("real_label must be a non-empty str or None, got ''.")
    image_size = check_image_size(image_size)
    reencode = _check_reencode(reencode)
    extensions = _check_extensions(extensions)
    families = _check_families(families)
    if not os.path.isdir(root):
        raise ValueError(
            f"root={os.fspath(root_arg)!r} is not a folder; pass a folder that "
            "holds one sub-folder of images per source "
            f"({_LAYOUT_TREES['per_source']})."
        )

    report = {}
    found, n_other = _walk(root, extensions, report)
    records, loose, layout = _label_files(found, layout, split, real_label, root)
    _warn_walk(report, {parts[0] for parts, _ in found if len(parts) > 1}, root,
               extensions)
    if loose:
        warnings.warn(
            f"Ignored {len(loose)} image files directly in {root!r} (e.g. "
            f"{loose[0]!r}): they have no source folder. Move them into a "
            "folder named after their source.",
            UserWarning,
            stacklevel=2,
        )
    if not records:
        what = f" (and {n_other} other files)" if n_other else ""
        sel = f" in the split {split!r}" if split is not None else ""
        raise ValueError(
            f"No image files{sel} found in the folders of {root!r}{what}. "
            f"Expected the layout {_LAYOUT_TREES[layout]} with the extensions "
            f"{', '.join(extensions)}."
        )

    paths, labels, sizes, formats, keep = _read_headers(
        [rec[3] for rec in records], [rec[0] for rec in records],
        what=f"image files in {root!r}", on_error=on_error, verify=verify,
        image_size=image_size)

    extra = {"layout": layout}
    if layout == "genimage":
        splits = [rec[1] for rec, k in zip(records, keep) if k]
        extra["splits"] = np.asarray(splits, dtype=str)
    sources = sorted(set(labels))
    descr = (
        f"{len(paths)} images from {len(sources)} sources "
        f"({', '.join(sources[:10])}{', ...' if len(sources) > 10 else ''}) "
        f"in the folder {root!r}, layout {layout!r}"
        + (f", split {split!r}" if split is not None else "")
        + (f", decoded at image_size={image_size}" if image_size else "")
        + "."
    )
    return _bunch(
        paths,
        labels,
        sizes=sizes,
        formats=formats,
        image_size=image_size,
        families=families,
        descr=descr,
        reencode=reencode,
        data_home=data_home,
        return_X_y=return_X_y,
        **extra,
    )


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from a DataFrame
        return True
    return isinstance(value, str) and not value.strip()


def _read_manifest_columns(manifest, columns):
    """Return ``(source description, default root, {column: list})``."""
    if isinstance(manifest, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(manifest))
        if not os.path.isfile(path):
            raise ValueError(
                f"The manifest {os.fspath(manifest)!r} is not a file; pass the "
                "path of a CSV file or a pandas DataFrame."
            )
        delimiter = "\t" if path.lower().endswith(".tsv") else ","
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f, delimiter=delimiter)
                available = list(reader.fieldnames or [])
                _check_columns(columns, available, path)
                rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(
                f"The manifest {path!r} is not a readable CSV text file "
                f"({type(exc).__name__}: {exc}); pass a UTF-8 CSV file with a "
                "header line, or a pandas DataFrame."
            ) from None
        for i, row in enumerate(rows):
            if None in row:  # csv.DictReader's key for surplus fields
                raise ValueError(
                    f"{path}, line {i + 2}: {len(available) + len(row[None])} "
                    f"fields, but the header names {len(available)}; quote "
                    "fields that contain the delimiter."
                )
        data = {c: [row[c] for row in rows] for c in columns}
        return path, os.path.dirname(path), data, 2  # data starts on line 2
    if hasattr(manifest, "columns") or isinstance(manifest, Mapping):
        available = list(manifest.columns if hasattr(manifest, "columns") else manifest)
        _check_columns(columns, available, "the manifest")
        data = {c: list(manifest[c]) for c in columns}
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError(
                f"The manifest columns {columns} have different lengths."
            )
        return "a DataFrame", os.getcwd(), data, 0
    raise TypeError(
        "manifest must be the path of a CSV file or a DataFrame (or a mapping of "
        f"column name to values); got {type(manifest).__name__}."
    )


def _is_below(path, root):
    """Whether ``path`` resolves (symbolic links followed) to a place below ``root``."""
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, real_root]) == real_root


def _check_columns(columns, available, where):
    duplicated = sorted({str(c) for c in available if list(available).count(c) > 1})
    if duplicated:
        raise ValueError(
            f"The header of {where} names the column {duplicated[0]!r} more than once "
            f"(columns {[str(c) for c in available]}); a duplicated column is "
            "ambiguous. Rename or remove one of them."
        )
    missing = [c for c in columns if c not in available]
    if missing:
        raise ValueError(
            f"The column {missing[0]!r} is not in {where}; its columns are "
            f"{[str(c) for c in available]}. Pass path_col= and label_col= to "
            "name the columns of the image paths and labels."
        )


@validate_params(
    {
        "manifest": "no_validation",  # a path or a DataFrame: _read_manifest_columns
        "path_col": [Hashable],
        "label_col": [Hashable],
        "family_col": [Hashable, None],
        "root": [str, os.PathLike, None],
        "allow_outside_root": ["boolean"],
        **{k: v for k, v in _LOADER_PARAMS.items() if k not in ("extensions", "families")},
    },
    prefer_skip_nested_validation=True,
)
def load_image_manifest(
    manifest,
    *,
    path_col="path",
    label_col="label",
    family_col=None,
    root=None,
    image_size=None,
    on_error="raise",
    verify=False,
    allow_outside_root=True,
    reencode=None,
    data_home=None,
    return_X_y=False,
):
    """Load image paths and labels listed in a CSV file or a DataFrame.

    For data sets that ship a table of image paths and their sources.  As
    with :func:`load_image_folder`, only image headers are read (to check the
    files and find their sizes and formats); pixels are decoded later, and
    nothing is written.

    Parameters
    ----------
    manifest : str, os.PathLike, DataFrame or mapping
        The path of a CSV file with a header row (read with Python's ``csv``
        module; a ``.tsv`` file is read as tab-separated), or a pandas (or
        polars) DataFrame, or a mapping of column name to values.

    path_col : str, default="path"
        The column of image paths, absolute or relative to ``root``.

    label_col : str, default="label"
        The column of sources.  Labels are returned as strings, as written in
        the table (a column of ``0`` and ``1`` gives the labels ``"0"`` and
        ``"1"``).

    family_col : str, default=None
        A column of model families, one per source, returned as
        ``families`` (source -> family).

    root : str or os.PathLike, default=None
        The folder relative paths are resolved against; by default the folder
        of the CSV file, or the current working directory for a DataFrame.

    image_size : int or tuple of (int, int), default=None
        As in :func:`load_image_folder`: the size images will be decoded to;
        ``None`` keeps their sizes (which may differ).

    on_error : {"raise", "skip"}, default="raise"
        As in :func:`load_image_folder`.

    verify : bool, default=False
        As in :func:`load_image_folder`: decode every image now.

    reencode, data_home : default=None
        As in :func:`load_image_folder`: one codec for every image.

    return_X_y : bool, default=False
        Return ``(paths, labels)`` instead of the Bunch.

    allow_outside_root : bool, default=True
        Whether a listed path may point outside ``root`` (an absolute path
        elsewhere, or a relative one that climbs out with ``..``); such paths
        are read as listed.  Pass ``False`` for a manifest you did not write:
        every path must then resolve (links included) to a file below
        ``root``, and the first that does not is an error naming its row.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``paths``, ``labels``, ``sources``, ``families``, ``lineage``,
        ``image_size``, ``formats``, ``sizes`` as in
        :func:`load_image_folder`, in the order of the manifest's rows, and
        ``DESCR``.

    Raises
    ------
    ValueError
        If a column is missing or the header names a column twice, a row has
        no path or label, a path is outside ``root`` with
        ``allow_outside_root=False``, a path is listed
        twice, or an image is unreadable (with ``on_error="raise"``).

    See Also
    --------
    load_image_folder : Load images from one folder per source.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfingerprint.datasets import load_image_manifest
    >>> root = tempfile.mkdtemp()
    >>> rows = ["file,generator"]
    >>> for i, gen in enumerate(["ddpm", "vae", "ddpm"]):
    ...     img = np.full((8, 8, 3), 40 * i, dtype=np.uint8)
    ...     Image.fromarray(img).save(os.path.join(root, f"{i}.png"))
    ...     rows.append(f"{i}.png,{gen}")
    >>> csv_path = os.path.join(root, "manifest.csv")
    >>> with open(csv_path, "w") as f:
    ...     _ = f.write("\\n".join(rows) + "\\n")
    >>> data = load_image_manifest(csv_path, path_col="file", label_col="generator")
    >>> data.labels
    array(['ddpm', 'vae', 'ddpm'], dtype='<U4')
    >>> os.path.basename(data.paths[1])
    '1.png'
    """
    for name, value in (("path_col", path_col), ("label_col", label_col)):
        if value is None:
            raise ValueError(f"{name} must name a column, got None.")
    columns = [path_col, label_col] + ([family_col] if family_col is not None else [])
    if len(set(columns)) != len(columns):
        raise ValueError(
            f"path_col, label_col and family_col must be different columns, "
            f"got {columns}."
        )
    image_size = check_image_size(image_size)
    reencode = _check_reencode(reencode)
    where, default_root, data, first_line = _read_manifest_columns(manifest, columns)
    root = default_root if root is None else os.path.abspath(os.fspath(root))

    def row_name(i):
        return f"line {i + first_line}" if first_line else f"row {i}"

    paths, labels, families = [], [], []
    seen = {}
    for i, (path, label) in enumerate(zip(data[path_col], data[label_col])):
        if _is_missing(path):
            raise ValueError(f"{where}, {row_name(i)}: the path is empty.")
        if _is_missing(label):
            raise ValueError(
                f"{where}, {row_name(i)}: the label of {path!r} is empty."
            )
        full = os.path.normpath(os.path.join(root, os.fspath(path)))
        if not allow_outside_root and not _is_below(full, root):
            raise ValueError(
                f"{where}, {row_name(i)}: the path {path!r} is outside root={root!r} "
                "(allow_outside_root=False). Fix the manifest, pass the right root=, "
                "or allow_outside_root=True if the manifest is yours."
            )
        if full in seen:
            raise ValueError(
                f"{where}: the image {full!r} is listed twice ({row_name(seen[full])} "
                f"and {row_name(i)}); each image must be listed once."
            )
        seen[full] = i
        paths.append(full)
        labels.append(str(label))
        if family_col is not None:
            families.append(data[family_col][i])
    if not paths:
        raise ValueError(f"The manifest {where} lists no image.")

    paths, labels, sizes, formats, keep = _read_headers(
        paths, labels, what=f"images of {where}", on_error=on_error, verify=verify,
        image_size=image_size)
    sources = sorted(set(labels))
    descr = (
        f"{len(paths)} images from {len(sources)} sources "
        f"({', '.join(sources[:10])}{', ...' if len(sources) > 10 else ''}) "
        f"listed in {where}"
        + (f", decoded at image_size={image_size}" if image_size else "")
        + "."
    )
    return _bunch(
        paths,
        labels,
        sizes=sizes,
        formats=formats,
        image_size=image_size,
        families=(None if family_col is None else _families_from_column(
            labels, [f for f, k in zip(families, keep) if k], family_col)),
        descr=descr,
        reencode=reencode,
        data_home=data_home,
        return_X_y=return_X_y,
    )
