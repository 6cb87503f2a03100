"""Transform throughput and memory scaling of SetFingerprintEncoder.

1. Throughput (images/s) of ``transform`` on a numeric array and on bags of
   PNG files (0 and 2 DataLoader workers).
2. Scaling: time and peak RSS of ``transform`` on a memmap of N images (bags
   of 10, 32x32x3) for N in 1e3, 1e4, 3e4, 1e5, each in a fresh process, so
   the peak RSS is that of the transform alone.  Time should grow about
   linearly and RSS stay flat (memory bounded by one batch).

    python -m benchmarks.speed.transform_scaling [--max-images 100000]
    python -m benchmarks.speed.transform_scaling --quick    # 1e3 and 1e4 images, 200 PNG

Writes benchmarks/results/speed_transform[_quick].md/.json.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks._common import env_markdown, environment, status_mib, write_results

# the checkout: the children run this module as ``python -m`` from there
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BAG = 10
SIZE = 32


def _fit_small(path):
    from skfingerprint import SetFingerprintEncoder

    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(16, BAG, SIZE, SIZE, 3)).astype(np.uint8)
    y = np.repeat(["a", "b"], 8)
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y)
    import joblib

    joblib.dump(enc, path)


def _peak_rss_mib():
    """Peak RSS of this process (VmHWM).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that high-water
    mark over ``fork`` and ``exec``, so a fresh child would report its
    parent's peak (that is the fallback where /proc is missing).
    """
    peak = status_mib("VmHWM")
    if peak == peak:  # not nan
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(model_path, data_path, n_images, workers):
    """Runs in a fresh process: load, transform, report time and peak RSS."""
    import joblib

    enc = joblib.load(model_path)
    enc.set_params(num_workers=workers)
    if data_path.endswith(".npy"):
        X = np.load(data_path, mmap_mode="r")[: n_images // BAG]
    else:
        X = np.load(data_path, allow_pickle=False)[: n_images // BAG]
    rss0 = _peak_rss_mib()
    start = time.perf_counter()
    Z = enc.transform(X)
    wall = time.perf_counter() - start
    peak = _peak_rss_mib()
    print(json.dumps({"n_images": int(X.shape[0] * X.shape[1]), "seconds": wall,
                      "peak_rss_mib": peak, "rss_before_mib": rss0,
                      "rss_anon_after_mib": status_mib("RssAnon"),
                      "rss_file_after_mib": status_mib("RssFile"),
                      "z_shape": list(Z.shape)}))


def _run_child(*args):
    out = subprocess.run([sys.executable, "-m", "benchmarks.speed.transform_scaling",
                          "--child", *map(str, args)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="up to 10000 images and 200 PNG files")
    parser.add_argument("--max-images", type=int, default=None, help="default 100000")
    parser.add_argument("--n-png", type=int, default=None, help="default 2000")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args(argv)
    if args.max_images is None:
        args.max_images = 10_000 if args.quick else 100_000
    if args.n_png is None:
        args.n_png = 200 if args.quick else 2000
    if args.child:
        model, data, n, workers = args.child
        _child(model, data, int(n), int(workers))
        return
    from PIL import Image

    tmp = tempfile.mkdtemp(prefix="skfp_scaling_")
    model = os.path.join(tmp, "enc.joblib")
    _fit_small(model)
    n_max = args.max_images
    mm_path = os.path.join(tmp, "bags.npy")
    mm = np.lib.format.open_memmap(mm_path, mode="w+", dtype=np.uint8,
                                   shape=(n_max // BAG, BAG, SIZE, SIZE, 3))
    rng = np.random.RandomState(0)
    for start in range(0, mm.shape[0], 1000):
        stop = min(start + 1000, mm.shape[0])
        mm[start:stop] = rng.randint(0, 256, size=(stop - start,) + mm.shape[1:])
    mm.flush()
    del mm

    sizes = [s for s in (1_000, 10_000, 30_000, 100_000) if s <= n_max]
    scaling = [_run_child(model, mm_path, n, 0) for n in sizes]
    for row in scaling:
        print(f"memmap {row['n_images']:>7} images: {row['seconds']:.1f} s, "
              f"peak RSS {row['peak_rss_mib']:.0f} MiB")

    png_dir = os.path.join(tmp, "png")
    os.makedirs(png_dir)
    paths = []
    for i in range(args.n_png):
        p = os.path.join(png_dir, f"{i}.png")
        Image.fromarray(rng.randint(0, 256, size=(SIZE, SIZE, 3)).astype(np.uint8)).save(p)
        paths.append(p)
    path_file = os.path.join(tmp, "paths.npy")
    np.save(path_file, np.array(paths).reshape(-1, BAG))
    png = {w: _run_child(model, path_file, args.n_png, w) for w in (0, 2)}
    for w, row in png.items():
        print(f"PNG paths, {w} workers: {row['n_images'] / row['seconds']:.0f} images/s")

    env = environment()
    md = ["# Transform throughput and scaling\n",
          f"Default-architecture encoder, bags of {BAG} images of {SIZE}x{SIZE}x3, "
          "each measurement in a fresh process: peak RSS (VmHWM) of that process, "
          "Python, torch and the model included, and before the transform; after the "
          "transform, its anonymous part (heap: what the transform allocates) and its "
          "file-backed part (the pages of the memmap that were read, which the kernel "
          "can drop at any time, plus the shared libraries).\n",
          "| input | images | seconds | images/s | peak RSS (MiB) | before transform (MiB) "
          "| anonymous after (MiB) | file-backed after (MiB) |",
          "|---|---|---|---|---|---|---|---|"]
    for row in scaling:
        md.append(f"| memmap uint8 | {row['n_images']} | {row['seconds']:.2f} | "
                  f"{row['n_images'] / row['seconds']:.0f} | {row['peak_rss_mib']:.0f} | "
                  f"{row['rss_before_mib']:.0f} | {row['rss_anon_after_mib']:.0f} | "
                  f"{row['rss_file_after_mib']:.0f} |")
    for w, row in png.items():
        md.append(f"| PNG paths, {w} workers | {row['n_images']} | {row['seconds']:.2f} | "
                  f"{row['n_images'] / row['seconds']:.0f} | {row['peak_rss_mib']:.0f} | "
                  f"{row['rss_before_mib']:.0f} | {row['rss_anon_after_mib']:.0f} | "
                  f"{row['rss_file_after_mib']:.0f} |")
    md += ["", env_markdown(env), "Reproduce: `python -m benchmarks.speed.transform_scaling"
           + (" --quick" if args.quick else "") + "`\n"]
    write_results("speed_transform" + ("_quick" if args.quick else ""), "\n".join(md),
                  {"env": env, "scaling": scaling, "png": png})


if __name__ == "__main__":
    main()
