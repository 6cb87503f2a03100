"""Smoke test of ``benchmarks/procedural_supply.py --quick``.

The quick mode measures a few generators and images at every thread count
and size, trains a 1-epoch CNN, and writes its tables; the figures
themselves come from the full run (``benchmarks/results/procedural_supply.md``).
"""

import pytest
from benchmark_helpers import run_quick

pytestmark = pytest.mark.integration


def test_quick_mode_writes_every_figure(tmp_path):
    payload = run_quick("procedural_supply", tmp_path, results_name="procedural_supply_quick")
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
