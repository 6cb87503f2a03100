"""Robustness under load: transform a large folder of PNG files, twice.

Writes N small PNG files (default 100000 of 32x32: crops of the photographs
that ship with the library plus per-file random noise, in 4 source folders
of shards of 1000 files), loads their paths with ``load_image_folder``,
groups them into bags of paths with ``make_bags``, fits a
``SetFingerprintEncoder`` briefly (1 epoch) on a small subset, and runs
``transform`` on all the bags, decoded lazily by ``num_workers=2`` DataLoader
worker processes.  The transform runs twice (``--repeats``); before and after
each pass it records the resident memory of the process and its children
(RSS and, where the kernel provides it, PSS, which does not count the pages
the forked workers share with the parent twice), the peak of these sampled
every 0.1 s during the pass, VmHWM, and the number of open file descriptors
(``/proc/self/fd``).  Memory should be bounded by a batch, not by N, and
nothing (memory, descriptors, worker processes) should grow from one pass to
the next.

    python -m benchmarks.folder_load              # 100000 files (the full run)
    python -m benchmarks.folder_load --quick      # 2000 files
    python -m benchmarks.folder_load --n 20000 --dir /data/pngs --keep

Writes benchmarks/results/folder_load[_quick].md/.json.
"""

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time

import numpy as np

from benchmarks._common import env_markdown, environment, status_mib, write_results

SOURCES = ("a", "b", "c", "d")
SHARD = 1000
MiB = 2.0**20


