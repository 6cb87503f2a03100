"""benchmarks.robustness runs end to end in its quick mode, with the options
of issue 37's protocol (bag size, method selection, JPEG training bags)."""

import subprocess
import sys

import numpy as np
import pytest

from benchmark_helpers import ROOT, run_quick


def test_robustness_quick_with_selected_methods(tmp_path):
    payload = run_quick("robustness", tmp_path, "--bag-size", "20", "--train-jpeg", "75",
                        "--methods", "DSF+", "DSF+ augmentation=None",
                        results_name="robustness_bag20_trainq75_methods_quick")
    assert payload["config"]["bag_size"] == 20
    assert payload["config"]["train_jpeg"] == 75
    assert list(payload["results"]) == ["DSF+", "DSF+ augmentation=None"]
    conditions = set(payload["conditions"])
    for rec in payload["results"].values():
        for clf in ("nfc", "mlp"):
            assert set(rec[clf]) == conditions
            assert all(0.0 <= acc <= 1.0 for acc in rec[clf].values())
        for cond, acc in rec["nfc"].items():  # the confusion matrix agrees
            C = np.asarray(rec["confusion"][cond])
            assert C.shape == (len(rec["classes"]),) * 2
            assert np.trace(C) / C.sum() == pytest.approx(acc)
    md = (tmp_path / "robustness_bag20_trainq75_methods_quick.md").read_text()
    assert "disjoint bags of 20" in md and "95% Wilson interval" in md
    assert "re-encoded as JPEG quality 75" in md and "most confused pairs" in md


def test_robustness_refuses_an_unknown_method(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.robustness", "--quick",
                           "--methods", "DSF++"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown methods ['DSF++']" in done.stderr
    done = subprocess.run([sys.executable, "-m", "benchmarks.robustness", "--quick",
                           "--methods", "DSF+ no_such_parameter=1"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "method 'DSF+ no_such_parameter=1'" in done.stderr
    assert "Traceback" not in done.stderr


def test_robustness_takes_a_setting_of_the_ablation_as_a_method():
    from benchmarks import encoder_ablation, robustness

    cfg = dict(robustness.QUICK)
    factory, metric = robustness._setting_method("DSF+ augmentation=jpeg_only,max_epochs=2",
                                                 cfg)
    enc = factory()
    assert metric == "euclidean" and enc.max_epochs == 2
    want = encoder_ablation.augmentations()["jpeg_only"]
    assert enc.augmentation.get_params() == want.get_params()
    with pytest.raises(TypeError):  # a parameter the encoder does not have
        robustness._setting_method("DSF+ no_such_parameter=1", cfg)
