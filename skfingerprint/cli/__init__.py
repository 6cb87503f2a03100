"""The ``skfingerprint`` command.

Sub-commands::

    skfingerprint demo        the main job on the built-in data, with a report
    skfingerprint zoo         build, describe or export the model zoo
    skfingerprint fit         train on a folder of images, save the model
    skfingerprint attribute   attribute images to the sources of a model
    skfingerprint families    cluster the sources of a folder into families

Mistakes in the use of the command (a missing folder, an empty folder, a file
that is not a model) print one line ``skfingerprint: error: ...`` and exit
with status 2; an interrupt (Ctrl-C) exits with status 130; genuine bugs still
show a traceback.

Layout: :mod:`._parser` builds the parser from the command modules listed in
its ``COMMANDS`` (``_fit``, ``_attribute``, ...: each adds its sub-parser and
the function that runs it), :mod:`._errors` holds the usage error and the one
table from library parameters to options, :mod:`._output` the text and JSON
output, and :mod:`._common` what several commands share.
"""

from __future__ import annotations

import sys
import warnings

from ._errors import PROG, CommandError
from ._output import safe
from ._parser import build_parser

__all__ = ["main"]


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {safe(message)}", file=sys.stderr)


def main(argv=None):
    """Run the ``skfingerprint`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (without the program name); ``sys.argv[1:]`` if None.

    Returns
    -------
    status : int
        0 on success, 2 for a usage mistake (also for argparse's own errors,
        which exit through ``SystemExit``), 130 after an interrupt (Ctrl-C).

    Examples
    --------
    >>> from skfingerprint.cli import main
    >>> main(["attribute", "no-such-model.skfp", "img.png"])
    2
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except CommandError as exc:
            print(f"{PROG}: error: {safe(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
