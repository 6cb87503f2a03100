"""``skfingerprint attribute``: attribute images to the sources of a model."""

from __future__ import annotations

import numbers

import numpy as np

from .._pipeline import final_step
from ._common import collect_images, load_folder, load_model, spectrum_like
from ._errors import PROG, CommandError, user_errors
from ._output import print_attribution, print_json
from ._parser import examples, positive_int, reencode_spec, wrap


def add_parser(sub, common):
    p = sub.add_parser(
        "attribute", parents=[common],
        help="attribute images to the sources of a model",
        description=wrap(
            "Attribute the images of folders (searched recursively) or files, "
            "taken together as one bag, or in bags of --bag-size in sorted order "
            "(the last bag may be smaller). For each bag print the predicted "
            "source with its probability and score (the classifier's "
            "decision_function for that source), the runner-up, and the files. "
            "With a model fitted with --reject-rate, a bag far from every source is "
            "answered 'unknown' (the runner-up column then shows the nearest "
            "source); --json gives each bag's unknown_score, the threshold and its "
            "nearest known sources with their distances by the model's fingerprints. "
            "With --relatives ROOT, each bag also gets its nearest relatives among "
            "the sources of ROOT (one folder per known source) by the residual "
            "spectrum: for a bag of an unknown generator, the known models it is "
            "most likely derived from (the spectra place a left-out generator next "
            "to a relative far more often than the fingerprints do)."),
        epilog=examples("""
            skfingerprint attribute model.skfp suspicious/             # the folder as one bag
            skfingerprint attribute model.skfp suspicious/ --bag-size 16
            skfingerprint attribute model.skfp a.png b.png c.png --json | jq '.bags[0].source'
            skfingerprint attribute model.skfp unknown/ --relatives zoo-images/ --json"""),
    )
    p.add_argument("model", help="model file made by 'skfingerprint fit'")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--bag-size", type=positive_int, default=None,
                   help="images per bag (default: all images in one bag)")
    p.add_argument("--reencode", type=reencode_spec, default=None, metavar="CODEC",
                   help="re-encode the images as the model's training images were "
                        "(the --reencode given to 'fit', e.g. jpeg:90)")
    p.add_argument("--relatives", metavar="ROOT", default=None,
                   help="folder with one sub-folder of images per known source (a few "
                        "images each are enough): list "
                        "each bag's nearest relatives among them by residual spectrum")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=run)
    return p


# known sources listed per bag by --json, nearest first
_N_NEAREST = 3
# the library parameters this command has options for (error notes name only these)
_OPTIONS = ("bag_size", "reencode")


def _class_scores(classifier, Z):
    """``decision_function`` as one column per class (scikit-learn's binary
    convention, one value per bag for 2 classes, becomes ``[-d, d]``)."""
    if not hasattr(classifier, "decision_function"):
        return classifier.predict_proba(Z)
    S = np.asarray(classifier.decision_function(Z), dtype=float)
    return np.column_stack([-S, S]) if S.ndim == 1 else S


def _fingerprints(model, X):
    """The model's features of whole bags ``X``: every image of a query bag is
    pooled, whatever the ``bag_size`` the encoder pools in training."""
    Z = model.steps[0][1].transform(X, whole_bags=True)
    return model[1:-1].transform(Z) if len(model) > 2 else Z


def _predict(model, bags):
    """The classifier's answers for bags of paths (grouped by bag length)."""
    classifier = final_step(model)
    out = {key: [None] * len(bags)
           for key in ("pred", "proba", "score", "unknown", "distances")}
    groups = {}
    for i, bag in enumerate(bags):
        groups.setdefault(len(bag), []).append(i)
    for n, idx in groups.items():
        X = np.array([bags[i] for i in idx], dtype=object).reshape(len(idx), n)
        with user_errors(options=_OPTIONS):
            Z = _fingerprints(model, X)
        answers = {"pred": classifier.predict(Z), "proba": classifier.predict_proba(Z),
                   "score": _class_scores(classifier, Z),
                   "unknown": (classifier.unknown_score(Z)
                               if hasattr(classifier, "unknown_score")
                               else np.full(len(idx), np.nan)),
                   "distances": (classifier.source_distances(Z)
                                 if hasattr(classifier, "source_distances")
                                 else [None] * len(idx))}
        for key, values in answers.items():
            for row, i in enumerate(idx):
                out[key][i] = values[row]
    return out


