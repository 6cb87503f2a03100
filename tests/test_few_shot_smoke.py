"""Smoke test of ``benchmarks.few_shot`` on a synthetic stand-in for the zoo
(2-epoch fits, tiny images): every method, training size and classifier is
in the table.  The figures are measured by real runs."""

import json

import numpy as np

import pytest


@pytest.fixture
def few_shot(monkeypatch, tmp_path, one_thread):
    from benchmarks import few_shot
    from skfingerprint import make_bags
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))

    def fake_bags(preset, n_per_source, bag_size, seed=0):
        data = make_fingerprinted_images(n_models=4, n_images_per_model=96, image_size=8,
                                         random_state=0)
        X, y = make_bags(data.images, data.labels, bag_size=bag_size, random_state=seed)
        return data, X, y

    monkeypatch.setattr(few_shot, "zoo_bags", fake_bags)
    return few_shot


def test_few_shot_runs_every_method_and_size(few_shot, tmp_path):
    assert few_shot.main(["--quick"]) == 0
    rows = json.loads((tmp_path / "few_shot_quick.json").read_text())["rows"]
    expected = {f"{m}|{n}|{c}" for m in few_shot.METHODS for n in (2, 5)
                for c in ("nearest", "MLP")}
    assert set(rows) == expected
    # every held-out bag of every seed is counted once per cell
    assert {r["n"] for r in rows.values()} == {4 * 4}
    md = (tmp_path / "few_shot_quick.md").read_text()
    assert "| 5 | MLP |" in md and "zero-shot" in md


def test_few_shot_rescaled_fine_tuning_when_named(few_shot, tmp_path):
    """The experiment row: phi rescaled to a fresh initialisation's norms
    after the shipped weights are loaded (the set embedding kept), then
    fine-tuned; its own file."""
    import torch

    from benchmarks._rescaled_start import phi_conv_norms, rescale_phi
    from skfingerprint.encoder import DeepSet
    from skfingerprint.encoder._weights import load_into, load_weights

    assert few_shot.main(["--quick", "--n-train", "2", "--methods", "zero-shot",
                          "fine-tuned, rescaled", "--suffix", "x"]) == 0
    rows = json.loads((tmp_path / "few_shot_quick_x.json").read_text())["rows"]
    assert set(rows) == {f"{m}|2|{c}" for m in ("zero-shot", "fine-tuned, rescaled")
                         for c in ("nearest", "MLP")}
    md = (tmp_path / "few_shot_quick_x.md").read_text()
    assert '--methods zero-shot "fine-tuned, rescaled" --suffix x' in md
    # the rescaling keeps phi's features up to one factor
    module = DeepSet(**load_weights("pretrained")[1]["architecture"])
    fresh = phi_conv_norms(module)
    load_into(module, "pretrained")
    module.eval()
    x = torch.rand(2, 3, 8, 8, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = module.image_features(x)
        total = rescale_phi(module, fresh)
        after = module.image_features(x)
    np.testing.assert_allclose(phi_conv_norms(module), fresh, rtol=1e-5)
    torch.testing.assert_close(after * total, before, rtol=1e-3,
                               atol=1e-3 * float(before.abs().mean()))


def test_few_shot_experiment_rows_change_only_their_parameters():
    from benchmarks import few_shot
    from benchmarks._rescaled_start import RescaledStart

    base = few_shot._estimator("fine-tuned", 0, 2, "artifacts-v2").get_params()
    for name, (rescaled, image_lr) in few_shot.EXPERIMENTS.items():
        est = few_shot._estimator(name, 0, 2, "artifacts-v2")
        assert isinstance(est, RescaledStart) == rescaled
        params = est.get_params()
        assert params["image_lr"] == image_lr
        assert {k: v for k, v in params.items() if k != "image_lr"} == {
            k: v for k, v in base.items() if k != "image_lr"}
