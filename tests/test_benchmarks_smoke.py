"""Smoke tests of the paper-table benchmarks (``benchmarks/paper_tables.py``).

The benchmark code runs end to end on a small synthetic set in place of the
model zoo (which the full and ``--quick`` runs use), with 1-epoch fits, and
writes its tables to a temporary folder: every method, bag size and figure
must be there.  The figures themselves are measured by the full run.
"""

import json
import os
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.integration

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "benchmarks")

pytest.importorskip("matplotlib")


@pytest.fixture
def paper_tables(monkeypatch, tmp_path, one_thread):
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.syspath_prepend(BENCH)
    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))
    sys.modules.pop("paper_tables", None)
    import paper_tables

    def fake_zoo(preset):
        return make_fingerprinted_images(n_models=4, n_families=2,
                                         n_images_per_model=240, image_size=8,
                                         random_state=0)

    monkeypatch.setattr(paper_tables, "load_zoo", fake_zoo)
    return paper_tables


def _cfg(**kw):
    cfg = dict(preset="synthetic", images_per_source=40, bag_sizes=(1, 4), folds=3,
               epochs=1)
    cfg.update(kw)
    return cfg


def test_attribution_tables_have_every_method_and_bag_size(paper_tables, tmp_path):
    results = paper_tables.run_attribution(_cfg(), "_smoke")
    methods = list(paper_tables.make_methods(_cfg()))
    assert set(results) == {(m, b) for m in methods for b in (1, 4)}
    for rec in results.values():
        assert len(rec["mlp_acc"]) == 3  # one per fold
        assert all(0.0 <= a <= 1.0 for a in rec["mlp_acc"] + rec["nc_acc"])
        assert all(0.0 <= a <= 1.0 for a in rec["mlp_auc"] + rec["nc_auc"])
    # with bags of one image DSF+ is DSF-: the same fits, not a second run
    assert results["DSF+", 1] is results["DSF-", 1]
    t3 = (tmp_path / "paper_table3_attribution_smoke.md").read_text()
    t2 = (tmp_path / "paper_table2_decorrelation_smoke.md").read_text()
    for m in methods:
        assert t3.count(f"| {m} |") == 2 and t2.count(f"| {m} |") == 1
    payload = json.loads((tmp_path / "paper_table3_attribution_smoke.json").read_text())
    assert payload["config"]["folds"] == 3 and "env" in payload


def test_families_table_and_figure(paper_tables, tmp_path):
    paper_tables.run_families(_cfg(), "_smoke")
    md = (tmp_path / "paper_fig3_families_smoke.md").read_text()
    assert (tmp_path / "paper_fig3_families_smoke.png").stat().st_size > 0
    rows = json.loads((tmp_path / "paper_fig3_families_smoke.json").read_text())["rows"]
    assert len(rows) == 5 and all(-1.0 <= r["ari"] <= 1.0 for r in rows)
    assert "| DSF+ |" in md


def test_stability_grid_searches(paper_tables, tmp_path):
    paper_tables.run_stability(_cfg(), "_quick")
    payload = json.loads((tmp_path / "paper_tableA3_stability_quick.json").read_text())
    sizes = [r["fp__bag_size"] for r in payload["images per bag"]["rows"]]
    assert sizes == [1, 2, 5, 10, 20]
    large = [r["fp__bag_size"] for r in payload["images per bag, up to 300"]["rows"]]
    assert large == [10, 20, 40]
    md = (tmp_path / "paper_tableA3_stability_quick.md").read_text()
    assert md.count("## Score against") == 3
    # a part run alone keeps the others' results
    before = payload["bags per model"]["rows"]
    paper_tables.run_stability(_cfg(), "_quick", parts=["bag_size"])
    after = json.loads((tmp_path / "paper_tableA3_stability_quick.json").read_text())
    assert after["bags per model"]["rows"] == before
    assert (tmp_path / "paper_tableA3_stability_quick.md").read_text().count(
        "## Score against") == 3
    assert np.isfinite([r["decorrelation_mean"]
                        for r in payload["bags per model"]["rows"]]).all()


