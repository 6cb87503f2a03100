"""Smoke test of ``benchmarks.lineage`` on a synthetic stand-in for the zoo
with a lineage tree (1-epoch fits, tiny images): every method and both ground
truths are in the table.  The figures are measured by real runs."""

import json

import numpy as np
import pytest


@pytest.fixture
def lineage(monkeypatch, tmp_path, one_thread):
    from benchmarks import lineage
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))

    tree = {"real": ("real",), "unet_ddim": ("diffusion", "unet", "ddim"),
            "unet_ddpm": ("diffusion", "unet", "ddpm"), "gan": ("gan", "gan"),
            "gan_ft": ("gan", "gan", "finetune"), "vae": ("vae", "vae")}

    def fake_subset(preset, n_per_source, seed=0):
        data = make_fingerprinted_images(n_models=6, n_families=3, n_images_per_model=80,
                                         image_size=8, random_state=0)
        rename = dict(zip(data.sources.tolist(), tree))
        labels = np.array([rename[s] for s in data.labels.tolist()])
        data.sources = np.array(list(tree))
        data.lineage = tree
        data.families = {s: t[0] for s, t in tree.items()}
        data.sample_size = 8
        return data, data.images, labels

    monkeypatch.setattr(lineage, "zoo_subset", fake_subset)
    return lineage


def test_lineage_runs_end_to_end_with_both_truths(lineage, tmp_path):
    results = lineage.main(["--quick"])
    assert set(results) == set(lineage.METHODS)
    for r in results.values():
        # real and vae have no relative under either truth: not left out
        assert set(r["loo"]) == {"unet_ddim", "unet_ddpm", "gan", "gan_ft"}
        for entry in r["loo"].values():
            assert entry["nearest"] in {"real", "unet_ddim", "unet_ddpm", "gan", "gan_ft",
                                        "vae"}
            assert 1 <= entry["lineage"]["rank"] <= 5
        assert -1.0 <= r["ari"]["class"] <= 1.0
    md = (tmp_path / "lineage_quick.md").read_text()
    assert "| DSF+ phi |" in md and "| PRNU |" in md
    payload = json.loads((tmp_path / "lineage_quick.json").read_text())
    # chance: each of the 4 counted sources has 1 relative among 5 known
    assert payload["chance"]["lineage"] == pytest.approx(0.2)


def test_relatives_rank(lineage):
    groups = {"a": 0, "b": 1, "c": 0, "s": 0}
    known = ["a", "b", "c"]
    assert lineage.relatives_rank(np.array([0.5, 0.1, 0.9]), known, groups, "s") == 2
    assert lineage.relatives_rank(np.array([0.5, 0.1, 0.9]), known,
                                  {"a": 2, "b": 1, "c": 3, "s": 0}, "s") is None
