"""``skfingerprint audit``: look for format confounds in a folder of images."""

from __future__ import annotations

from ._common import existing_folder
from ._errors import user_errors
from ._output import print_json
from ._parser import examples, seed, wrap


def add_parser(sub, common):
    p = sub.add_parser(
        "audit", parents=[common],
        help="check a folder for format confounds (JPEG vs PNG, quality, sizes)",
        description=wrap(
            "Read the headers of ROOT/<source>/... (never the pixels) and report, per "
            "source, the file formats, JPEG qualities (from the quantisation tables), "
            "chroma subsampling, sizes, colour modes, bit depths and EXIF/ICC. Then "
            "test whether a shallow decision tree tells the sources apart from these "
            "metadata alone: if it does, a detector can score high without looking "
            "at any generator's traces (the field's most reported failure: real "
            "photos as JPEG, generated images as PNG). Remove a confound by "
            "re-encoding every source alike: 'skfingerprint fit ROOT --reencode "
            "jpeg:90 ...'. Exit status 0 either way; --json for machines."),
        epilog=examples("""
            skfingerprint audit images/
            skfingerprint audit images/ --json | jq .confounded"""),
    )
    p.add_argument("root", help="folder with one sub-folder of images per source")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of the cross-validation and permutation test (default: 0)")
    p.set_defaults(func=run)
    return p


def run(args):
    from ..datasets import audit_confounds, load_image_folder

    existing_folder(args.root)
    with user_errors():
        data = load_image_folder(args.root, on_error="skip")
        audit = audit_confounds(data, random_state=args.seed)
    if args.json:
        print_json(audit.to_dict())
    else:
        print(audit.to_text())
    return 0
