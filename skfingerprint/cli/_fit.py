"""``skfingerprint fit``: train on a folder of images, save the model."""

from __future__ import annotations

import sys
import time

import numpy as np

from .._pipeline import final_step
from .._threads import torch_threads
from ._common import InterruptRecorder, check_output_file, folder_bags
from ._errors import PROG, CommandError, user_errors
from ._output import safe
from ._parser import (
    examples,
    non_negative_int,
    positive_int,
    rate,
    reencode_spec,
    seed,
    wrap,
)


# The default of --bag-size: the bags of the real-world benchmark (patch mode,
# mixed sizes; see the training guide), small enough for a folder of a few
# dozen images per source to give each source several bags.
DEFAULT_BAG_SIZE = 8
# folds of the cross-fitted calibration (HeldOutRejectionClassifier's default)
N_SPLITS = 5
# bags per source that calibration on held-out bags needs (2 train every fold)
MIN_CALIBRATION_BAGS = 3


def add_parser(sub, common):
    p = sub.add_parser(
        "fit", parents=[common],
        help="train on a folder of images and save the model",
        description=wrap(
            "Train a SetFingerprintEncoder followed by a NearestFingerprintClassifier "
            "on ROOT/<source>/... (labels are the folder names; GenImage and "
            "ForenSynths layouts are recognised) and save the Pipeline in the safe "
            "format of skfingerprint.save (loading it cannot run code).\n\n"
            "The output is checked before training: its folder must be writable, "
            "and an existing file that is not a model is only replaced with "
            "--force. A symbolic link is written through (the file it points to "
            "is replaced). Ctrl-C stops training and exits with status 130 without "
            "saving, unless --save-on-interrupt is given."),
        epilog=examples("""
            skfingerprint fit images/ -o model.skfp
            skfingerprint fit images/ --bag-size 16 -o model.skfp
            skfingerprint fit images/ --bag-size 8 --epochs 40 --image-size 64 -o model.skfp
            skfingerprint fit images/ --bag-size 32 --device cuda -o model.skfp
            skfingerprint fit images/ --bag-size 16 --reject-rate 0.05 -o model.skfp
            skfingerprint fit images/ --bag-size 16 --groups groups.csv -o model.skfp

            with images/ laid out as
              images/real/0001.png
              images/stylegan2/0001.png
              images/ddpm/run1/0001.png"""),
    )
    p.add_argument("root", help="folder with one sub-folder of images per source")
    p.add_argument("--bag-size", type=positive_int, default=DEFAULT_BAG_SIZE,
                   help="images per bag: each source's images are grouped into disjoint "
                        "bags of this size, and the model pools this many images into a "
                        f"fingerprint (default: {DEFAULT_BAG_SIZE}; a source needs at "
                        "least 2 bags)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL",
                   help="model file to write (e.g. model.skfp)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing -o file even if it is not a model file")
    p.add_argument("--save-on-interrupt", action="store_true",
                   help="on Ctrl-C after an epoch, save the partly trained model to -o "
                        "(the exit status is 130 either way)")
    _add_training_options(p)
    _add_data_options(p)
    p.set_defaults(func=run)
    return p


def _add_training_options(p):
    p.add_argument("--epochs", type=non_negative_int, default=None,
                   help="training epochs (default: the encoder's, 10); 0 with "
                        "--pretrained trains nothing (the shipped fingerprint space as "
                        "it is)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--pretrained", dest="weights", action="store_const",
                       const="pretrained", default=None,
                       help="start from the pretrained weights that ship with "
                            "skfingerprint instead of random weights; fine-tuned for "
                            "--epochs")
    start.add_argument("--weights", dest="weights", metavar="NAME",
                       help="as --pretrained, with the shipped weights of this name "
                            "(skfingerprint.encoder.available_weights())")
    p.add_argument("--reject-rate", type=rate, default=None, metavar="RATE",
                   help="answer 'unknown' for bags far from every source, with a "
                        "split-conformal threshold such that at most RATE of new bags of "
                        "known sources are rejected in expectation (e.g. 0.05), "
                        "calibrated on bags held out of training; the score is the "
                        "Mahalanobis distance to the attributed source's bags (default: "
                        "closed set, never 'unknown')")
    p.add_argument("--calibration", type=rate, default=None, metavar="SHARE",
                   help="calibrate the probabilities (and, with --reject-rate, the "
                        "threshold) on this share of each source's bags, held out of "
                        "training (one training; split conformal), instead of scoring "
                        "every bag out of fold (cross-fitting, the default: the encoder "
                        f"is trained {N_SPLITS + 1} times)")
    p.add_argument("--device", default="auto",
                   help="torch device: auto, cpu, cuda, cuda:1, ... (default: auto)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is often faster "
                        "for small images on a busy CPU)")


