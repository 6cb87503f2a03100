"""Smoke test of ``benchmarks/audit_false_alarms.py --quick`` (issue 40).

The quick mode audits a few small sets of every case end to end and writes
its tables; the figures themselves come from the full run
(``benchmarks/results/audit_false_alarms.md``).
"""

import pytest
from benchmark_helpers import run_quick

pytestmark = pytest.mark.integration


def test_quick_mode_writes_every_case(tmp_path):
    payload = run_quick("audit_false_alarms", tmp_path, results_name="audit_false_alarms_quick")
    assert payload["false_alarm_rate"] == 0.0
    assert payload["must_detect"] == {"format": 1.0, "size": 1.0, "alpha": 1.0}
    for kind in ("progressive", "opaque_alpha", "lossless_format"):
        assert payload["flag_rate"][kind] == 0.0
        assert all(r["notes"] for r in payload["cases"][kind])  # a note, not a flag
    assert payload["rule_mismatches"] == 0
    md = (tmp_path / "audit_false_alarms_quick.md").read_text()
    assert "| random per-file mix (no confound) |" in md and "margin 0.1" in md
