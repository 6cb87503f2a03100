"""Smoke test of ``benchmarks.zoo_siblings`` on a synthetic stand-in for the
zoo whose sources carry the sibling names (1-epoch fits, tiny images): every
pair kind and method is in the table.  The figures are measured by real runs."""

import json

import numpy as np


def test_zoo_siblings_quick_runs_end_to_end(monkeypatch, tmp_path, one_thread):
    from benchmarks import zoo_siblings
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))

    names = ["ldm_a_ddim", "ldm_b_ddim", "score_ddim", "score_euler_a",
             "gan_ns_tconv_ft_a", "gan_ns_tconv_ft_b"]

    def fake_zoo(preset, seed=0):
        data = make_fingerprinted_images(n_models=6, n_families=3, n_images_per_model=32,
                                         image_size=8, random_state=0)
        rename = dict(zip(data.sources.tolist(), names))
        data.labels = np.array([rename[s] for s in data.labels.tolist()])
        data.sources = np.array(names)
        data.sample_size = 8
        return data

    monkeypatch.setattr(zoo_siblings, "load_zoo", fake_zoo)
    cfg = {"preset": "fake", "bag_size": 4, "images_per_source": 32, "epochs": 1}
    rows, overall = zoo_siblings.run(cfg, "_smoke")
    assert {r["kind"] for r in rows} == {"shared decoder", "sampler", "fine-tune"}
    assert {r["pair"] for r in rows} == {"ldm_a_ddim vs ldm_b_ddim", "score_ddim vs score_euler_a",
                                         "gan_ns_tconv_ft_a vs gan_ns_tconv_ft_b"}
    for r in rows:
        assert all(0.0 <= r[m] <= 1.0 for m in ("DSF+", "PRNU", "Spectrum", "CNN"))
    assert set(overall) == {"DSF+", "CNN"}
    assert overall["DSF+"]["n_sources"] == 6 and 0.0 <= overall["CNN"]["mlp"] <= 1.0
    md = (tmp_path / "zoo_siblings_smoke.md").read_text()
    assert md.count("| sampler |") == 1 and "On all 6 sources" in md
    assert "| CNN |" in md
    assert json.loads((tmp_path / "zoo_siblings_smoke.json").read_text())["pairs"]

    # rerunning one method keeps the other columns of the previous file
    path = tmp_path / "zoo_siblings_smoke.json"
    saved = json.loads(path.read_text())
    saved["pairs"][0]["PRNU"] = -1.0  # a marker no real run can produce
    saved["all_sources"]["CNN"]["mlp"] = -1.0
    path.write_text(json.dumps(saved))
    rows2, overall2 = zoo_siblings.run(cfg, "_smoke", only=["DSF+"])
    assert rows2[0]["PRNU"] == -1.0 and overall2["CNN"]["mlp"] == -1.0
    assert [r["DSF+"] for r in rows2] == [r["DSF+"] for r in rows]  # seeded: same fits

    # several seeds: the learned methods are fitted once per seed, the cell is their mean
    rows3, overall3 = zoo_siblings.run(dict(cfg, seeds=[0, 1]), "_seeds")
    for r, r1 in zip(rows3, rows):
        assert len(r["per_seed"]["DSF+"]) == 2 and len(r["per_seed"]["PRNU"]) == 1
        assert r["per_seed"]["DSF+"][0] == r1["DSF+"]  # seed 0 is the single-seed run
        assert r["DSF+"] == np.mean(r["per_seed"]["DSF+"])
        assert r["PRNU"] == r1["PRNU"]
    assert len(overall3["CNN"]["per_seed"]["mlp"]) == 2
    md3 = (tmp_path / "zoo_siblings_seeds.md").read_text()
    assert " ± " in md3 and "--seeds 0,1" in md3
