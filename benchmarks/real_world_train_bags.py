"""Real-world set: DSF+ in patch mode trained on smaller bags than it is used on.

In patch mode every image is a set of ``patches_per_image`` crops, so a
training bag of one image is still a set.  This measures, on the main set of
``benchmarks.real_world`` (mixed sizes, half JPEG, 8 sources, 8 training
bags of 8 images per source), the encoder trained on the given bags of 8
images (the default) against training bags of 2 and of 1 image, drawn afresh
every epoch from each source's images (``bag_size=2, n_bags_per_model=32``
and ``bag_size=1, n_bags_per_model=64``: every image once an epoch).  The
fingerprints are then always those of whole bags
(``transform(X, whole_bags=True)``), per bag of 8 and per image, over ``--split-seeds`` draws of the
train/test halves, with the paper's MLP and the nearest fingerprint.

    python -m benchmarks.real_world_train_bags      # 3 draws, ~15 min on one core
    python -m benchmarks.real_world_train_bags --quick    # a small version

Results: ``benchmarks/results/real_world_train_bags.md/.json``.  The set
needs the 192 px zoo of ``benchmarks.real_world`` (built once and cached);
``--quick`` samples 16 images per source at 96 px instead, one draw, 1
epoch, and writes ``real_world_train_bags_quick``.
"""

import argparse
import tempfile
import time

from benchmarks._common import encoder, env_markdown, environment, write_results
from benchmarks.real_world import make_zoo_set, over_splits, table_splits

VARIANTS = {
    "bags of 8 images, as given (the default)": {},
    "bags of 2 images, 32 per source and epoch": dict(bag_size=2, n_bags_per_model=32),
    "bags of 1 image, 64 per source and epoch": dict(bag_size=1, n_bags_per_model=64),
}


class WholeBagsAfterFit:
    """An encoder fitted on its ``bag_size``, then fingerprinting whole bags."""

    def __init__(self, encoder):
        self.encoder = encoder

    def fit_transform(self, X, y):
        return self.encoder.fit(X, y).transform(X, whole_bags=True)

    def transform(self, X):
        return self.encoder.transform(X, whole_bags=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="16 images per source sampled at 96 px, one draw, 1 epoch")
    parser.add_argument("--split-seeds", default=None, help="default 0,1,2 (quick 0)")
    parser.add_argument("--n-per-source", type=int, default=None, help="default 128 (quick 16)")
    parser.add_argument("--sample-size", type=int, default=None, help="default 192 (quick 96)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: the library's (quick 1)")
    args = parser.parse_args(argv)
    for key, full, quick in (("split_seeds", "0,1,2", "0"), ("n_per_source", 128, 16),
                             ("sample_size", 192, 96), ("epochs", None, 1)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    seeds = tuple(int(v) for v in args.split_seeds.split(","))
    t0 = time.perf_counter()

    def methods(seed):
        return {name: WholeBagsAfterFit(encoder(args.epochs, seed, num_workers=0,
                                                patch_size=64, patches_per_image=8, **params))
                for name, params in VARIANTS.items()}

    with tempfile.TemporaryDirectory() as tmp:
        paths, labels, _ = make_zoo_set(tmp, args.n_per_source,
                                        sample_size=args.sample_size)
        rows = over_splits(seeds, paths, labels, methods)
    env = environment()
    md = ["# Real-world set: DSF+ patch mode trained on smaller bags\n", env_markdown(env),
          (f"- set: as `benchmarks.real_world` (zoo sampled at {args.sample_size} px, "
           f"{args.n_per_source} images per source, crops of 96-{args.sample_size} px, "
           "half JPEG); patch mode patch_size=64, patches_per_image=8; fingerprints of "
           "whole bags of 8 (and of single images) whatever the training bags\n"),
          (f"Mean ± standard deviation over {len(seeds)} draws of the train/test halves "
           "(split seeds " + ", ".join(map(str, seeds)) + "; the encoder and MLP seeded "
           "alike), then the value of each draw.\n"),
          table_splits(rows), f"\nTotal: {time.perf_counter() - t0:.0f} s.\n",
          "Reproduce: `python -m benchmarks.real_world_train_bags"
          + (" --quick" if args.quick else "") + "`\n"]
    write_results("real_world_train_bags" + ("_quick" if args.quick else ""), "\n".join(md),
                  {"environment": env, "settings": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
