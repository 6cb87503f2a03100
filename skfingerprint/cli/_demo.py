"""``skfingerprint demo``: the main job on the built-in data, with a report."""

from __future__ import annotations

import os

from ._common import import_pyplot
from ._errors import CommandError, user_errors
from ._parser import examples, positive_int, seed, wrap


def add_parser(sub, common):
    p = sub.add_parser(
        "demo", parents=[common],
        help="the main job on the built-in data, with a report",
        description=wrap(
            "Build (or load) the small model zoo, train the set encoder and score "
            "10-fold attribution with an MLP, compute the decorrelation score and "
            "group the sources into families by their residual spectra "
            "(NearestRelatives); print a table and write report.md with the "
            "correlation matrix, the dendrogram and a grid of sample images.\n\n"
            "From scratch on a 2-core CPU: under 10 minutes (the zoo is built once, "
            "then cached); --quick: under 2 minutes (the synthetic set unless the "
            "zoo is already cached)."),
        epilog=examples("""
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
    p.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    p.add_argument("--data-home", metavar="DIR",
                   help="cache folder of the zoo (default: $SKFINGERPRINT_DATA or "
                        "~/skfingerprint_data)")
    p.add_argument("--device", default="auto", help="torch device (default: auto)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch CPU threads of each fold (default: 1, fastest for the "
                        "demo's tiny networks)")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help="folds trained at once on the CPU, one process each "
                        "(default: one per core)")
    p.set_defaults(func=run)
    return p


def run(args):
    from .. import run_demo

    import_pyplot()
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CommandError(f"--out {args.out!r} is a file, not a folder")
    with user_errors("cannot create the report folder"):
        os.makedirs(args.out, exist_ok=True)
    run_demo(args.out, quick=args.quick, data=args.data, random_state=args.seed,
             data_home=args.data_home, device=args.device, n_threads=args.threads,
             n_jobs=args.jobs, verbose=not args.quiet)
    return 0
