"""Usage errors of the command: one line, exit status 2, options named as flags."""

from __future__ import annotations

import contextlib
import re

PROG = "skfingerprint"

# The one table from the library's parameter names to the command's options.
# A library error that names one of these parameters gets a note naming the
# option (the library's message itself is never rewritten).  Adding an
# option that feeds a library parameter means adding one line here.
FLAGS = {
    "bag_size": "--bag-size",
    "calibration_size": "--calibration",
    "data_home": "--data-home",
    "device": "--device",
    "false_rejection_rate": "--reject-rate",
    "image_size": "--image-size",
    "layout": "--layout",
    "max_epochs": "--epochs",
    "n_bags_per_model": "--bags-per-source",
    "n_families": "--n-families",
    "patch_size": "--patch-size",
    "patches_per_image": "--patches-per-image",
    "reencode": "--reencode",
    "num_workers": "--num-workers",
    "preset": "--preset",
    "random_state": "--seed",
}


class CommandError(Exception):
    """A mistake of the user, reported in one line with exit status 2."""


def _named(message, name):
    """Whether ``message`` names the parameter ``name`` (``name=``, ``'name'``
    or ``name must``), not merely uses the word."""
    word = re.escape(name)
    return re.search(rf"(?<![\w.-])(?:{word}=|'{word}'|{word} must)", message) is not None


def option_note(message, options=None):
    """`` (option --x)`` notes for the parameters of :data:`FLAGS` a message names.

    ``options``: the parameters whose options the command has (None: all of
    :data:`FLAGS`); a command never suggests an option it does not have.
    """
    names = [name for name in FLAGS
             if (options is None or name in options) and _named(message, name)]
    if not names:
        return ""
    pairs = ", ".join(f"{n}: {FLAGS[n]}" for n in names)
    return f" [on the command line, {pairs}]"


def original_message(exc):
    """The message of ``exc``, or, for an exception that torch re-raised from a
    DataLoader worker ("Caught ValueError in DataLoader worker process 0.
    Original Traceback ..."), the message of the original exception, without
    the worker's traceback."""
    text = str(exc)
    if not (text.startswith("Caught ") and "\nOriginal Traceback" in text):
        return text
    lines = text.splitlines()
    # the traceback's lines are indented; the original exception follows them
    last = max((i for i, line in enumerate(lines) if line.startswith(" ")), default=0)
    tail = "\n".join(lines[last + 1:]).strip()
    name = re.escape(type(exc).__name__)
    tail = re.sub(rf"^(?:[\w.]+\.)?{name}: ", "", tail)
    return tail or text


@contextlib.contextmanager
def user_errors(context=None, options=None):
    """Turn the library's input-validation errors into :class:`CommandError`.

    Only wrap calls whose errors come from what the user gave (paths, files,
    options): anything raised elsewhere is a bug and keeps its traceback.
    ``options``: as in :func:`option_note`.
    """
    try:
        yield
    except CommandError:
        raise
    except (ValueError, TypeError, OSError) as exc:
        message = original_message(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            message = f"{exc.strerror}: {exc.filename!r}"
        message += option_note(message, options)
        raise CommandError(f"{context}: {message}" if context else message) from exc
