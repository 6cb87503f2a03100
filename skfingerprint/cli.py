"""The ``skfingerprint`` command.

Sub-commands::

    skfingerprint demo        the main job on the built-in data, with a report
    skfingerprint zoo         build, describe or export the model zoo
    skfingerprint fit         train on a folder of images, save the model
    skfingerprint attribute   attribute images to the sources of a model
    skfingerprint families    cluster the sources of a folder into families

Mistakes in the use of the command (a missing folder, an empty folder, a file
that is not a model) print one line ``skfingerprint: error: ...`` and exit
with status 2; genuine bugs still show a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
import time
import warnings

import numpy as np

__all__ = ["main"]

PROG = "skfingerprint"


class CommandError(Exception):
    """A mistake of the user, reported in one line with exit status 2."""


@contextlib.contextmanager
def _user_errors(context=None):
    """Turn the library's input-validation errors into :class:`CommandError`.

    Only wrap calls whose errors come from what the user gave (paths, files,
    options): anything raised elsewhere is a bug and keeps its traceback.
    """
    try:
        yield
    except CommandError:
        raise
    except (ValueError, TypeError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            message = f"{exc.strerror}: {exc.filename!r}"
        raise CommandError(f"{context}: {message}" if context else message) from exc


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _import_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise CommandError(
            "plotting needs matplotlib: pip install 'skfingerprint[plots]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a number strictly between 0 and 1, got {text!r}")
    return value


def _seed(text):
    value = _non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(
            f"expected a seed between 0 and 2**32 - 1, got {text!r}"
        )
    return value


def _existing_folder(path, what="folder"):
    if not os.path.exists(path):
        raise CommandError(f"{what} {path!r} does not exist")
    if not os.path.isdir(path):
        raise CommandError(f"{what} {path!r} is not a folder")
    return path


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------


def _load_model(path):
    """Load a saved Pipeline; return (model, encoder)."""
    from sklearn.pipeline import Pipeline

    from . import SetFingerprintEncoder, load

    if not os.path.exists(path):
        raise CommandError(f"model file {path!r} does not exist")
    with _user_errors():
        model = load(path)
    if isinstance(model, Pipeline):
        encoder = model.steps[0][1]
    else:
        encoder = model
    if not isinstance(encoder, SetFingerprintEncoder):
        raise CommandError(
            f"{path!r} holds a {type(model).__name__}, not a model made by "
            f"'{PROG} fit' (a Pipeline that starts with a SetFingerprintEncoder)"
        )
    return model, encoder


def _transform(encoder, X, *, desc, verbose, chunk=64):
    """``encoder.transform`` in chunks of bags, with a progress bar."""
    from tqdm.auto import tqdm

    if len(X) <= chunk:
        return encoder.transform(X)
    parts = []
    for start in tqdm(range(0, len(X), chunk), desc=desc, unit="chunk",
                      disable=not verbose, dynamic_ncols=True):
        parts.append(encoder.transform(X[start:start + chunk]))
    return np.concatenate(parts)


@contextlib.contextmanager
def _cli_names(names):
    """Speak in command-line options in the messages of ``CommandError``."""
    try:
        yield
    except CommandError as exc:
        message = str(exc)
        for python, option in names.items():
            message = message.replace(python, option)
        raise CommandError(message) from exc.__cause__


def _folder_bags(root, *, image_size, bag_size, seed, layout="auto"):
    """Paths of a folder tree made into disjoint bags of ``bag_size``."""
    from . import make_bags
    from .datasets import load_image_folder

    _existing_folder(root)
    try:
        with _user_errors():
            data = load_image_folder(root, layout=layout, image_size=image_size)
    except CommandError as exc:
        # Speak in command-line options rather than in Python arguments.
        message = str(exc).replace(
            "Pass image_size=(height, width) (or an int)", "Pass --image-size N")
        raise CommandError(message) from exc.__cause__
    sources, counts = np.unique(data.labels, return_counts=True)
    small = sources[counts < bag_size]
    if small.size:
        raise CommandError(
            f"sources with fewer images than one bag of {bag_size}: "
            f"{', '.join(f'{s} ({c})' for s, c in zip(sources, counts) if c < bag_size)}; "
            "lower --bag-size or add images"
        )
    with _user_errors():
        X, y = make_bags(data.paths, data.labels, bag_size=bag_size, random_state=seed)
    return data, X, y


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


def _cmd_demo(args):
    from ._report import run_demo

    _import_pyplot()
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CommandError(f"--out {args.out!r} is a file, not a folder")
    with _user_errors("cannot create the report folder"):
        os.makedirs(args.out, exist_ok=True)
    run_demo(args.out, quick=args.quick, data=args.data, random_state=args.seed,
             data_home=args.data_home, device=args.device, n_threads=args.threads,
             verbose=not args.quiet)
    return 0


# ---------------------------------------------------------------------------
# zoo
# ---------------------------------------------------------------------------


def _cached_zoos(data_home):
    from .datasets import get_data_home

    folder = os.path.join(get_data_home(data_home), "model_zoo")
    if not os.path.isdir(folder):
        return folder, []
    names = sorted(n for n in os.listdir(folder) if n.startswith("zoo-") and n.endswith(".npz"))
    return folder, [(n, os.path.getsize(os.path.join(folder, n))) for n in names]


def _cmd_zoo(args):
    from .datasets import make_model_zoo

    if args.zoo_command == "info":
        with _user_errors():
            folder, cached = _cached_zoos(args.data_home)
            try:
                zoo = make_model_zoo(args.preset, image_size=args.image_size,
                                     data_home=args.data_home, random_state=args.seed,
                                     build_if_missing=False, verbose=False)
            except OSError as exc:
                if type(exc) is not OSError:  # "not cached" is a plain OSError
                    raise
                zoo = None
        print(f"cache folder: {folder}")
        if cached:
            for name, size in cached:
                print(f"  {name}  {size / 2**20:.1f} MiB")
        else:
            print("  (empty)")
        if zoo is None:
            print(f"\nThe preset {args.preset!r} (seed {args.seed}) is not cached; build it "
                  f"with:\n  {PROG} zoo build --preset {args.preset}")
        else:
            print()
            print(zoo.DESCR)
        return 0

    kw = {"image_size": args.image_size, "data_home": args.data_home,
          "random_state": args.seed}
    with _user_errors():  # bad options, unusable cache folder
        try:
            zoo = make_model_zoo(args.preset, build_if_missing=False, verbose=False, **kw)
        except OSError as exc:
            if type(exc) is not OSError:  # "not cached" is a plain OSError
                raise
            zoo = None
    if zoo is None:
        # Outside _user_errors: a failure while training is a bug to report.
        zoo = make_model_zoo(args.preset, verbose=not args.quiet, **kw)
    if args.zoo_command == "build":
        n = int(np.sum(zoo.labels == zoo.sources[0]))
        print(f"zoo {zoo.preset!r}: {len(zoo.sources)} sources x {n} images of "
              f"{zoo.image_size}x{zoo.image_size}, cached in "
              f"{_cached_zoos(args.data_home)[0]}")
        if args.describe:
            print(zoo.DESCR)
        return 0

    # export
    from PIL import Image
    from tqdm.auto import tqdm

    out = args.folder
    if os.path.isdir(out) and os.listdir(out) and not args.force:
        raise CommandError(f"{out!r} is not empty; pass --force to write into it")
    per_source = args.n_images
    written = 0
    for source in tqdm(zoo.sources, desc="export", unit="source", disable=args.quiet,
                       dynamic_ncols=True):
        idx = np.flatnonzero(zoo.labels == source)
        if per_source is not None:
            idx = idx[:per_source]
        folder = os.path.join(out, source)
        with _user_errors():
            os.makedirs(folder, exist_ok=True)
        for k, i in enumerate(idx):
            Image.fromarray(zoo.images[i]).save(os.path.join(folder, f"{k:05d}.png"))
        written += idx.size
    print(f"wrote {written} PNG images of {len(zoo.sources)} sources to {out}")
    return 0


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------


def _cmd_fit(args):
    from sklearn.pipeline import Pipeline

    from . import SetFingerprintEncoder, save
    from .classifiers import HeldOutRejectionClassifier, NearestFingerprintClassifier

    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        raise CommandError(f"the folder of the output file, {out_dir!r}, does not exist")
    if os.path.isdir(args.output):
        raise CommandError(
            f"-o {args.output!r} is a folder; give a file path, e.g. "
            f"{os.path.join(args.output, 'model.skfp')!r}"
        )
    image_size = args.image_size
    data, X, y = _folder_bags(args.root, image_size=image_size, bag_size=args.bag_size,
                              seed=args.seed, layout=args.layout)
    if image_size is None:
        # Every image has this size (load_image_folder checked); recording it
        # lets `attribute` resize images of other sizes to it.
        image_size = tuple(int(v) for v in data.sizes[0])
    sources = np.unique(y)
    if sources.size < 2:
        raise CommandError(
            f"{args.root!r} holds one source ({sources[0]!r}); a model needs at least "
            "2 source folders to contrast"
        )
    if not args.quiet:
        print(f"{len(data.paths)} images of {sources.size} sources "
              f"({', '.join(sources[:8])}{', ...' if sources.size > 8 else ''}) "
              f"-> {len(y)} bags of {args.bag_size}")
    epochs = {} if args.epochs is None else {"max_epochs": args.epochs}
    encoder = SetFingerprintEncoder(
        bag_size=args.bag_size, n_bags_per_model=args.bags_per_source,
        image_size=image_size, device=args.device,
        random_state=args.seed, verbose=0 if args.quiet else 1,
        num_workers=args.num_workers, **epochs,
    )
    rejecting = {}
    if args.reject_rate is not None:
        rejecting = {"reject_threshold": "auto", "false_rejection_rate": args.reject_rate}
    model = Pipeline([("fingerprint", encoder),
                      ("classify", NearestFingerprintClassifier(**rejecting))])

    import torch

    start = time.perf_counter()
    threads = torch.get_num_threads()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        with _cli_names({"calibration_size=": "--calibration ",
                         "calibration_size": "--calibration"}), _user_errors():
            if rejecting:
                # the threshold from bags that neither the encoder nor the
                # classifier saw; then their features join the fingerprints
                held_out = HeldOutRejectionClassifier(
                    model, calibration_size=args.calibration, random_state=args.seed)
                model = held_out.fit(X, y).estimator_
                encoder = model.steps[0][1]
                n_calibration = held_out.calibration_indices_.size
            else:
                model.fit(X, y)
    finally:
        torch.set_num_threads(threads)
    with _user_errors():
        save(model, args.output)
    if not args.quiet:
        if rejecting:
            print(f"rejection threshold {model.steps[-1][1].threshold_:.4g} (distance), "
                  f"calibrated on {n_calibration} held-out bags for a "
                  f"false-rejection rate of {args.reject_rate}")
        print(f"trained in {time.perf_counter() - start:.0f} s on {encoder.device_}; "
              f"saved to {args.output}")
    return 0


# ---------------------------------------------------------------------------
# attribute
# ---------------------------------------------------------------------------


def _collect_images(paths):
    from ._io import IMAGE_EXTENSIONS

    files = []
    for path in paths:
        if not os.path.exists(path):
            raise CommandError(f"{path!r} does not exist")
        if os.path.isdir(path):
            found = []
            for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found += [os.path.join(dirpath, f) for f in filenames
                          if not f.startswith(".")
                          and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS]
            if not found:
                raise CommandError(
                    f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in the folder {path!r}"
                )
            files += sorted(found)
        else:
            files.append(path)
    return files


def _cmd_attribute(args):
    model, encoder = _load_model(args.model)
    if model is encoder or not hasattr(model, "predict_proba"):
        raise CommandError(
            f"{args.model!r} has no classifier to attribute with; make the model with "
            f"'{PROG} fit'"
        )
    files = _collect_images(args.paths)
    size = len(files) if args.bag_size is None else args.bag_size
    bags = [files[i:i + size] for i in range(0, len(files), size)]
    # Pool every image of a bag (the model's bag_size only sets how many
    # images a bag has in training).
    encoder.set_params(bag_size=None)
    classifier = model.steps[-1][1]
    results = []
    groups = {}
    for i, bag in enumerate(bags):
        groups.setdefault(len(bag), []).append(i)
    probas = [None] * len(bags)
    scores = [None] * len(bags)
    unknown = [np.nan] * len(bags)
    for n, idx in groups.items():
        X = np.array([bags[i] for i in idx], dtype=object).reshape(len(idx), n)
        with _user_errors():
            Z = _transform(encoder, X, desc="attribute", verbose=not args.quiet and not args.json)
        P = classifier.predict_proba(Z)
        S = classifier.decision_function(Z) if hasattr(classifier, "decision_function") else P
        U = classifier.unknown_score(Z) if hasattr(classifier, "unknown_score") else None
        for row, i in enumerate(idx):
            probas[i], scores[i] = P[row], S[row]
            if U is not None:
                unknown[i] = U[row]
    classes = [str(c) for c in classifier.classes_]
    threshold = float(getattr(classifier, "threshold_", np.inf))
    unknown_label = str(getattr(classifier, "unknown_label", "unknown"))
    for i, bag in enumerate(bags):
        order = np.argsort(probas[i])[::-1]
        best = int(order[0])
        second = int(order[1]) if len(order) > 1 else None
        rejected = bool(unknown[i] > threshold)
        results.append({
            "bag": i,
            "n_images": len(bag),
            "source": unknown_label if rejected else classes[best],
            "nearest_source": classes[best],
            "unknown_score": float(unknown[i]),
            "threshold": None if np.isinf(threshold) else threshold,
            "probability": float(probas[i][best]),
            "score": float(scores[i][best]),
            "runner_up": None if second is None else classes[second],
            "runner_up_probability": None if second is None else float(probas[i][second]),
            "probabilities": {c: float(p) for c, p in zip(classes, probas[i])},
            "files": list(bag),
        })
    if args.json:
        json.dump({"model": args.model, "bags": results}, sys.stdout, indent=2)
        print()
        return 0
    width = max([len(c) for c in classes] + [len("runner-up"), len(unknown_label)])
    print(f"{'bag':>4}  {'images':>6}  {'source':<{width}}  {'prob':>5}  {'score':>6}  "
          f"{'runner-up':<{width}}  {'prob':>5}  files")
    for r in results:
        names = [os.path.basename(f) for f in r["files"]]
        shown = ", ".join(names[:3]) + (f", ... ({len(names) - 3} more)" if len(names) > 3 else "")
        ru = r["runner_up"] or "-"
        rp = "-" if r["runner_up_probability"] is None else f"{r['runner_up_probability']:.3f}"
        if r["source"] != r["nearest_source"]:  # rejected: show the nearest instead
            ru, rp = r["nearest_source"], f"{r['probability']:.3f}"
        print(f"{r['bag'] + 1:>4}  {r['n_images']:>6}  {r['source']:<{width}}  "
              f"{r['probability']:.3f}  {r['score']:>6.3f}  {ru:<{width}}  {rp:>5}  {shown}")
    return 0


# ---------------------------------------------------------------------------
# families
# ---------------------------------------------------------------------------


def _cmd_families(args):
    from scipy.cluster.hierarchy import leaves_list

    from .cluster import cluster_families, fingerprint_distances
    from .cluster._families import _average_linkage

    _, encoder = _load_model(args.model)
    bag_size = args.bag_size or encoder.bag_size
    if bag_size is None:
        raise CommandError("the model does not record a bag size; pass --bag-size")
    data, X, y = _folder_bags(args.root, image_size=encoder.image_size, bag_size=bag_size,
                              seed=args.seed)
    sources, counts = np.unique(y, return_counts=True)
    if sources.size < 2:
        raise CommandError(f"{args.root!r} holds one source; families need at least 2")
    few = sources[counts < 2]
    if few.size:
        raise CommandError(
            f"sources with fewer than 2 bags of {bag_size} images: {', '.join(few)}; "
            "lower --bag-size or add images"
        )
    if args.n_families is not None and args.n_families > sources.size:
        raise CommandError(
            f"--n-families {args.n_families} is more than the {sources.size} sources"
        )
    Z = _transform(encoder, X, desc="fingerprints", verbose=not args.quiet and not args.json)
    D = fingerprint_distances(Z, y)
    link = _average_linkage(D)
    order = leaves_list(link)
    clusters = (cluster_families(Z, y, n_families=args.n_families)
                if args.n_families is not None else None)
    masked = D + np.diag(np.full(len(sources), np.inf))
    nearest = masked.argmin(axis=1)
    rows = [{"source": str(sources[i]),
             "nearest": str(sources[nearest[i]]),
             "distance": float(D[i, nearest[i]]),
             **({"family": int(clusters[sources[i]])} if clusters is not None else {})}
            for i in order]
    if args.plot:
        plt = _import_pyplot()
        from .visualization import FamilyDendrogramDisplay

        fig, ax = plt.subplots(figsize=(6, 0.35 * len(sources) + 1.5), dpi=120)
        FamilyDendrogramDisplay(link, display_labels=sources).plot(ax=ax)
        ax.set_title(f"{len(sources)} sources of {os.path.basename(os.path.abspath(args.root))}"
                     f", {len(y)} bags of {bag_size}", fontsize=9)
        fig.tight_layout()
        with _user_errors():
            fig.savefig(args.plot)
        plt.close(fig)
    if args.json:
        json.dump({"sources": rows, "distances": D.tolist(),
                   "labels": [str(s) for s in sources], "plot": args.plot},
                  sys.stdout, indent=2)
        print()
        return 0
    width = max([len(s) for s in sources] + [len("nearest source")])
    head = f"{'source':<{width}}  {'nearest source':<{width}}  distance"
    if clusters is not None:
        head += "  family"
    print(f"{len(sources)} sources, {len(y)} bags of {bag_size} images, in dendrogram order:")
    print(head)
    for r in rows:
        line = f"{r['source']:<{width}}  {r['nearest']:<{width}}  {r['distance']:8.3f}"
        if clusters is not None:
            line += f"  {r['family']:>6d}"
        print(line)
    if args.plot:
        print(f"dendrogram: {args.plot}")
    return 0


# ---------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------


def _wrap(text):
    """Wrap each paragraph of a description to the terminal width."""
    import shutil

    width = min(shutil.get_terminal_size((80, 24)).columns, 100) - 2
    return "\n\n".join(textwrap.fill(par, width) for par in text.split("\n\n"))


def _examples(text):
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip("\n"), "  ")


class _Parser(argparse.ArgumentParser):
    """argparse, with the same one-line error style for every sub-command."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{PROG}: error: {message}\n")


