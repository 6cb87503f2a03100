"""Peak memory and time of ``skfingerprint.load`` on crafted (hostile) model files.

Crafts the worst files of issue #13 (decompression bombs in the envelope and
in the skops payload, an ``.npy`` header announcing a huge array, a network
configuration asking for huge or endless layers, mismatched weights, a
deeply nested ``meta.json``, too many members, a FIFO and ``/dev/zero``) next
to a valid model, and loads each in a fresh process.  Each child records its
peak resident memory (VmHWM) just before and after ``load`` and the time
``load`` took; the table reports the growth of VmHWM caused by the load, the
file size and the outcome (the exception's first words).  A child is killed
after ``--timeout`` seconds (a hang).

    python -m benchmarks.hostile_model_files            # bombs of 1 MiB files
    python -m benchmarks.hostile_model_files --quick    # bombs of ~64 KiB files
    python -m benchmarks.hostile_model_files --checkout /path/to/other/checkout

``--checkout`` loads the same files with another checkout of the library
(e.g. the code before the fix) for comparison.  Writes
benchmarks/results/hostile_model_files[_quick][_other_checkout].md/.json.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

from benchmarks._common import env_markdown, environment, write_results
from benchmarks._crafted_model_files import envelope, huge_npy, members, rewrite_payload

# the checkout these benchmarks are in: its skfingerprint loads the files by default
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MiB = 2.0**20

CHILD = r"""
import json, sys, time, warnings
def hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
import skfingerprint, skops.io, torch, sklearn.pipeline  # imports before the baseline
from skfingerprint import load
before = hwm()
t0 = time.perf_counter()
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(sys.argv[1])
    outcome = "loaded"
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:160]}"
seconds = time.perf_counter() - t0
print(json.dumps({"before": before, "after": hwm(), "seconds": seconds, "outcome": outcome}))
"""


def craft(folder, bomb_bytes):
    """The crafted files; returns {case: path}."""
    import skfingerprint._net_state as net_state
    from skfingerprint import SetFingerprintEncoder, save

    rng = np.random.RandomState(0)
    X = (rng.rand(4, 2, 8, 8, 3) * 255).astype(np.uint8)
    enc = SetFingerprintEncoder(max_epochs=1, device="cpu", random_state=0)
    enc.fit(X, ["a", "a", "b", "b"])
    files = {"valid encoder (baseline)": os.path.join(folder, "valid.skfp")}
    save(enc, files["valid encoder (baseline)"])
    meta, payload = members(files["valid encoder (baseline)"])
    p = lambda name: os.path.join(folder, name)  # noqa: E731
    files["bomb: model.skops of zeros"] = envelope(p("bomb.skfp"), meta, bytes(bomb_bytes))
    first_npy = sorted(n for n in zipfile.ZipFile(io.BytesIO(payload)).namelist()
                       if n.endswith(".npy"))[0]
    files["bomb inside the skops payload"] = envelope(p("inner.skfp"), meta, rewrite_payload(
        payload, lambda n, d: (d + bytes(bomb_bytes) if n == first_npy else d),
        compression=zipfile.ZIP_DEFLATED), compression=zipfile.ZIP_STORED)
    files["npy header 200000x200000"] = envelope(p("npy.skfp"), meta, rewrite_payload(
        payload, huge_npy((200000, 200000))))
    files["3000 extra members"] = envelope(p("many.skfp"), meta, rewrite_payload(
        payload, lambda n, d: d, extra=[(f"x{i}.bin", b"") for i in range(3000)]))
    with zipfile.ZipFile(p("nested.skfp"), "w") as zf:
        zf.writestr("meta.json", "[" * 500000 + "]" * 500000)
        zf.writestr("model.skops", b"")
    files["meta.json nested 500000 deep"] = p("nested.skfp")
    dump = net_state.dump_net_state
    for case, change in {
        "module_config channels=[200000, 200000]":
            lambda s: s["module_config"].update(channels=[200000, 200000]),
        "module_config n_full_res=10**6":
            lambda s: s["module_config"].update(n_full_res=10**6),
        "a weight of the wrong shape":
            lambda s: s["weights"].update({k: np.zeros(7, np.float32)
                                           for k in sorted(s["weights"])[:1]}),
    }.items():
        def hostile_dump(*args, change=change):
            state = dump(*args)
            change(state)
            return state

        net_state.dump_net_state = hostile_dump
        try:
            name = p(f"net{len(files)}.skfp")
            save(enc, name)
        finally:
            net_state.dump_net_state = dump
        files[case] = name
    if hasattr(os, "mkfifo"):
        os.mkfifo(p("fifo.skfp"))
        files["a FIFO"] = p("fifo.skfp")
    if os.path.exists("/dev/zero"):
        files["/dev/zero"] = "/dev/zero"
    return files


def measure(path, checkout, timeout, max_memory_gib=None):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout), OMP_NUM_THREADS="1")
    start = time.perf_counter()

    def limit():  # an address-space cap, so that an unfixed checkout cannot eat the machine
        import resource

        cap = int(max_memory_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    try:
        # cwd: not a checkout, so that PYTHONPATH decides which skfingerprint loads
        proc = subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=os.path.dirname(path),
                              preexec_fn=limit if max_memory_gib else None)
    except subprocess.TimeoutExpired:
        return {"outcome": f"killed after {timeout} s (a hang)", "seconds": timeout,
                "growth_mib": None, "wall": time.perf_counter() - start}
    try:
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"outcome": f"child died (status {proc.returncode}): "
                           f"{proc.stderr.strip()[-160:]}", "seconds": None,
                "growth_mib": None}
    return {"outcome": r["outcome"], "seconds": r["seconds"],
            "growth_mib": (r["after"] - r["before"]) / MiB, "hwm_mib": r["after"] / MiB}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bombs of ~64 KiB files")
    parser.add_argument("--checkout", default=ROOT,
                        help="the checkout whose skfingerprint loads the files")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per file")
    parser.add_argument("--max-memory-gib", type=float, default=None,
                        help="cap each child's address space (for a --checkout without "
                             "the limits)")
    args = parser.parse_args(argv)
    bomb = (64 if args.quick else 1024) << 20  # zeros compress ~1000:1
    with tempfile.TemporaryDirectory() as folder:
        files = craft(folder, bomb)
        rows = []
        for case, path in files.items():
            size = os.path.getsize(path) if os.path.isfile(path) else 0
            r = measure(path, args.checkout, args.timeout, args.max_memory_gib)
            rows.append(dict(r, case=case, file_bytes=size))
            print(f"{case}: {r}", flush=True)
    env = environment()
    checkout = os.path.abspath(args.checkout)
    name = "hostile_model_files" + ("_quick" if args.quick else "")
    if checkout != os.path.abspath(ROOT):
        name += "_other_checkout"
    lines = [
        "# `skfingerprint.load` on crafted model files", "",
        f"`python -m benchmarks.hostile_model_files{' --quick' if args.quick else ''}"
        + ("" if checkout == os.path.abspath(ROOT) else f" --checkout {checkout}") + "`",
        "", env_markdown(env),
        f"- checkout loading the files: {checkout}"
        + (f" (address space capped at {args.max_memory_gib} GiB per child)"
           if args.max_memory_gib else ""),
        "- each file is loaded in a fresh process; 'VmHWM growth' is the peak resident "
        "memory after `load` minus the peak before it (after the imports); the machine "
        "was shared with other jobs, so times are upper bounds", "",
        "| file | size (KiB) | VmHWM growth (MiB) | load time (s) | outcome |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        growth = "-" if r["growth_mib"] is None else f"{r['growth_mib']:.1f}"
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.2f}"
        outcome = r["outcome"].replace("|", "/").replace("\n", " ")[:140]
        lines.append(f"| {r['case']} | {r['file_bytes'] / 1024:.0f} | {growth} | {secs} "
                     f"| {outcome} |")
    write_results(name, "\n".join(lines) + "\n",
                  {"env": env, "checkout": checkout, "bomb_bytes": bomb, "rows": rows})


if __name__ == "__main__":
    main()