def test_open_set_benchmark_runs_and_tables_every_score(monkeypatch, tmp_path, one_thread):
    """benchmarks/open_set.py end to end on a tiny synthetic zoo, 1-epoch fits."""
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.syspath_prepend(BENCH)
    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))
    sys.modules.pop("open_set", None)
    import open_set

    def fake_zoo(preset, n_per_source, seed):
        zoo = make_fingerprinted_images(n_models=4, n_families=2, n_images_per_model=60,
                                        image_size=8, random_state=seed)
        zoo.image_size = 8
        return zoo, zoo.images, zoo.labels

    monkeypatch.setitem(open_set.QUICK, "epochs", 1)
    monkeypatch.setitem(open_set.QUICK, "bag_sizes", (4,))
    open_set.main(["--quick", "--sources", "A1,B2"], zoo_loader=fake_zoo)
    md = (tmp_path / "open_set_quick.md").read_text()
    for score in open_set.SCORES:
        assert f"`{score}`" in md
    assert "MLP 1 - max p" in md and "Bags of 4, 5 training bags" in md
    run = json.loads((tmp_path / "open_set_quick.json").read_text())["runs"]["bag4_train5"]
    assert sorted(run["per_source"]) == ["A1", "B2"]
    for row in run["per_source"].values():
        for score in open_set.SCORES:
            assert 0.0 <= row[score]["cross_fit_frr"] <= 1.0
            assert 0.0 <= row[score]["auroc"] <= 1.0
            # the pooled rate is a mean of the per-source rates: never above the worst
            assert (row[score]["cross_fit_frr"]
                    <= row[score]["cross_fit_frr_worst_source"] + 1e-12)
    assert run["encoder"]["front_end"] == "auto" and "worst-source FRR" in md


def test_open_set_benchmark_leaves_the_samplers_of_one_network_out(monkeypatch, tmp_path,
                                                                   one_thread):
    """``--leave-out network``: every sampler of the left-out network is unknown at once."""
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.syspath_prepend(BENCH)
    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))
    sys.modules.pop("open_set", None)
    import open_set

    metadata = {"A1": {"job": "net_a"}, "A2": {"job": "net_a"}, "B1": {"job": "B1"},
                "B2": {"job": None}}  # the zoo's real photos have no job
    assert open_set.network_units(metadata) == {
        "net_a (2 samplers)": ["A1", "A2"], "B1": ["B1"], "B2": ["B2"]}

    def fake_zoo(preset, n_per_source, seed):
        zoo = make_fingerprinted_images(n_models=4, n_families=2, n_images_per_model=60,
                                        image_size=8, random_state=seed)
        zoo.image_size, zoo.metadata = 8, metadata
        return zoo, zoo.images, zoo.labels

    monkeypatch.setitem(open_set.QUICK, "epochs", 1)
    monkeypatch.setitem(open_set.QUICK, "bag_sizes", (4,))
    open_set.main(["--quick", "--leave-out", "network", "--sources",
                   "net_a (2 samplers)"], zoo_loader=fake_zoo)
    runs = json.loads((tmp_path / "open_set_quick.json").read_text())["runs"]
    run = runs["bag4_train5_network"]
    assert run["leave_out"] == "network"
    row = run["per_source"]["net_a (2 samplers)"]
    # the known sources' 5 test bags each, and all 15 bags of each left-out sampler
    assert row["n_known_bags"] == 2 * 5 and row["n_unknown_bags"] == 2 * 15
    md = (tmp_path / "open_set_quick.md").read_text()
    assert "leave one network out" in md and "| left-out network |" in md
    with pytest.raises(SystemExit):  # a source is not a network of its own here
        open_set.main(["--quick", "--leave-out", "network", "--sources", "A1"],
                      zoo_loader=fake_zoo)
