"""What several commands share: paths, models, bags, threads and interrupts."""

from __future__ import annotations

import os
import signal
import threading
import warnings

from .._atomic import check_replaceable, probe_writable
from ._errors import PROG, CommandError, user_errors


def existing_folder(path, what="folder"):
    if not os.path.exists(path):
        raise CommandError(f"{what} {path!r} does not exist")
    if not os.path.isdir(path):
        raise CommandError(f"{what} {path!r} is not a folder")
    return path


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise CommandError(
            "plotting needs matplotlib: pip install 'skfingerprint[plots]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_output_file(path, *, option="-o", force=False):
    """Refuse, before any work, an output file that could not be written or
    that would overwrite something other than a model file without ``force``."""
    from .. import load

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"the folder of the output file, {folder!r}, does not exist")
    if os.path.isdir(path):
        raise CommandError(
            f"{option} {path!r} is a folder; give a file path, e.g. "
            f"{os.path.join(path, 'model.skfp')!r}"
        )
    try:  # only a regular file is ever replaced, --force or not (not /dev/null)
        check_replaceable(path)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}") from None
    target_folder = os.path.dirname(os.path.realpath(path))  # links are written through
    try:
        probe_writable(target_folder)
    except OSError as exc:
        raise CommandError(
            f"cannot write {option} {path!r} into {target_folder!r} "
            f"({exc.strerror or exc}); choose a folder you can write to"
        ) from None
    if os.path.exists(path) and not force:  # a dangling link overwrites nothing
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load(path)
        except (ValueError, TypeError, OSError):
            raise CommandError(
                f"{option} {path!r} exists and is not a model file; pass --force to "
                "overwrite it"
            ) from None


def load_model(path):
    """Load a saved Pipeline; return (model, encoder)."""
    from sklearn.pipeline import Pipeline

    from .. import SetFingerprintEncoder, load

    if not os.path.lexists(path):
        raise CommandError(f"model file {path!r} does not exist")
    with user_errors():
        model = load(path)
    encoder = model.steps[0][1] if isinstance(model, Pipeline) else model
    if not isinstance(encoder, SetFingerprintEncoder):
        raise CommandError(
            f"{path!r} holds a {type(model).__name__}, not a model made by "
            f"'{PROG} fit' (a Pipeline that starts with a SetFingerprintEncoder)"
        )
    return model, encoder


def spectrum_like(encoder):
    """A ``SpectrumFingerprint`` that reads images as ``encoder`` does (the
    same resize size, or the same patch size and number of patches)."""
    from ..baselines import SpectrumFingerprint

    patch = encoder.patch_size
    if isinstance(patch, str):  # "auto": the patch the encoder chose in fit
        patch = getattr(encoder, "patch_size_", None)
    return SpectrumFingerprint(image_size=encoder.image_size, patch_size=patch,
                               patches_per_image=encoder.patches_per_image)


def collect_images(paths):
    """Image files of files and folders (searched by the library's walker)."""
    from ..datasets import list_image_files

    files = []
    for path in paths:
        if not os.path.exists(path):
            raise CommandError(f"{path!r} does not exist")
        if not os.path.isdir(path):
            files.append(path)
            continue
        with user_errors():
            found = list_image_files(path)
        if not found:
            raise CommandError(f"no image files (PNG, JPEG, WebP, BMP, TIFF, GIF) in "
                               f"the folder {path!r}")
        files += found
    return files


def folder_bags(root, *, image_size, bag_size, seed, layout="auto", reencode=None):
    """Paths of a folder tree made into disjoint bags of ``bag_size``.

    The loader's own format warning is left to the caller's audit
    (:func:`skfingerprint.datasets.audit_confounds`, which finds more).
    """
    from .. import make_bags

    data = load_folder(root, layout=layout, image_size=image_size, reencode=reencode)
    with user_errors():
        X, y = make_bags(data.paths, data.labels, bag_size=bag_size, random_state=seed)
    return data, X, y


def load_folder(root, *, what="folder", context=None, options=None, **kwargs):
    """:func:`~skfingerprint.datasets.load_image_folder` of an existing folder.

    Its errors are usage errors (``context``, ``options``: as in
    :func:`user_errors`; ``what`` names the folder when it does not exist),
    and its coarse format warning is left to the audit, which says more.
    """
    from ..datasets import load_image_folder

    existing_folder(root, what)
    with user_errors(context, options), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*differ systematically in file format")
        return load_image_folder(root, **kwargs)


class InterruptRecorder:
    """Records a Ctrl-C (SIGINT) in the block, then raises KeyboardInterrupt as usual.

    The library catches an interrupt during training and returns the model of
    the last completed epoch; ``interrupted`` tells the command it happened.
    """

    def __init__(self):
        self.interrupted = False
        self._previous = None

    def _handler(self, signum, frame):
        self.interrupted = True
        signal.default_int_handler(signum, frame)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if exc_info[0] is not None and issubclass(exc_info[0], KeyboardInterrupt):
            self.interrupted = True
        return False
