"""``skfingerprint zoo``: build, describe or export the model zoo."""

from __future__ import annotations

import argparse
import os

import numpy as np

from ._errors import PROG, CommandError, user_errors
from ._output import safe
from ._parser import examples, positive_int, seed, wrap


def add_parser(sub, common):
    p = sub.add_parser(
        "zoo", help="build, describe or export the model zoo",
        description=wrap(
            "The model zoo: small VAEs, GANs, flows and score-based models really "
            "trained on CPU on photo crops, plus real crops; built once and cached."),
        epilog=examples("""
            skfingerprint zoo info                       # what is cached, and where
            skfingerprint zoo build                      # the small preset (~2-4 min)
            skfingerprint zoo build --preset default     # 32x32, 2000 images per source
            skfingerprint zoo export zoo-images --n-images 64
                                                         # zoo-images/<source>/00000.png ..."""),
    )
    from ._parser import Parser

    zsub = p.add_subparsers(dest="zoo_command", metavar="ACTION", parser_class=Parser)
    zsub.required = True
    _add_actions(zsub, common)
    p.set_defaults(func=run)
    return p


def _add_actions(zsub, common):
    zoo_common = argparse.ArgumentParser(add_help=False, parents=[common])
    zoo_common.add_argument("--preset", choices=["small", "default"], default="small",
                            help="zoo preset (default: small)")
    zoo_common.add_argument("--image-size", type=positive_int, default=None,
                            help="image side, a power of two (default: the preset's)")
    zoo_common.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    zoo_common.add_argument("--data-home", metavar="DIR", help="cache folder")
    fmt = argparse.RawDescriptionHelpFormatter
    zp = zsub.add_parser("build", parents=[zoo_common], formatter_class=fmt,
                         help="build the zoo (or find it in the cache)",
                         epilog=examples("""
                             skfingerprint zoo build
                             skfingerprint zoo build --preset default --describe"""))
    zp.add_argument("--describe", action="store_true",
                    help="print the description of the models")
    zsub.add_parser("info", parents=[zoo_common], formatter_class=fmt,
                    help="describe the cache and a preset",
                    epilog=examples("""
                        skfingerprint zoo info
                        skfingerprint zoo info --preset default --data-home /data/cache"""))
    zp = zsub.add_parser("export", parents=[zoo_common], formatter_class=fmt,
                         help="write the zoo as a folder of PNGs, one sub-folder per source",
                         epilog=examples("""
                             skfingerprint zoo export zoo-images
                             skfingerprint fit zoo-images --bag-size 16 -o zoo.skfp"""))
    zp.add_argument("folder", help="output folder (created)")
    zp.add_argument("--n-images", type=positive_int, default=None,
                    help="images per source (default: all)")
    zp.add_argument("--force", action="store_true", help="write into a non-empty folder")


def _cached_zoos(data_home):
    from ..datasets import get_data_home

    folder = os.path.join(get_data_home(data_home), "model_zoo")
    if not os.path.isdir(folder):
        return folder, []
    names = sorted(n for n in os.listdir(folder) if n.startswith("zoo-") and n.endswith(".npz"))
    return folder, [(n, os.path.getsize(os.path.join(folder, n))) for n in names]


def _cached_zoo(args):
    """The zoo from the cache, or None when it is not cached."""
    from ..datasets import make_model_zoo

    with user_errors():  # bad options, unusable cache folder
        try:
            return make_model_zoo(args.preset, image_size=args.image_size,
                                  data_home=args.data_home, random_state=args.seed,
                                  build_if_missing=False, verbose=False)
        except OSError as exc:
            if type(exc) is not OSError:  # "not cached" is a plain OSError
                raise
            return None


def _info(args):
    with user_errors():
        folder, cached = _cached_zoos(args.data_home)
    zoo = _cached_zoo(args)
    print(f"cache folder: {folder}")
    for name, size in cached:
        print(f"  {name}  {size / 2**20:.1f} MiB")
    if not cached:
        print("  (empty)")
    if zoo is None:
        print(f"\nThe preset {args.preset!r} (seed {args.seed}) is not cached; build it "
              f"with:\n  {PROG} zoo build --preset {args.preset}")
    else:
        print()
        print(zoo.DESCR)
    return 0


def _export(zoo, args):
    from PIL import Image
    from tqdm.auto import tqdm

    out = args.folder
    if os.path.isdir(out) and os.listdir(out) and not args.force:
        raise CommandError(f"{out!r} is not empty; pass --force to write into it")
    written = 0
    for source in tqdm(zoo.sources, desc="export", unit="source", disable=args.quiet,
                       dynamic_ncols=True):
        idx = np.flatnonzero(zoo.labels == source)[:args.n_images]
        folder = os.path.join(out, source)
        with user_errors():
            os.makedirs(folder, exist_ok=True)
        for k, i in enumerate(idx):
            Image.fromarray(zoo.images[i]).save(os.path.join(folder, f"{k:05d}.png"))
        written += idx.size
    print(f"wrote {written} PNG images of {len(zoo.sources)} sources to {safe(out)}")
    return 0


def run(args):
    from ..datasets import make_model_zoo

    if args.zoo_command == "info":
        return _info(args)
    zoo = _cached_zoo(args)
    if zoo is None:
        # Outside user_errors: a failure while training is a bug to report.
        zoo = make_model_zoo(args.preset, image_size=args.image_size,
                             data_home=args.data_home, random_state=args.seed,
                             verbose=not args.quiet)
    if args.zoo_command == "export":
        return _export(zoo, args)
    n = int(np.sum(zoo.labels == zoo.sources[0]))
    print(f"zoo {zoo.preset!r}: {len(zoo.sources)} sources x {n} images of "
          f"{zoo.image_size}x{zoo.image_size}, cached in {_cached_zoos(args.data_home)[0]}")
    if args.describe:
        print(zoo.DESCR)
    return 0
