"""Smoke tests of ``benchmarks.calibration``: the zoo mode and the
real-world mode (through the CLI's ``fit`` and ``attribute``) run end to end
on a small synthetic zoo in place of the model zoo, with 1-epoch fits, and
write their tables and figures to a temporary folder.  The figures
themselves are measured by the full runs."""

import json

import numpy as np
import pytest
from sklearn.utils import Bunch

from benchmarks import calibration

pytest.importorskip("matplotlib")


def _fake_zoo(n_sources, n_per_source, size, seed=0):
    """Random images with a per-source colour shift, zoo-like."""
    rng = np.random.RandomState(seed)
    sources = np.array([f"src{i}" for i in range(n_sources)])
    labels = np.repeat(sources, n_per_source)
    shift = np.repeat(np.arange(n_sources) * 40, n_per_source)[:, None, None, None]
    images = (rng.randint(0, 96, (labels.size, size, size, 3)) + shift).astype(np.uint8)
    return Bunch(images=images, labels=labels, sources=sources,
                 lineage={s: (s,) for s in sources})


def test_ece_interval_brackets_the_estimate_and_widens_with_fewer_bags():
    rng = np.random.RandomState(0)
    classes = np.array(["a", "b"])
    y = np.repeat(classes, 100)
    p = rng.uniform(0.5, 1.0, 200)
    right = rng.uniform(size=200) < p  # calibrated: right with probability p
    top = np.where(right, np.searchsorted(classes, y), 1 - np.searchsorted(classes, y))
    proba = np.where(top[:, None] == np.arange(2), p[:, None], 1 - p[:, None])
    ece = calibration.figures(y, proba, classes)["ece"]
    low, high = calibration.ece_interval(y, proba, classes)
    assert low <= ece <= high
    low_few, high_few = calibration.ece_interval(y, proba, classes, n_independent=20)
    assert high_few - low_few > high - low


def test_names_and_commands_of_each_mode():
    args = calibration.parse_args([])
    assert calibration.results_name(args) == "calibration"
    assert calibration.command_line(args) == "python -m benchmarks.calibration"
    args = calibration.parse_args(["--preset", "default", "--quick"])
    assert args.n_per_source == 64 and args.epochs == 1 and args.seeds == [0]
    assert calibration.results_name(args) == "calibration_default_quick"
    args = calibration.parse_args(["--preset", "default", "--n-per-source", "256"])
    assert calibration.results_name(args) == "calibration_default_n256"
    args = calibration.parse_args(["--set", "realworld"])
    assert (args.n_per_source, args.bag_size, args.sample_size) == (128, 8, 192)
    assert calibration.results_name(args) == "calibration_realworld"
    args = calibration.parse_args(["--set", "realworld", "--quick"])
    assert (args.n_per_source, args.bag_size, args.sample_size) == (16, 2, 96)
    with pytest.raises(SystemExit):
        calibration.parse_args(["--set", "realworld", "--sources", "siblings"])


def _results(tmp_path, name):
    with open(tmp_path / (name + ".json")) as fh:
        payload = json.load(fh)
    return payload, (tmp_path / (name + ".md")).read_text()


def test_zoo_mode_runs_and_reports_both_temperatures(monkeypatch, tmp_path, one_thread):
    zoo = _fake_zoo(3, 48, 16)
    calls = []

    def fake_subset(preset, n_per_source, seed=0):
        calls.append((preset, n_per_source))
        return zoo, zoo.images, zoo.labels

    monkeypatch.setattr(calibration, "zoo_subset", fake_subset)
    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))
    png = tmp_path / "zoo.png"
    calibration.main(["--preset", "default", "--quick", "--plot", str(png)])
    assert calls == [("default", 64)]
    payload, md = _results(tmp_path, "calibration_default_quick")
    (row,) = payload["seeds"]
    assert row["n_test_bags"] == 9 and row["n_train_bags"] == 9  # 18 bags of 8, halved
    for key in ("before", "after"):
        assert 0 <= row[key]["ece"] <= 1 and 0 <= row[key]["accuracy"] <= 1
    low, high = row["ece_after_95"]
    assert low <= row["after"]["ece"] <= high
    assert payload["pooled"]["n_test_bags"] == 9
    assert "Default zoo" in md and "| pooled |" in md and png.stat().st_size > 0


def test_realworld_mode_uses_the_cli(monkeypatch, tmp_path, one_thread):
    from skfingerprint import datasets

    def fake_zoo(preset, *, sample_size, n_samples, random_state):
        return _fake_zoo(3, n_samples, sample_size)

    monkeypatch.setattr(datasets, "make_model_zoo", fake_zoo)
    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))
    png = tmp_path / "rw.png"
    calibration.main(["--set", "realworld", "--quick", "--draws", "2",
                      "--plot", str(png)])
    payload, md = _results(tmp_path, "calibration_realworld_quick")
    (row,) = payload["seeds"]
    # 16 images per source: 8 train (4 bags of 2), 8 test: 4 bags per draw
    assert (row["n_train_images"], row["n_test_images"]) == (24, 24)
    assert row["n_independent_test_bags"] == 12 and row["n_test_bags"] == 24
    # the probabilities are those of the temperature fit calibrated on held-out bags
    assert row["probability_calibration"]["method"] == "cross-fitted"
    assert row["probability_calibration"]["temperature"] == row["temperature_after"]
    assert 0 <= row["after"]["ece"] <= 1
    assert "Real-world set" in md and "attribute --json" in md and png.stat().st_size > 0