def _add_data_options(p):
    size = p.add_mutually_exclusive_group()
    size.add_argument("--patch-size", type=non_negative_int, default=None,
                      help="patch mode: every image gives --patches-per-image crops of "
                           "this size (pixels), never resized (default: the library's "
                           "patch_size='auto': whole images when they all have one size "
                           "of at most 64 pixels, else patches of 64, or of the smallest "
                           "side aligned down to 8 if smaller; 0: whole images)")
    p.add_argument("--patches-per-image", type=positive_int, default=8,
                   help="crops per image in patch mode (default: 8)")
    size.add_argument("--image-size", type=positive_int, default=None,
                      help="resize every image to this square size instead of patch mode "
                           "(centre crop + Lanczos): erases much of the generators' "
                           "traces; prefer patch mode")
    p.add_argument("--reencode", type=reencode_spec, default=None, metavar="CODEC",
                   help="pass every image of every source through one codec at load time, "
                        "e.g. jpeg:90, to remove a format confound (your files are not "
                        "changed; give 'attribute' the same --reencode)")
    p.add_argument("--no-augment", action="store_true",
                   help="train without post-processing augmentation (default: random JPEG "
                        "quality 50-100 and noise, so that fingerprints survive "
                        "re-encoding)")
    p.add_argument("--bags-per-source", type=positive_int, default=None,
                   help="draw this many fresh random bags per source every epoch "
                        "(default: as many as the folder makes, their images regrouped "
                        "into new bags every epoch)")
    p.add_argument("--groups", metavar="CSV", default=None,
                   help="a CSV file of 'source,group' lines naming related sources (the "
                        "samplers of one network, the fine-tunes of one model): training "
                        "also draws the bags of one group together, so that 'families' "
                        "follows the groups; a source not listed is a group of its own")
    p.add_argument("--layout", choices=["auto", "per_source", "genimage", "forensynths"],
                   default="auto", help="folder layout (default: auto)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    p.add_argument("--num-workers", type=_workers, default="auto",
                   help="image-decoding worker processes, or 'auto' (default: auto, "
                        "up to 2 for large folders)")


def _workers(text):
    return "auto" if text == "auto" else non_negative_int(text)


def _pipeline(args, mode):
    from sklearn.pipeline import Pipeline

    from .. import SetFingerprintEncoder
    from ..classifiers import NearestFingerprintClassifier

    epochs = {} if args.epochs is None else {"max_epochs": args.epochs}
    augmentation = None if args.no_augment else "auto"
    encoder = SetFingerprintEncoder(
        bag_size=args.bag_size,
        n_bags_per_model="auto" if args.bags_per_source is None else args.bags_per_source,
        device=args.device, random_state=args.seed, augmentation=augmentation,
        verbose=0 if args.quiet else 1, num_workers=args.num_workers,
        weights=args.weights, **mode, **epochs)
    rejecting = {}
    if args.reject_rate is not None:
        # the threshold is always calibrated on held-out bags here, where the
        # Mahalanobis score is the better choice (the open-set guide compares
        # the scores); its in-sample leave-one-out threshold, which the CLI
        # never uses, is unusable
        rejecting = {"reject_threshold": "auto", "false_rejection_rate": args.reject_rate,
                     "rejection_score": "mahalanobis"}
    return Pipeline([("fingerprint", encoder),
                     ("classify", NearestFingerprintClassifier(**rejecting))])


def image_mode(data, args):
    """How images reach the network: ``image_size`` (resize), ``patch_size``
    (patch mode) or whole images of the folder's one size.

    Without --patch-size or --image-size, the library's ``patch_size="auto"``
    rule (:func:`skfingerprint._patches.auto_patch_size`) decides; whole
    images record their size as ``image_size``, so that 'attribute' resizes
    images of other sizes to it.
    """
    from .._patches import auto_patch_size

    if args.image_size is not None:
        return {"image_size": args.image_size}
    patch = args.patch_size
    if patch is None:
        with user_errors():
            patch = auto_patch_size(data.sizes, names=list(data.paths))
    if not patch:  # None ("auto": whole images) or 0 (--patch-size 0)
        return {"image_size": tuple(int(v) for v in data.sizes[0])}
    return {"patch_size": patch, "patches_per_image": args.patches_per_image}


def read_groups(path, sources):
    """The ``--groups`` CSV as a dict source -> group (every source of the
    folder; one not listed is a group of its own, named after it)."""
    import csv

    try:  # utf-8-sig: a byte-order mark (as spreadsheets write) is not part of a name
        with open(path, newline="", encoding="utf-8-sig") as fh:
            # strict: an unclosed quote or a stray one is an error, not a cell
            # that runs on to the end of the file
            rows = [[cell.strip() for cell in row] for row in csv.reader(fh, strict=True)]
    except csv.Error as exc:
        raise CommandError(
            f"cannot read the groups file {safe(path)}: {exc} (an unclosed or misplaced "
            "quote?); write each line as 'source,group', quoting a name in \"...\" "
            "only as a whole") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the groups file {safe(path)}: {exc}") from None
    rows = [row for row in rows if any(row)]
    if rows and [c.lower() for c in rows[0]] == ["source", "group"]:
        rows = rows[1:]  # a header
    from .._bags import value_per_source

    known = {str(s) for s in sources}
    for number, row in enumerate(rows, 1):
        if len(row) != 2 or not all(row):
            raise CommandError(f"{safe(path)}: line {number} is {','.join(row)!r}; each line "
                               "must be 'source,group'")
        if row[0] not in known:
            raise CommandError(
                f"{safe(path)}: source {safe(row[0])} is not a folder of the data set "
                f"(its sources: {', '.join(safe(s) for s in sorted(known))})")
    try:
        groups = value_per_source([r[0] for r in rows], [r[1] for r in rows], what="groups",
                                  items="lines")
    except ValueError as exc:
        raise CommandError(f"{safe(path)}: {safe(str(exc))}") from None
    return {s: groups.get(s, s) for s in sorted(known)}


