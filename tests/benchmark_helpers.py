"""Running a benchmark's ``--quick`` mode from the tests, as a user would."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_quick(module, results_dir, *args, results_name):
    """Run ``python -m benchmarks.<module> --quick [args]`` from the repository
    root, writing its results into ``results_dir``; return the JSON payload of
    ``<results_name>.json`` (the run must exit 0)."""
    env = {**os.environ, "SKFINGERPRINT_BENCHMARK_RESULTS": str(results_dir),
           "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--quick", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(os.path.join(str(results_dir), f"{results_name}.json")) as fh:
        return json.load(fh)
