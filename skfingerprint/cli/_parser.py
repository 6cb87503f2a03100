"""The ``argparse`` parser: argument types, help layout, and the commands."""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap

from ._errors import PROG

# The commands, in the order of --help: each module has ``add_parser(sub,
# common)`` (which sets ``func``, the function that runs it).  Adding a
# command is one module and one line here.
COMMANDS = ("_demo", "_zoo", "_audit", "_fit", "_attribute", "_families")


def _int_at_least(low, description):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}")
        return value

    return parse


positive_int = _int_at_least(1, "a positive integer")
non_negative_int = _int_at_least(0, "an integer >= 0")


def rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a number strictly between 0 and 1, got {text!r}")
    return value


def seed(text):
    value = non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(
            f"expected a seed between 0 and 2**32 - 1, got {text!r}")
    return value


def reencode_spec(text):
    """A codec for --reencode (``jpeg:90``, ``png``, ``webp:90``, ``none``)."""
    from ..augment import check_reencode

    try:
        return check_reencode(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def wrap(text):
    """Wrap each paragraph of a description to the terminal width."""
    import shutil

    width = min(shutil.get_terminal_size((80, 24)).columns, 100) - 2
    return "\n\n".join(textwrap.fill(par, width) for par in text.split("\n\n"))


def examples(text):
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip("\n"), "  ")


class Parser(argparse.ArgumentParser):
    """argparse, with the same one-line error style and help layout everywhere."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{PROG}: error: {message}\n")


def build_parser():
    """The ``argparse`` parser of the ``skfingerprint`` command.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> from skfingerprint.cli import build_parser
    >>> args = build_parser().parse_args(["fit", "images", "--bag-size", "8", "-o", "m.skfp"])
    >>> args.bag_size, args.output
    (8, 'm.skfp')
    """
    from .. import __version__

    parser = Parser(
        prog=PROG,
        description=wrap("Fingerprint generative models from bags (sets) of their images: "
                         "train a set encoder, attribute images to their source, cluster "
                         "sources into families."),
        epilog=examples("""
            skfingerprint demo --quick            # 2-minute tour, report in ./skfingerprint-demo
            skfingerprint zoo export zoo-images   # the built-in zoo as a folder of PNGs
            skfingerprint fit zoo-images --bag-size 16 -o zoo.skfp
            skfingerprint attribute zoo.skfp zoo-images/gan_ns_tconv --bag-size 16
            skfingerprint families zoo.skfp zoo-images --plot families.png

            Run 'skfingerprint COMMAND --help' for the options of a command."""),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or chatter")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub, common)
    return parser