def _train(model, X, y, args, groups=None):
    """Fit ``model`` and calibrate its probabilities (temperature scaling) and,
    with --reject-rate, its threshold on bags held out of training
    (cross-fitted, or split with --calibration).  ``groups``: source -> group
    (``--groups``).  Returns the fitted Pipeline and the guarantee in words
    (or None)."""
    import warnings

    from ..classifiers import HeldOutRejectionClassifier

    params = {} if groups is None else {
        "fingerprint__groups": np.array([groups[str(s)] for s in y], dtype=object)}
    sources, counts = np.unique(y, return_counts=True)
    if args.reject_rate is None and counts.min() < MIN_CALIBRATION_BAGS:
        few = ", ".join(safe(s) for s in sources[counts < MIN_CALIBRATION_BAGS][:5])
        warnings.warn(
            f"sources with fewer than {MIN_CALIBRATION_BAGS} bags ({few}): no bags "
            "can be held out to calibrate the probabilities, which are fitted on the "
            "training bags and overconfident; give more images per source or a "
            "smaller --bag-size", UserWarning, stacklevel=2)
        return model.fit(X, y, **params), None
    split = {"n_splits": N_SPLITS} if args.calibration is None else {
        "calibration": "split", "calibration_size": args.calibration}
    held_out = HeldOutRejectionClassifier(model, random_state=args.seed, **split).fit(
        X, y, **params)
    guarantee = None if args.reject_rate is None else held_out.rejection_guarantee()
    return held_out.estimator_, guarantee


def _audit(data, args):
    """Warn once when the files' metadata alone tell the sources apart.

    Advisory: files whose metadata cannot be read are skipped, and an audit
    that cannot run is a warning; it never stops fit.
    """
    import warnings

    from ..datasets import audit_confounds

    try:
        audit = audit_confounds(data, on_error="skip", random_state=args.seed)
    except (ValueError, TypeError) as exc:
        warnings.warn(f"the confound audit could not run ({exc}); fitting anyway",
                      UserWarning, stacklevel=2)
        return
    audit.warn()


def run(args):
    from .. import save

    if args.epochs == 0 and args.weights is None:
        raise CommandError("--epochs 0 trains nothing: it uses the shipped pretrained "
                           "space as it is, so give --pretrained too (or train for 1 "
                           "epoch or more).")
    check_output_file(args.output, force=args.force)
    data, X, y = folder_bags(args.root, image_size=args.image_size, bag_size=args.bag_size,
                             seed=args.seed, layout=args.layout, reencode=args.reencode)
    mode = image_mode(data, args)
    sources = np.unique(y)
    if sources.size < 2:
        raise CommandError(f"{args.root!r} holds one source ({str(sources[0])!r}); a model "
                           "needs at least 2 source folders to contrast")
    groups = None if args.groups is None else read_groups(args.groups, sources)
    _audit(data, args)
    if not args.quiet:
        print(f"{len(data.paths)} images of {sources.size} sources "
              f"({', '.join(safe(s) for s in sources[:8])}"
              f"{', ...' if sources.size > 8 else ''}) "
              f"-> {len(y)} bags of {args.bag_size}; " + (
                  f"patch mode, {mode['patches_per_image']} crops of {mode['patch_size']} px "
                  "per image" if "patch_size" in mode else
                  f"images at {mode['image_size'][0]}x{mode['image_size'][1]}"))
    start = time.perf_counter()
    with torch_threads(args.threads), InterruptRecorder() as ctrl_c, user_errors():
        model, guarantee = _train(_pipeline(args, mode), X, y, args, groups)
    if ctrl_c.interrupted and not args.save_on_interrupt:
        print(f"{PROG}: interrupted: the partly trained model was not saved to "
              f"{safe(args.output)} (pass --save-on-interrupt to keep it)", file=sys.stderr)
        return 130
    with user_errors():
        save(model, args.output)
    if not args.quiet:
        if guarantee is not None:
            print(f"rejection threshold {final_step(model).threshold_:.4g}: {guarantee}")
        print(f"trained in {time.perf_counter() - start:.0f} s on "
              f"{model.steps[0][1].device_}; saved to {args.output}")
    return 130 if ctrl_c.interrupted else 0
