"""Smoke test of ``benchmarks/audit_false_alarms.py --quick`` (issue 40).

The quick mode audits a few small sets of every case end to end and writes
its tables; the figures themselves come from the full run
(``benchmarks/results/audit_false_alarms.md``).
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_mode_writes_every_case(tmp_path):
    if os.path.isfile(os.path.join(ROOT, "benchmarks", "__init__.py")):
        command = [sys.executable, "-m", "benchmarks.audit_false_alarms", "--quick"]
    else:
        command = [sys.executable, os.path.join("benchmarks", "audit_false_alarms.py"),
                   "--quick"]
    env = {**os.environ, "SKFINGERPRINT_BENCHMARK_RESULTS": str(tmp_path),
           "PYTHONPATH": ROOT}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads((tmp_path / "audit_false_alarms_quick.json").read_text())
    assert payload["false_alarm_rate"] == 0.0
    assert payload["must_detect"] == {"format": 1.0, "size": 1.0, "alpha": 1.0}
    for kind in ("progressive", "opaque_alpha", "lossless_format"):
        assert payload["flag_rate"][kind] == 0.0
        assert all(r["notes"] for r in payload["cases"][kind])  # a note, not a flag
    assert payload["rule_mismatches"] == 0
    md = (tmp_path / "audit_false_alarms_quick.md").read_text()
    assert "| random per-file mix (no confound) |" in md and "margin 0.1" in md
