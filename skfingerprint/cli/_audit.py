"""``skfingerprint audit``: look for format confounds in a folder of images."""

from __future__ import annotations


from ._common import load_folder
from ._errors import user_errors
from ._output import print_json, safe
from ._parser import examples, reencode_spec, seed, wrap


def add_parser(sub, common):
    p = sub.add_parser(
        "audit", parents=[common],
        help="check a folder for format confounds (JPEG vs PNG, quality, sizes)",
        description=wrap(
            "Read the headers of ROOT/<source>/... (never the pixels, but alpha "
            "channels) and report, per source, the file formats, JPEG qualities (from "
            "the quantisation tables), chroma subsampling, sizes, colour modes, bit "
            "depths and EXIF/ICC. Then test whether a shallow decision tree tells the "
            "sources apart from the metadata that reach the decoded pixels: if it "
            "does by an edge beyond luck, a detector can score high without looking "
            "at any generator's traces (the field's most reported failure: real "
            "photos as JPEG, generated images as PNG). Differences the decoder does "
            "not see (progressive JPEG, an all-opaque alpha channel, PNG vs BMP, "
            "EXIF) are notes. Remove a confound by re-encoding every source alike "
            "('skfingerprint fit ROOT --reencode jpeg:90 ...'), and check the result "
            "with 'skfingerprint audit ROOT --reencode jpeg:90'. Unreadable files "
            "are skipped. Exit status 0 either way; --json for machines."),
        epilog=examples("""
            skfingerprint audit images/
            skfingerprint audit images/ --reencode jpeg:90
            skfingerprint audit images/ --json | jq .confounded"""),
    )
    p.add_argument("root", help="folder with one sub-folder of images per source")
    p.add_argument("--reencode", type=reencode_spec, default=None, metavar="CODEC",
                   help="audit copies of every image re-encoded with CODEC (jpeg:90, "
                        "webp:90, png), the copies 'fit --reencode CODEC' trains on "
                        "(your files are not changed)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of the cross-validation and permutation test (default: 0)")
    p.set_defaults(func=run)
    return p


def run(args):
    from ..datasets import audit_confounds

    data = load_folder(args.root, on_error="skip", reencode=args.reencode)
    with user_errors():
        audit = audit_confounds(data, on_error="skip", random_state=args.seed)
    if args.json:
        print_json({**audit.to_dict(), "reencode": args.reencode})
        return 0
    text = audit.to_text()
    if args.reencode is not None:
        text = (f"Audit of copies re-encoded with {args.reencode} (what 'fit --reencode "
                f"{args.reencode}' trains on; stored as lossless PNG)\n{text}")
    # folder names come from the disk: escape control characters and
    # undecodable bytes rather than print them raw
    print("\n".join(safe(line) for line in text.splitlines()))
    return 0
