"""Smoke test of ``benchmarks/procedural_supply.py --quick``.

The quick mode measures a few generators and images at every thread count
and size, trains a 1-epoch CNN, and writes its tables; the figures
themselves come from the full run (``benchmarks/results/procedural_supply.md``).
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_mode_writes_every_figure(tmp_path):
    command = [sys.executable, "-m", "benchmarks.procedural_supply", "--quick"]
    env = {**os.environ, "SKFINGERPRINT_BENCHMARK_RESULTS": str(tmp_path),
           "PYTHONPATH": ROOT}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads((tmp_path / "procedural_supply_quick.json").read_text())
    assert [row["threads"] for row in payload["throughput"]] == [1, 2]
    for row in payload["throughput"]:
        for key in ("specs_per_s", "ready_per_s", "render_images_per_s_32px",
                    "zoo_images_per_s_32px", "render_images_per_s_64px",
                    "zoo_images_per_s_64px"):
            assert row[key] > 0, key
    learn = payload["learnability"]
    assert learn["n_generators"] == 4 and learn["n_test"] == 40
    assert 0 <= learn["accuracy"] <= 1
    assert set(learn["per_generator"]) == set(learn["relations"])
    text = (tmp_path / "procedural_supply_quick.md").read_text()
    assert "## Throughput" in text and "## Learnability" in text
