"""Smoke tests of the paper-table benchmarks (``python -m benchmarks.paper_tables``)
and of the open-set benchmark, and unit tests of the helpers they share
(``benchmarks._common``).

The benchmark code runs end to end on a small synthetic set in place of the
model zoo (which the full and ``--quick`` runs use), with 1-epoch fits, and
writes its tables to a temporary folder: every method, bag size and figure
must be there.  The figures themselves are measured by the full run.
"""

import json
import math

import numpy as np
import pytest

from benchmarks import _common

pytest.importorskip("matplotlib")


# ------------------------------------------------------------- shared helpers
def test_mean_sd_is_written_one_way():
    assert _common.mean_sd([0.5, 0.7]) == "0.600 ± 0.100"  # population sd, as np.std
    assert _common.mean_sd([0.25]) == "0.250"  # one value: no spread to show
    assert _common.format_mean_sd(0.5, 0.01, digits=2, bold_mean=True) == "**0.50** ± 0.01"
    assert _common.format_mean_sd(0.5) == "0.500"


def test_wilson_interval():
    low, high = _common.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    # never outside [0, 1], and not empty at the ends (unlike the normal interval)
    low, high = _common.wilson_interval(20, 20)
    assert high == 1.0 and 0.8 < low < 0.9
    low, high = _common.wilson_interval(0, 20)
    assert low == 0.0 and 0.1 < high < 0.2
    assert all(math.isnan(v) for v in _common.wilson_interval(0, 0))
    assert _common.format_wilson(50, 100) == "0.500 [0.404, 0.596]"


def test_splits_per_source():
    labels = np.array(["b", "a", "b", "a", "b", "a", "b"])
    assert _common.first_per_source(labels, 2).tolist() == [1, 3, 0, 2]  # sorted sources
    assert _common.first_per_source(labels, 1, ["b", "a"]).tolist() == [0, 1]
    assert _common.first_per_source_mask(labels, 1).tolist() == [
        True, True, False, False, False, False, False]
    train, test = _common.halves_per_source(labels, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(7))
    assert (labels[train] == "a").sum() == 1 and (labels[train] == "b").sum() == 2
    np.testing.assert_array_equal(train, _common.halves_per_source(labels, seed=0)[0])
    tr, te = _common.stratified_halves(np.repeat(["x", "y"], 4), seed=0)
    assert len(tr) == len(te) == 4 and not set(tr) & set(te)


def test_encoder_factory_keeps_the_defaults_but_what_is_asked():
    enc = _common.encoder(None, 3, patch_size=16)
    default = _common.encoder()
    assert enc.random_state == 3 and enc.patch_size == 16
    assert enc.max_epochs == default.max_epochs
    assert _common.encoder(2).max_epochs == 2
    assert _common.encoder(2, max_epochs=5).max_epochs == 5  # an explicit value wins


def _benchmark_modules():
    import pkgutil

    import benchmarks
    import benchmarks.speed

    return [m.name for pkg in (benchmarks, benchmarks.speed)
            for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + ".")
            if not m.ispkg and not m.name.rsplit(".", 1)[1].startswith("_")]


def test_every_benchmark_is_a_module_of_the_package():
    """``python -m benchmarks.NAME``: no ``sys.path`` edits, no imports from the
    tests, no private names of another benchmark, and a ``main``."""
    import ast
    import importlib
    import inspect

    names = _benchmark_modules()
    assert "benchmarks.paper_tables" in names and "benchmarks.speed.gpu" in names
    shared = {"benchmarks._common", "benchmarks._crafted_model_files"}
    for name in names:
        module = importlib.import_module(name)
        assert callable(module.main), name
        source = inspect.getsource(module)
        assert "sys.path" not in source, name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("tests"), name
                if node.module.startswith("benchmarks") and node.module not in shared:
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    assert not private, (name, node.module, private)


# --------------------------------------------------------------- paper tables
@pytest.fixture
def paper_tables(monkeypatch, tmp_path, one_thread):
    from benchmarks import paper_tables
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))

    def fake_zoo(preset, seed=0):
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


@pytest.mark.integration
def test_attribution_tables_have_every_method_and_bag_size(paper_tables, tmp_path):
    results = paper_tables.run_attribution(_cfg(), "_smoke")
    methods = [m for m in paper_tables.make_methods(_cfg())
               if m not in paper_tables.ONLY_WHEN_NAMED]
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


@pytest.mark.integration
def test_attribution_of_named_methods_and_bag_sizes_beside_the_full_tables(
        paper_tables, tmp_path, monkeypatch):
    monkeypatch.setattr(paper_tables, "QUICK", _cfg())
    paper_tables.main(["attribution", "--quick", "--methods", "DSF+ 2026-12-05 defaults",
                       "PRNU (Marra)", "--bag-sizes", "4", "--name", "two"])
    t2 = (tmp_path / "paper_table2_decorrelation_two_quick.md").read_text()
    assert "| method | bag 4 |" in t2
    assert "| DSF+ 2026-12-05 defaults |" in t2 and "| PRNU (Marra) |" in t2
    assert "| DSF+ |" not in t2
    assert '--bag-sizes 4 --name two`' in t2 and '"DSF+ 2026-12-05 defaults"' in t2
    assert not (tmp_path / "paper_table2_decorrelation_quick.md").exists()


@pytest.mark.integration
def test_families_table_and_figure(paper_tables, tmp_path):
    paper_tables.run_families(_cfg(), "_smoke")
    md = (tmp_path / "paper_fig3_families_smoke.md").read_text()
    assert (tmp_path / "paper_fig3_families_smoke.png").stat().st_size > 0
    rows = json.loads((tmp_path / "paper_fig3_families_smoke.json").read_text())["rows"]
    assert [r["method"] for r in rows] == [
        m for m in paper_tables.make_methods(_cfg()) if m not in paper_tables.ONLY_WHEN_NAMED]
    assert all(-1.0 <= r["ari"] <= 1.0 for r in rows)
    assert "| DSF+ |" in md


@pytest.mark.integration
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


@pytest.mark.integration
def test_open_set_benchmark_runs_and_tables_every_score(monkeypatch, tmp_path, one_thread):
    """``benchmarks.open_set`` end to end on a tiny synthetic zoo, 1-epoch fits."""
    from benchmarks import open_set
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))

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


@pytest.mark.integration
def test_open_set_benchmark_leaves_the_samplers_of_one_network_out(monkeypatch, tmp_path,
                                                                   one_thread):
    """``--leave-out network``: every sampler of the left-out network is unknown at once."""
    from benchmarks import open_set
    from skfingerprint.datasets import make_fingerprinted_images

    monkeypatch.setenv("SKFINGERPRINT_BENCHMARK_RESULTS", str(tmp_path))

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
    # a network by its name alone (the table's "net_a (2 samplers)" works too)
    open_set.main(["--quick", "--leave-out", "network", "--sources", "net_a"],
                  zoo_loader=fake_zoo)
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
