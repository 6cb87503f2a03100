"""``skfingerprint fit`` calibrates the probabilities that ``attribute`` prints."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from skfingerprint import load
from skfingerprint.cli import main
from skfingerprint.datasets import make_fingerprinted_images


def _ambiguous_tree(root, n_images=24):
    """Two folders of images of one generator: no model can tell them apart."""
    data = make_fingerprinted_images(n_models=1, n_families=1, n_images_per_model=2 * n_images,
                                     image_size=8, random_state=0)
    for i, img in enumerate(data.images):
        folder = os.path.join(root, "ab"[i % 2])
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img).save(os.path.join(folder, f"{i:04d}.png"))
    return [os.path.join(root, "a", f"{i:04d}.png") for i in range(0, 8, 2)]


def _fit_and_attribute(tmp_path, capsys, *options):
    query = _ambiguous_tree(str(tmp_path / "tree"))
    model = str(tmp_path / "m.skfp")
    assert main(["fit", str(tmp_path / "tree"), "--bag-size", "4", "--epochs", "1",
                 "--device", "cpu", "--threads", "1", "-q", "-o", model, *options]) == 0
    capsys.readouterr()
    assert main(["attribute", model, *query, "--bag-size", "2", "--json"]) == 0
    return json.loads(capsys.readouterr().out), load(model)


def test_ambiguous_sources_get_uncertain_probabilities(tmp_path, capsys):
    out, model = _fit_and_attribute(tmp_path, capsys)
    assert out["probability_calibration"]["method"] == "cross-fitted"
    assert out["probability_calibration"]["n_bags"] == 12
    assert out["probability_calibration"]["temperature"] == model[-1].temperature_
    for bag in out["bags"]:
        assert 0.5 <= bag["probability"] < 0.95
        assert bag["runner_up_probability"] > 0.05
        assert bag["probability"] + bag["runner_up_probability"] == pytest.approx(1.0)


def test_split_calibration_and_too_few_bags(tmp_path, capsys):
    out, _ = _fit_and_attribute(tmp_path, capsys, "--calibration", "0.3")
    assert out["probability_calibration"]["method"] == "held-out"
    assert out["probability_calibration"]["n_bags"] == 4  # 2 of each source's 6 bags
    few = tmp_path / "few"
    _ambiguous_tree(str(few), n_images=8)  # 2 bags of 4 per source
    assert main(["fit", str(few), "--bag-size", "4", "--epochs", "1", "--device",
                 "cpu", "--threads", "1", "-q", "-o", str(tmp_path / "few.skfp")]) == 0
    err = capsys.readouterr().err
    assert "warning: sources with fewer than 3 bags (a, b)" in err
    assert "overconfident" in err
    calibration = load(str(tmp_path / "few.skfp"))[-1].temperature_calibration_
    assert calibration["method"] == "leave-one-out"
    assert np.isfinite(load(str(tmp_path / "few.skfp"))[-1].temperature_)
