"""Throughput at real sizes: file bags of 256-1024 px PNG and JPEG, patch mode.

For PNG and JPEG (quality 90) files of 256, 512 and 1024 px (smooth
structure plus noise, made with NumPy in a temporary folder) this measures,
in one run:

* the **decode-only limit**: images/s of :func:`skfingerprint._io.read_image`
  (the library's one decoder, Pillow) on one core, in this process;
* ``SetFingerprintEncoder.transform`` on bags of those files in patch mode
  (``patch_size=64``, default ``patches_per_image``), with ``num_workers``
  0, 1, 2 and the default, and with 0 workers and the decode threads off
  (*0-serial*);
* ``fit`` (1 epoch, default augmentation) likewise: images/s of the
  training epoch (skorch's epoch time) and of the whole ``fit`` call (which
  also reads every image once more for the fingerprints);
* the peak RSS of this process during each call (VmHWM, reset before the
  call) and the largest summed RSS of its DataLoader workers (sampled; pages
  shared with the parent after ``fork`` count once per worker);
* where ``transform``'s time goes: cProfile of one call with
  ``num_workers=0``, decoding serial, cumulative seconds in decoding (``read_image``),
  cropping (``PatchSpec.crops``) and the network (``DeepSet.forward``).

The figure of merit is **ratio = images/s / decode-only limit**, both
measured in the same run (target at 1024 px with the default ``num_workers``:
>= 0.8).  On a shared machine the absolute figures move with the load; the
ratio much less.

    python -m benchmarks.speed.real_sizes            # full (< 8 min on 2 cores)
    python -m benchmarks.speed.real_sizes --quick    # < 1 min

Writes benchmarks/results/speed_real_sizes[_quick][_TAG].md/.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import inspect
import io
import os
import pstats
import tempfile
import threading
import time

import numpy as np

from benchmarks._common import env_markdown, environment, status_mib, write_results

PATCH = 64
BAG = 8
# images per (size, format): transform (several batches of 128 images: the
# steady state of a long run), fit (1 epoch of 4-bag steps), decode-only limit
FULL = dict(sizes=(256, 512, 1024), formats=("jpeg", "png"), workers=(0, 1, 2),
            images={256: 256, 512: 256, 1024: 768}, fit_images=128, decode_images=128,
            profile_images=32)
QUICK = dict(sizes=(256, 1024), formats=("jpeg", "png"), workers=(0, 2),
             images={256: 64, 1024: 64}, fit_images=32, decode_images=32,
             profile_images=16)
QUICK_CASES = {(1024, "jpeg"), (256, "png")}


# ------------------------------------------------------------------- files
def make_files(root, size, fmt, n, seed=0):
    """``n`` images of ``size`` px: smooth colour structure plus noise."""
    from PIL import Image

    rng = np.random.default_rng(seed + size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    ext = "jpg" if fmt == "jpeg" else "png"
    paths = []
    for i in range(n):
        f = rng.uniform(2, 12, size=3)
        phase = rng.uniform(0, 2 * np.pi, size=3)
        base = 128 + 60 * np.sin(f[0] * xx[..., None] + phase) * np.cos(f[1] * yy[..., None]
                                                                       + f[2] * xx[..., None])
        img = np.clip(base + rng.normal(0, 10, (size, size, 3)), 0, 255).astype(np.uint8)
        path = os.path.join(root, f"{size}_{i:04d}.{ext}")
        if fmt == "jpeg":
            Image.fromarray(img).save(path, quality=90)
        else:
            Image.fromarray(img).save(path)
        paths.append(path)
    return np.array(paths, dtype=object)


# ----------------------------------------------------------------- memory
def _reset_peak():
    """Reset VmHWM to the current RSS (Linux); a no-op elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


class _WorkerRSS:
    """Samples the summed RSS of this process's children (the DataLoader workers)."""

    def __init__(self, period=0.05):
        self.period, self.peak, self._stop = period, 0.0, threading.Event()

    def _run(self):
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total / 2**20)
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def measured(fn):
    """``(result, seconds, peak_main_mib, peak_workers_mib)`` of ``fn()``."""
    _reset_peak()
    with _WorkerRSS() as workers:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, seconds, status_mib("VmHWM"), workers.peak


# ---------------------------------------------------------------- measures
def decode_limit(paths):
    """Images/s of the library's decoder alone, one core, this process."""
    from skfingerprint._io import read_image

    read_image(paths[0])
    start = time.perf_counter()
    for p in paths:
        read_image(p)
    return len(paths) / (time.perf_counter() - start)


def default_workers():
    from skfingerprint import SetFingerprintEncoder

    return inspect.signature(SetFingerprintEncoder).parameters["num_workers"].default