def _result(i, bag, answers, classes, threshold):
    proba = answers["proba"][i]
    best, *rest = np.argsort(proba)[::-1].tolist()
    second = rest[0] if rest else None
    return {
        "bag": i, "n_images": len(bag), "source": str(answers["pred"][i]),
        "nearest_source": classes[best], "unknown_score": float(answers["unknown"][i]),
        "threshold": threshold, "probability": float(proba[best]),
        "score": float(answers["score"][i][best]),
        "runner_up": None if second is None else classes[second],
        "runner_up_probability": None if second is None else float(proba[second]),
        "probabilities": {c: float(p) for c, p in zip(classes, proba)},
        "nearest_known_sources": _nearest_known(answers["distances"][i], classes),
        "files": list(bag),
    }


def _probability_calibration(classifier):
    """How the model's probabilities were calibrated, for --json: the method
    (``"cross-fitted"`` or ``"held-out"`` for models of this version's
    ``fit``; ``"leave-one-out"`` on the training bags, overconfident, for
    older ones), the bags it used and the temperature."""
    temperature = getattr(classifier, "temperature_", None)
    if temperature is None:
        return None
    info = getattr(classifier, "temperature_calibration_", None)
    if not isinstance(info, dict):  # a model file written before it was recorded
        fixed = getattr(classifier, "temperature", "auto") != "auto"
        info = {"method": "fixed" if fixed else "leave-one-out", "n_bags": None}
    n_bags = info.get("n_bags")
    return {"method": str(info.get("method")),
            "n_bags": int(n_bags) if isinstance(n_bags, numbers.Integral) else None,
            "temperature": float(temperature)}


def _nearest_known(distances, classes, n=_N_NEAREST):
    """The ``n`` known sources nearest to a bag, with their distances (None
    for a classifier without fingerprints)."""
    if distances is None:
        return None
    order = np.argsort(distances, kind="stable")[:n]
    return [{"source": classes[j], "distance": float(distances[j])} for j in order]


def _relatives(args, encoder, bags):
    """Each bag's nearest known relatives by residual spectrum (``--relatives``)."""
    from .. import make_bags
    from ..cluster import NearestRelatives
    data = load_folder(args.relatives, what="--relatives folder", context="--relatives",
                       options=(), image_size=encoder.image_size)
    labels = np.asarray(data.labels)
    sources, counts = np.unique(labels, return_counts=True)
    if sources.size < 2:
        raise CommandError(f"--relatives {args.relatives!r} holds one source; give the "
                           "folder of all the known sources")
    # a source's description is the mean over its bags, so the reference bags
    # need not match the query's: bags of the model's size, or of the smallest
    # source's images when it has fewer (every source gives as many disjoint
    # bags as it can)
    bag_size = min(int(encoder.bag_size or counts.min()), int(counts.min()))
    with user_errors("--relatives", options=()):
        X, y = make_bags(data.paths, labels, bag_size=bag_size, random_state=0)
    with user_errors(options=_OPTIONS):
        rel = NearestRelatives(spectrum_like(encoder)).fit(X, y)
        found = [rel.relatives(np.array([bag], dtype=object)) for bag in bags]
    return [[{"source": str(s), "distance": d} for s, d in row] for row in found]


def run(args):
    model, encoder = load_model(args.model)
    if model is encoder or not hasattr(model, "predict_proba"):
        raise CommandError(f"{args.model!r} has no classifier to attribute with; make "
                           f"the model with '{PROG} fit'")
    files = collect_images(args.paths)
    # the images read: the user's files, or their re-encoded copies (the
    # output always names the user's files)
    read = files
    if args.reencode is not None:
        from ..datasets import reencoded_copies

        with user_errors(options=_OPTIONS):
            read = reencoded_copies(files, args.reencode).tolist()
    size = args.bag_size or len(files)
    bags = [read[i:i + size] for i in range(0, len(read), size)]
    shown = [files[i:i + size] for i in range(0, len(files), size)]
    classifier = final_step(model)
    answers = _predict(model, bags)
    classes = [str(c) for c in classifier.classes_]
    threshold = getattr(classifier, "threshold_", None)
    threshold = None if threshold is None or np.isinf(threshold) else float(threshold)
    results = [_result(i, bag, answers, classes, threshold) for i, bag in enumerate(shown)]
    if args.relatives is not None:
        for result, relatives in zip(results, _relatives(args, encoder, bags)):
            result["nearest_relatives"] = relatives
    if args.json:
        guarantee = (classifier.rejection_guarantee()
                     if threshold is not None and hasattr(classifier, "rejection_guarantee")
                     else None)
        print_json({"model": args.model, "reencode": args.reencode,
                    "rejection_guarantee": guarantee,
                    "probability_calibration": _probability_calibration(classifier),
                    "bags": results})
    else:
        print_attribution(results, classes,
                          str(getattr(classifier, "unknown_label", "unknown")))
    return 0
