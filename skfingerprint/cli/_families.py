"""``skfingerprint families``: cluster the sources of a folder into families."""

from __future__ import annotations

import os

import numpy as np

from .._atomic import atomic_open
from ._common import check_output_file, folder_bags, import_pyplot, load_model, spectrum_like
from ._errors import CommandError, user_errors
from ._output import print_families, print_json
from ._parser import examples, positive_int, seed, wrap


def add_parser(sub, common):
    p = sub.add_parser(
        "families", parents=[common],
        help="cluster the sources of a folder into families",
        description=wrap(
            "Fingerprint the bags of ROOT/<source>/... with a model's encoder "
            "and compute the distances between sources (1 - mean |correlation| "
            "of their bags with each other's fingerprints; with --metric "
            "euclidean, the mean Euclidean distance, the metric the encoder is "
            "trained on); or, with --features "
            "spectrum, describe the bags by their residual spectra (read as the "
            "model reads images) and take 1 - the correlation of the sources' "
            "mean spectra (their Euclidean distance with --metric euclidean). "
            "Cluster the sources by average linkage. The sources "
            "need not be those the model was trained on. The encoder's "
            "fingerprints are trained to tell sources apart; the spectra, which "
            "need no training, find shared parts (samplers of one network, "
            "models on one decoder, fine-tunes) more often."),
        epilog=examples("""
            skfingerprint families model.skfp images/ --plot families.png
            skfingerprint families model.skfp images/ --n-families 4 --json
            skfingerprint families model.skfp images/ --metric euclidean --n-families 4
            skfingerprint families model.skfp images/ --features spectrum --plot lineage.png"""),
    )
    p.add_argument("model", help="model file made by 'skfingerprint fit'")
    p.add_argument("root", help="folder with one sub-folder of images per source")
    p.add_argument("--plot", metavar="PNG",
                   help="draw the dendrogram to this file (an existing file is only "
                        "replaced with --force)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --plot file")
    p.add_argument("--n-families", type=positive_int, default=None,
                   help="also cut the tree into this many families")
    p.add_argument("--features", choices=("encoder", "spectrum"), default="encoder",
                   help="what describes a bag: the model's encoder (default) or the "
                        "residual spectrum")
    p.add_argument("--metric", choices=("correlation", "euclidean"), default="correlation",
                   help="how bags and fingerprints are compared (default: correlation, "
                        "the paper's)")
    p.add_argument("--bag-size", type=positive_int, default=None,
                   help="images per bag (default: the model's)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the bags (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=run)
    return p


def _check_sources(args, y, bag_size):
    sources, counts = np.unique(y, return_counts=True)
    if sources.size < 2:
        raise CommandError(f"{args.root!r} holds one source; families need at least 2")
    if np.any(counts < 2):
        raise CommandError(
            f"sources with fewer than 2 bags of {bag_size} images: "
            f"{', '.join(sources[counts < 2])}; lower --bag-size or add images")
    if args.n_families is not None and args.n_families > sources.size:
        raise CommandError(
            f"--n-families {args.n_families} is more than the {sources.size} sources")
    return sources


# The distance axis of the spectra's distances (NearestRelatives: between the
# sources' mean spectra); the encoder's are fingerprint_distances', named by
# the display itself.
_SPECTRUM_AXIS = {
    "correlation": "distance (1 - correlation of the mean spectra)",
    "euclidean": "Euclidean distance of the mean spectra",
}


def _plot(path, link, sources, title, args):
    from ..visualization import FamilyDendrogramDisplay

    plt = import_pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(sources) + 1.5), dpi=120)
    encoder = args.features == "encoder"
    FamilyDendrogramDisplay(link, display_labels=sources,
                            metric=args.metric if encoder else None).plot(ax=ax)
    if not encoder:
        ax.set_xlabel(_SPECTRUM_AXIS[args.metric])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    # the format from the extension (PNG without one); written atomically: a
    # failure leaves an existing file as it was
    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    try:
        with user_errors(), atomic_open(path) as f:
            fig.savefig(f, format=fmt)
    finally:
        plt.close(fig)


def _check_plot(args):
    """Refuse, before any work, a --plot file that exists (unless --force) or
    could not be written."""
    folder = os.path.dirname(os.path.abspath(args.plot))
    if not os.path.isdir(folder):
        raise CommandError(f"--plot {args.plot!r}: No such file or directory: the folder "
                           f"{folder!r} does not exist")
    check_output_file(args.plot, option="--plot", force=True)
    if os.path.exists(args.plot) and not args.force:  # a dangling link: nothing lost
        raise CommandError(
            f"--plot {args.plot!r} exists; pass --force to overwrite it, or choose "
            "another file")


def _distances(args, encoder, X, y):
    """Distances between the sources of ``y`` (sorted) by the chosen features."""
    from ..cluster import NearestRelatives, fingerprint_distances

    with user_errors():
        if args.features == "encoder":
            return fingerprint_distances(encoder.transform(X), y, metric=args.metric)
        relatives = NearestRelatives(spectrum_like(encoder), metric=args.metric)
        return relatives.fit(X, y).pairwise_source_distances_


def run(args):
    from scipy.cluster.hierarchy import leaves_list

    from ..cluster import cut_families, family_linkage

    if args.plot:
        _check_plot(args)
    _, encoder = load_model(args.model)
    bag_size = args.bag_size or encoder.bag_size
    if bag_size is None:
        raise CommandError("the model does not record a bag size; pass --bag-size")
    _, X, y = folder_bags(args.root, image_size=encoder.image_size, bag_size=bag_size,
                          seed=args.seed)
    sources = _check_sources(args, y, bag_size)
    D = _distances(args, encoder, X, y)
    link = family_linkage(D)
    clusters = (cut_families(D, n_families=args.n_families)
                if args.n_families is not None else None)
    nearest = (D + np.diag(np.full(len(sources), np.inf))).argmin(axis=1)
    rows = [{"source": str(sources[i]), "nearest": str(sources[nearest[i]]),
             "distance": float(D[i, nearest[i]]),
             **({"family": int(clusters[i])} if clusters is not None else {})}
            for i in leaves_list(link)]
    if args.plot:
        _plot(args.plot, link, sources,
              f"{len(sources)} sources of {os.path.basename(os.path.abspath(args.root))}"
              f", {len(y)} bags of {bag_size}"
              + (", residual spectra" if args.features == "spectrum" else "")
              + (", Euclidean" if args.metric == "euclidean" else ""), args)
    if args.json:
        print_json({"features": args.features, "metric": args.metric, "sources": rows,
                    "distances": D.tolist(), "labels": [str(s) for s in sources],
                    "plot": args.plot})
    else:
        print_families(rows, n_sources=len(sources), n_bags=len(y), bag_size=bag_size,
                       with_families=clusters is not None)
        if args.plot:
            print(f"dendrogram: {args.plot}")
    return 0