def _bags(paths):
    from skfingerprint import make_bags

    labels = np.arange(len(paths)) % 2
    return make_bags(paths, labels, bag_size=BAG, random_state=0)


def fitted_encoder(paths):
    """An encoder in patch mode fitted on a few files (transform speed does
    not depend on the weights)."""
    from skfingerprint import SetFingerprintEncoder

    X, y = _bags(paths)
    return SetFingerprintEncoder(patch_size=PATCH, max_epochs=1, random_state=0,
                                 num_workers=0).fit(X, y)


@contextlib.contextmanager
def serial_decoding(on=True):
    """Files decoded in the calling thread (the decode threads off)."""
    from skfingerprint.encoder import _estimator

    before = _estimator.decode_threads
    if on:
        _estimator.decode_threads = lambda bags: 1
    try:
        yield
    finally:
        _estimator.decode_threads = before


def _workers(workers):
    """``num_workers`` value and whether decoding is serial, of a column label."""
    if workers == "default":
        return default_workers(), False
    if workers == "0-serial":
        return 0, True
    return workers, False


def run_transform(enc, paths, workers):
    X, _ = _bags(paths)
    workers, serial = _workers(workers)
    enc.set_params(num_workers=workers)
    with serial_decoding(serial):
        _, seconds, main_mib, worker_mib = measured(lambda: enc.transform(X))
    return {"images_per_s": X.size / seconds, "seconds": seconds,
            "peak_rss_mib": main_mib, "workers_rss_mib": worker_mib}


def run_fit(paths, workers, epochs):
    from skfingerprint import SetFingerprintEncoder

    X, y = _bags(paths)
    workers, serial = _workers(workers)
    # bags of 8, 4 bags per step: several steps per epoch even on few files
    enc = SetFingerprintEncoder(patch_size=PATCH, max_epochs=epochs, batch_size=4,
                                random_state=0, num_workers=workers)
    with serial_decoding(serial):
        enc, seconds, main_mib, worker_mib = measured(lambda: enc.fit(X, y))
    epoch_s = float(np.sum(enc.net_.history[:, "dur"]))
    return {"images_per_s": X.size * epochs / epoch_s,
            "call_images_per_s": X.size * epochs / seconds, "seconds": seconds,
            "epoch_seconds": epoch_s, "peak_rss_mib": main_mib,
            "workers_rss_mib": worker_mib}


def profile_transform(enc, paths):
    """Cumulative seconds of transform's parts (cProfile, num_workers=0)."""
    X, _ = _bags(paths)
    enc.set_params(num_workers=0)
    prof = cProfile.Profile()
    # decoding in this thread: cProfile sees only the thread that it runs in
    with serial_decoding():
        start = time.perf_counter()
        prof.runcall(enc.transform, X)
        total = time.perf_counter() - start
    stats = pstats.Stats(prof)
    parts = {"decode (read_image)": ("_io.py", "read_image"),
             "crop (PatchSpec.crops)": ("_patches.py", "crops"),
             "network (DeepSet.forward)": ("_modules.py", "forward")}
    found = {}
    for label, (fname, func) in parts.items():
        cum = [v[3] for (f, _, name), v in stats.stats.items()
               if f.endswith(fname) and name == func]
        # DeepSet.forward and ImageEncoder.forward share a name: the outer one
        found[label] = max(cum) if cum else 0.0
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(15)
    top = "\n".join(line for line in buf.getvalue().splitlines()
                    if line.strip())[-2500:]
    return {"total_seconds": total, "images": int(X.size), "parts": found, "top": top}


