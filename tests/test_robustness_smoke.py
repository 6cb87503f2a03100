"""benchmarks.robustness runs end to end in its quick mode, with the options
of issue 37's protocol (bag size, method selection)."""

import subprocess
import sys

from benchmark_helpers import ROOT, run_quick


def test_robustness_quick_with_selected_methods(tmp_path):
    payload = run_quick("robustness", tmp_path, "--bag-size", "20", "--methods", "DSF+",
                        "DSF+ augmentation=None", results_name="robustness_bag20_methods_quick")
    assert payload["config"]["bag_size"] == 20
    assert list(payload["results"]) == ["DSF+", "DSF+ augmentation=None"]
    conditions = set(payload["conditions"])
    for rec in payload["results"].values():
        for clf in ("nfc", "mlp"):
            assert set(rec[clf]) == conditions
            assert all(0.0 <= acc <= 1.0 for acc in rec[clf].values())
    md = (tmp_path / "robustness_bag20_methods_quick.md").read_text()
    assert "disjoint bags of 20" in md and "95% Wilson interval" in md


def test_robustness_refuses_an_unknown_method(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.robustness", "--quick",
                           "--methods", "DSF++"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown methods ['DSF++']" in done.stderr