def build_parser():
    """The ``argparse`` parser of the ``skfingerprint`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    from . import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description=_wrap("Fingerprint generative models from bags (sets) of their images: "
                     "train a set encoder, attribute images to their source, cluster "
                     "sources into families."),
        epilog=_examples("""
            skfingerprint demo --quick            # 2-minute tour, report in ./skfingerprint-demo
            skfingerprint zoo export zoo-images   # the built-in zoo as a folder of PNGs
            skfingerprint fit zoo-images --bag-size 16 -o zoo.skfp
            skfingerprint attribute zoo.skfp zoo-images/gan_ns_tconv --bag-size 16
            skfingerprint families zoo.skfp zoo-images --plot families.png

            Run 'skfingerprint COMMAND --help' for the options of a command."""),
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or chatter")

    # demo
    p = sub.add_parser(
        "demo", parents=[common], formatter_class=fmt,
        help="the main job on the built-in data, with a report",
        description=_wrap(
            "Build (or load) the small model zoo, train the set encoder and score "
            "10-fold attribution with an MLP, compute the decorrelation score and "
            "cluster the sources into families; print a table and write report.md "
            "with the correlation matrix, the dendrogram and a grid of sample images.\n\n"
            "From scratch on a 2-core CPU: under 10 minutes (the zoo is built once, "
            "then cached); --quick: under 2 minutes (the synthetic set unless the "
            "zoo is already cached)."),
        epilog=_examples("""
            skfingerprint demo                      # the full demo, ./skfingerprint-demo/report.md
            skfingerprint demo --quick --out /tmp/demo
            skfingerprint demo --data synthetic     # no zoo: simulated fingerprints"""),
    )
    p.add_argument("--quick", action="store_true",
                   help="fewer epochs and smaller bags (< 2 min on a 2-core CPU)")
    p.add_argument("--out", default="skfingerprint-demo", metavar="DIR",
                   help="folder of the report (default: %(default)s)")
    p.add_argument("--data", choices=["auto", "zoo", "synthetic"], default="auto",
                   help="the images: 'auto' (default) is the zoo, or with --quick the zoo "
                        "if cached and else the synthetic set")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    p.add_argument("--data-home", metavar="DIR",
                   help="cache folder of the zoo (default: $SKFINGERPRINT_DATA or "
                        "~/skfingerprint_data)")
    p.add_argument("--device", default="auto", help="torch device (default: auto)")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="torch CPU threads for training (default: 1, fastest for the "
                        "demo's tiny networks on a busy CPU)")
    p.set_defaults(func=_cmd_demo)

    # zoo
    p = sub.add_parser(
        "zoo", formatter_class=fmt,
        help="build, describe or export the model zoo",
        description=_wrap(
            "The model zoo: small VAEs, GANs, flows and score-based models really "
            "trained on CPU on photo crops, plus real crops; built once and cached."),
        epilog=_examples("""
            skfingerprint zoo info                       # what is cached, and where
            skfingerprint zoo build                      # the small preset (~2-4 min)
            skfingerprint zoo build --preset default     # 32x32, 2000 images per source
            skfingerprint zoo export zoo-images --n-images 64
                                                         # zoo-images/<source>/00000.png ..."""),
    )
    zsub = p.add_subparsers(dest="zoo_command", metavar="ACTION", parser_class=_Parser)
    zsub.required = True
    zoo_common = argparse.ArgumentParser(add_help=False, parents=[common])
    zoo_common.add_argument("--preset", choices=["small", "default"], default="small",
                            help="zoo preset (default: small)")
    zoo_common.add_argument("--image-size", type=_positive_int, default=None,
                            help="image side, a power of two (default: the preset's)")
    zoo_common.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    zoo_common.add_argument("--data-home", metavar="DIR", help="cache folder")
    zp = zsub.add_parser(
        "build", parents=[zoo_common], formatter_class=fmt,
        help="build the zoo (or find it in the cache)",
        epilog=_examples("""
            skfingerprint zoo build
            skfingerprint zoo build --preset default --describe"""))
    zp.add_argument("--describe", action="store_true",
                    help="print the description of the models")
    zsub.add_parser(
        "info", parents=[zoo_common], formatter_class=fmt,
        help="describe the cache and a preset",
        epilog=_examples("""
            skfingerprint zoo info
            skfingerprint zoo info --preset default --data-home /data/cache"""))
    zp = zsub.add_parser(
        "export", parents=[zoo_common], formatter_class=fmt,
        help="write the zoo as a folder of PNGs, one sub-folder per source",
        epilog=_examples("""
            skfingerprint zoo export zoo-images
            skfingerprint fit zoo-images --bag-size 16 -o zoo.skfp"""))
    zp.add_argument("folder", help="output folder (created)")
    zp.add_argument("--n-images", type=_positive_int, default=None,
                    help="images per source (default: all)")
    zp.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=_cmd_zoo)

    # fit
    p = sub.add_parser(
        "fit", parents=[common], formatter_class=fmt,
        help="train on a folder of images and save the model",
        description=_wrap(
            "Train a SetFingerprintEncoder followed by a NearestFingerprintClassifier "
            "on ROOT/<source>/... (labels are the folder names; GenImage and "
            "ForenSynths layouts are recognised) and save the Pipeline in the safe "
            "format of skfingerprint.save (loading it cannot run code)."),
        epilog=_examples("""
            skfingerprint fit images/ --bag-size 16 -o model.skfp
            skfingerprint fit images/ --bag-size 8 --epochs 40 --image-size 64 -o model.skfp
            skfingerprint fit images/ --bag-size 32 --device cuda -o model.skfp
            skfingerprint fit images/ --bag-size 16 --reject-rate 0.05 -o model.skfp

            with images/ laid out as
              images/real/0001.png
              images/stylegan2/0001.png
              images/ddpm/run1/0001.png"""),
    )
    p.add_argument("root", help="folder with one sub-folder of images per source")
    p.add_argument("--bag-size", type=_positive_int, required=True,
                   help="images per bag")
    p.add_argument("-o", "--output", required=True, metavar="MODEL",
                   help="model file to write (e.g. model.skfp)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="training epochs (default: the encoder's, 10)")
    p.add_argument("--reject-rate", type=_rate, default=None, metavar="RATE",
                   help="answer 'unknown' for bags far from every source, with the "
                        "threshold set so that about RATE of new bags of known sources "
                        "are rejected (e.g. 0.05); it is calibrated on --calibration "
                        "of the bags, held out from training and enrolled afterwards "
                        "(default: closed set, never 'unknown')")
    p.add_argument("--calibration", type=_rate, default=0.2, metavar="SHARE",
                   help="with --reject-rate: share of each source's bags held out "
                        "from training to calibrate the threshold (default: 0.2)")
    p.add_argument("--image-size", type=_positive_int, default=None,
                   help="decode every image to this square size (centre crop + resize); "
                        "needed when the images differ in size")
    p.add_argument("--bags-per-source", type=_positive_int, default=None,
                   help="draw this many fresh random bags per source every epoch "
                        "(default: the fixed disjoint bags)")
    p.add_argument("--layout", choices=["auto", "per_source", "genimage", "forensynths"],
                   default="auto", help="folder layout (default: auto)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="auto",
                   help="torch device: auto, cpu, cuda, cuda:1, ... (default: auto)")
    p.add_argument("--num-workers", type=_non_negative_int, default=0,
                   help="image-decoding worker processes (default: 0)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is often faster "
                        "for small images on a busy CPU)")
    p.set_defaults(func=_cmd_fit)

    # attribute
    p = sub.add_parser(
        "attribute", parents=[common], formatter_class=fmt,
        help="attribute images to the sources of a model",
        description=_wrap(
            "Attribute the images of folders (searched recursively) or files, "
            "taken together as one bag, or in bags of --bag-size in sorted order "
            "(the last bag may be smaller). For each bag print the predicted "
            "source with its probability and score, the runner-up, and the files. "
            "With a model fitted with --reject-rate, a bag far from every source is "
            "answered 'unknown' (the runner-up column then shows the nearest "
            "source); --json gives each bag's unknown_score and the threshold."),
        epilog=_examples("""
            skfingerprint attribute model.skfp suspicious/             # the folder as one bag
            skfingerprint attribute model.skfp suspicious/ --bag-size 16
            skfingerprint attribute model.skfp a.png b.png c.png --json | jq '.bags[0].source'"""),
    )
    p.add_argument("model", help="model file made by 'skfingerprint fit'")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--bag-size", type=_positive_int, default=None,
                   help="images per bag (default: all images in one bag)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=_cmd_attribute)

    # families
    p = sub.add_parser(
        "families", parents=[common], formatter_class=fmt,
        help="cluster the sources of a folder into families",
        description=_wrap(
            "Fingerprint the bags of ROOT/<source>/... with a model's encoder, "
            "compute the distances between sources (1 - mean |correlation| of "
            "their bags with each other's fingerprints), and cluster them by "
            "average linkage. The sources need not be those the model was "
            "trained on."),
        epilog=_examples("""
            skfingerprint families model.skfp images/ --plot families.png
            skfingerprint families model.skfp images/ --n-families 4 --json"""),
    )
    p.add_argument("model", help="model file made by 'skfingerprint fit'")
    p.add_argument("root", help="folder with one sub-folder of images per source")
    p.add_argument("--plot", metavar="PNG", help="draw the dendrogram to this file")
    p.add_argument("--n-families", type=_positive_int, default=None,
                   help="also cut the tree into this many families")
    p.add_argument("--bag-size", type=_positive_int, default=None,
                   help="images per bag (default: the model's)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the bags (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=_cmd_families)
    return parser


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
        which exit through ``SystemExit``).

    Examples
    --------
    >>> from skfingerprint.cli import main
    >>> main(["attribute", "no-such-model.skfp", "img.png"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except CommandError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