# -------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1024 px JPEG and 256 px PNG, 32 images (< 1 min)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tag", default="", help="suffix of the results files")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    default = default_workers()
    workers = ["0-serial"] + list(cfg["workers"]) + ["default"]
    t0 = time.perf_counter()
    rows, profile = [], None
    with tempfile.TemporaryDirectory() as tmp:
        enc = fitted_encoder(make_files(tmp, 256, "jpeg", 4 * BAG, seed=99))
        for size in cfg["sizes"]:
            for fmt in cfg["formats"]:
                if args.quick and (size, fmt) not in QUICK_CASES:
                    continue
                paths = make_files(tmp, size, fmt, cfg["images"][size])
                limit = decode_limit(paths[: cfg["decode_images"]])
                row = {"size": size, "format": fmt, "images": len(paths),
                       "fit_images": min(len(paths), cfg["fit_images"]),
                       "file_kib": float(np.mean([os.path.getsize(p) for p in paths])) / 1024,
                       "decode_limit": limit, "transform": {}, "fit": {}}
                for w in workers:
                    row["transform"][str(w)] = run_transform(enc, paths, w)
                    row["fit"][str(w)] = run_fit(paths[: cfg["fit_images"]], w, args.epochs)
                    tr, ft = row["transform"][str(w)], row["fit"][str(w)]
                    print(f"{size}px {fmt} workers={w}: decode {limit:.0f}/s, transform "
                          f"{tr['images_per_s']:.0f}/s ({tr['images_per_s'] / limit:.2f}), fit "
                          f"{ft['images_per_s']:.0f}/s ({ft['images_per_s'] / limit:.2f}) "
                          f"[{time.perf_counter() - t0:.0f} s]", flush=True)
                if size == max(cfg["sizes"]) and fmt == "jpeg":
                    profile = profile_transform(enc, paths[: cfg["profile_images"]])
                    profile["decode_limit"] = limit
                rows.append(row)
                for p in paths:
                    os.remove(p)
    env = environment()
    env["load_average"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    md = _markdown(rows, profile, env, args, default, time.perf_counter() - t0)
    print(md)
    name = "speed_real_sizes" + ("_quick" if args.quick else "") + (
        f"_{args.tag}" if args.tag else "")
    write_results(name, md, {"env": env, "default_num_workers": default,
                             "epochs": args.epochs, "rows": rows, "profile": profile})


def _markdown(rows, profile, env, args, default, seconds):
    out = [
        "# Throughput at real sizes: file bags in patch mode\n",
        f"Bags of {BAG} files (transform: the number of images in the table; fit: "
        f"the first of them, column *fit images*), `patch_size={PATCH}`, default `patches_per_image` (8), "
        f"default `chunk_size`; transform with an encoder fitted beforehand; fit = "
        f"{args.epochs} epoch(s), 4 bags per step, default augmentation. "
        "**decode** = `read_image` alone on one core in this process (the decode-only "
        "limit), measured in the same run; **ratio** = images/s / decode (the figure "
        "of merit; target >= 0.8 at 1024 px with the default `num_workers`). "
        "fit images/s = training epochs (skorch epoch time); *fit call* also counts "
        "setup and the pass that computes the training fingerprints. "
        f"Default `num_workers`: `{default!r}`. With 0 workers the files are "
        "decoded by threads (as many as torch's threads), which read the next "
        "batches while the network runs; *0-serial* turns them off (decoding in "
        "the calling thread, as before they existed).\n",
        "| size | format | KiB/file | images (fit) | decode img/s | num_workers | transform img/s | "
        "ratio | fit img/s | ratio | fit call img/s | peak RSS transform / fit (MiB) | "
        "workers' RSS transform / fit (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lim = r["decode_limit"]
        for w, tr in r["transform"].items():
            ft = r["fit"][w]
            label = f"default (`{default!r}`)" if w == "default" else w
            out.append(
                f"| {r['size']} | {r['format']} | {r['file_kib']:.0f} | {r['images']} "
                f"({r['fit_images']}) | {lim:.0f} | {label} "
                f"| {tr['images_per_s']:.0f} | **{tr['images_per_s'] / lim:.2f}** | "
                f"{ft['images_per_s']:.0f} | **{ft['images_per_s'] / lim:.2f}** | "
                f"{ft['call_images_per_s']:.0f} | {tr['peak_rss_mib']:.0f} / "
                f"{ft['peak_rss_mib']:.0f} | {tr['workers_rss_mib']:.0f} / "
                f"{ft['workers_rss_mib']:.0f} |")
    if profile:
        total = profile["total_seconds"]
        out += ["", f"## Where transform's time goes ({profile['images']} images of "
                "1024 px JPEG, `num_workers=0`, decoding serial, cProfile)\n",
                "| part | seconds | share | ms / image |", "|---|---|---|---|"]
        for part, sec in profile["parts"].items():
            out.append(f"| {part} | {sec:.2f} | {sec / total:.0%} | "
                       f"{sec / profile['images'] * 1e3:.1f} |")
        rest = total - sum(profile["parts"].values())
        out.append(f"| rest | {rest:.2f} | {rest / total:.0%} | "
                   f"{rest / profile['images'] * 1e3:.1f} |")
        out.append(f"| **total** | {total:.2f} | 100% | {total / profile['images'] * 1e3:.1f} |")
        out += ["", "Top functions by cumulative time:\n", "```", profile["top"], "```"]
    load = env.get("load_average")
    out += ["", env_markdown(env).rstrip()]
    if load:
        out.append(f"- load average at the end: {', '.join(f'{v:.2f}' for v in load)}")
    out += [f"- run time: {seconds:.0f} s", "",
            "Reproduce: `python -m benchmarks.speed.real_sizes" +
            (" --quick" if args.quick else "") + "`\n"]
    return "\n".join(out)


if __name__ == "__main__":
    main()