# --------------------------------------------------------------------- files
def write_pngs(root, n, image_size, seed):
    """``n`` PNGs under ``root/<source>/<shard>/``; returns seconds taken."""
    from PIL import Image

    from skfingerprint.datasets._photos import random_crops

    rng = np.random.RandomState(seed)
    pool = random_crops(512, image_size, random_state=seed).astype(np.int16)
    start = time.perf_counter()
    per_source = -(-n // len(SOURCES))
    written = 0
    for s, source in enumerate(SOURCES):
        # a faint per-source pattern, so that the sources differ a little
        pattern = rng.randint(-3, 4, size=(image_size, image_size, 3)).astype(np.int16)
        for start_i in range(0, per_source, SHARD):
            if written >= n:
                break
            count = min(SHARD, per_source - start_i, n - written)
            folder = os.path.join(root, source, f"{start_i // SHARD:04d}")
            os.makedirs(folder, exist_ok=True)
            base = pool[rng.randint(len(pool), size=count)]
            noise = rng.randint(-2, 3, size=base.shape).astype(np.int16)
            images = np.clip(base + noise + pattern, 0, 255).astype(np.uint8)
            for i, img in enumerate(images):
                Image.fromarray(img).save(
                    os.path.join(folder, f"{start_i + i:06d}.png"), compress_level=1)
            written += count
    return time.perf_counter() - start


# -------------------------------------------------------------------- memory
def _mib(field, pid="self"):
    """A field of /proc/<pid>/status (VmRSS, VmHWM) in MiB; 0 if missing."""
    value = status_mib(field, pid)
    return 0.0 if value != value else value  # nan: the process is gone


def _children_pids():
    try:
        import psutil

        return [c.pid for c in psutil.Process().children(recursive=True)]
    except ImportError:
        pids = []
        me = str(os.getpid())
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        if fh.read().split(") ")[1].split()[1] == me:
                            pids.append(int(entry))
                except (OSError, IndexError):
                    pass
        return pids


def _pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def snapshot():
    """Memory (MiB) of this process and its children, open fds, children."""
    kids = _children_pids()
    rss_self = _mib("VmRSS")
    rss_kids = sum(_mib("VmRSS", p) for p in kids)
    pss = [_pss_kib("self")] + [_pss_kib(p) for p in kids]
    return {
        "rss_self_mib": rss_self,
        "rss_children_mib": rss_kids,
        "rss_total_mib": rss_self + rss_kids,
        "pss_total_mib": None if None in pss else sum(pss) / 1024,
        "vmhwm_self_mib": _mib("VmHWM"),
        "maxrss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "open_fds": len(os.listdir("/proc/self/fd")),
        "children": len(kids),
        "threads": len(os.listdir("/proc/self/task")),
    }


class PeakSampler:
    """Samples :func:`snapshot` every ``interval`` s in a thread; keeps peaks."""

    def __init__(self, interval=0.1):
        self.interval = interval
        self.peak = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            snap = snapshot()
            for key in ("rss_total_mib", "pss_total_mib", "open_fds", "children"):
                if snap[key] is not None:
                    self.peak[key] = max(self.peak.get(key, 0), snap[key])
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------- main
def transform_passes(enc, X, repeats):
    """``repeats`` transform passes: time, memory and descriptors around each;
    returns ``(passes, outputs)``."""
    passes, outputs = [], []
    for r in range(repeats):
        before = snapshot()
        start = time.perf_counter()
        with PeakSampler() as sampler:
            Z = enc.transform(X)
        wall = time.perf_counter() - start
        time.sleep(0.5)  # let the DataLoader workers exit
        after = snapshot()
        outputs.append(Z)
        passes.append({"pass": r + 1, "wall_s": wall,
                       "images_per_s": X.size / wall, "before": before,
                       "peak": dict(sampler.peak), "after": after})
        print(f"pass {r + 1}: {wall:.1f} s ({X.size / wall:.0f} images/s); RSS "
              f"{before['rss_total_mib']:.0f} -> peak {sampler.peak['rss_total_mib']:.0f}"
              f" -> {after['rss_total_mib']:.0f} MiB; fds {before['open_fds']} -> "
              f"{after['open_fds']}; children after {after['children']}", flush=True)
    return passes, outputs


def growth(passes, outputs):
    """What grew from one pass to the next (a leak makes every pass end higher
    than all before it; the allocator alone moves RSS up and down by some tens
    of MiB)."""
    first, last = passes[0], passes[-1]
    after = [p["after"]["rss_total_mib"] for p in passes]
    return {
        "identical_outputs": all(np.array_equal(outputs[0], o) for o in outputs),
        "rss_after_mib": after,
        "rss_growth_mib": after[-1] - max(after[:-1]),
        "peak_growth_mib": (last["peak"]["rss_total_mib"]
                            - max(p["peak"]["rss_total_mib"] for p in passes[:-1])),
        "fd_growth": last["after"]["open_fds"] - first["before"]["open_fds"],
        "children_left": last["after"]["children"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of PNG files")
    parser.add_argument("--quick", action="store_true", help="2000 files")
    parser.add_argument("--dir", help="folder for the files (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")
    parser.add_argument("--bag-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3,
                        help="transform passes (at least 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = 2000 if args.quick else args.n
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 to compare passes")
    from skfingerprint import SetFingerprintEncoder, make_bags
    from skfingerprint.datasets import load_image_folder

    root = args.dir or tempfile.mkdtemp(prefix="skfp_folder_load_")
    made_root = args.dir is None
    result = {"n_files": n, "mode": "quick" if args.quick else "full",
              "bag_size": args.bag_size, "image_size": args.image_size,
              "num_workers": args.num_workers, "environment": environment()}
    try:
        existing = sum(len(files) for _, _, files in os.walk(root))
        if existing >= n:
            write_s = None
            print(f"using the {existing} files in {root}")
        else:
            print(f"writing {n} PNG files to {root} ...", flush=True)
            write_s = write_pngs(root, n, args.image_size, args.seed)
            print(f"  {write_s:.1f} s", flush=True)
        result["write_s"] = write_s

        start = time.perf_counter()
        data = load_image_folder(root)
        result["load_folder_s"] = time.perf_counter() - start
        paths, labels = data.paths, data.labels  # all the files of the folder
        result["n_files"] = len(paths)
        X, y = make_bags(paths, labels, bag_size=args.bag_size, random_state=args.seed)
        result["n_bags"] = len(X)
        result["n_images"] = int(X.size)
        print(f"{len(paths)} files -> {len(X)} bags of {args.bag_size} "
              f"(header scan {result['load_folder_s']:.1f} s)", flush=True)

        # fit briefly on 4 bags per source
        subset = np.concatenate([np.flatnonzero(y == s)[:4] for s in np.unique(y)])
        enc = SetFingerprintEncoder(max_epochs=1, random_state=args.seed, device="cpu",
                                    num_workers=args.num_workers)
        start = time.perf_counter()
        enc.fit(X[subset], y[subset])
        result["fit_s"] = time.perf_counter() - start

        passes, outputs = transform_passes(enc, X, args.repeats)
        result["passes"] = passes
        result.update(growth(passes, outputs))
        result["paths_array_mib"] = X.nbytes / MiB
        result["output_mib"] = outputs[0].nbytes / MiB
    finally:
        if made_root and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    # a quick run must not replace the table of the full run
    write_results("folder_load" + ("_quick" if args.quick else ""), markdown(result), result)
    return result


def _fmt(v, digits=0):
    return "-" if v is None else f"{v:.{digits}f}"


def markdown(r):
    lines = [
        "# Robustness under load: transform of a folder of PNG files",
        "",
        f"Mode: **{r['mode']}** ({r['n_files']} PNG files of {r['image_size']}x"
        f"{r['image_size']}, {r['n_bags']} bags of {r['bag_size']} paths, "
        f"`num_workers={r['num_workers']}`). Produced by "
        "`python -m benchmarks.folder_load" + (" --quick" if r["mode"] == "quick" else "")
        + "`; the full run is 100000 files.",
        "",
        f"- writing the files: {_fmt(r['write_s'], 1)} s; `load_image_folder` (header "
        f"scan): {r['load_folder_s']:.2f} s; fit (1 epoch on 4 bags per source): "
        f"{r['fit_s']:.1f} s",
        f"- the bags of paths take {r['paths_array_mib']:.1f} MiB, the fingerprints "
        f"{r['output_mib']:.2f} MiB (both grow with N; everything else should not)",
        "",
        "| pass | time (s) | images/s | RSS before (MiB) | peak RSS, self + workers "
        "(MiB) | peak PSS (MiB) | RSS after (MiB) | VmHWM (MiB) | open fds before -> "
        "after | worker processes after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in r["passes"]:
        b, k, a = p["before"], p["peak"], p["after"]
        lines.append(
            f"| {p['pass']} | {p['wall_s']:.1f} | {p['images_per_s']:.0f} | "
            f"{b['rss_total_mib']:.0f} | {k['rss_total_mib']:.0f} | "
            f"{_fmt(k.get('pss_total_mib'))} | {a['rss_total_mib']:.0f} | "
            f"{a['vmhwm_self_mib']:.0f} | {b['open_fds']} -> {a['open_fds']} | "
            f"{a['children']} |")
    ok = (r["rss_growth_mib"] < 64 and r["fd_growth"] <= 0
          and r["children_left"] == 0 and r["identical_outputs"])
    lines += [
        "",
        "Last pass against the highest of the earlier ones: RSS after the pass "
        f"{r['rss_growth_mib']:+.1f} MiB, peak RSS {r['peak_growth_mib']:+.1f} MiB; "
        f"open file descriptors from the first pass to the last {r['fd_growth']:+d}, "
        f"worker processes left {r['children_left']}; the "
        f"fingerprints of the passes are {'identical' if r['identical_outputs'] else 'DIFFERENT'}."
        f" {'No growth.' if ok else 'GROWTH: investigate.'}",
        "",
        "RSS of the workers counts the pages they share with the parent (forked) "
        "again; PSS splits shared pages between the processes that map them. "
        "RSS after a pass moves up and down by some tens of MiB (memory the "
        "allocator keeps); a leak would make every pass end higher than all "
        "before it.",
        "",
        env_markdown(r["environment"]),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
