"""The demo: the same results in one or several processes; families from NearestRelatives."""

import re

import numpy as np
import pytest

import skfingerprint._demo as demo


@pytest.fixture
def tiny(monkeypatch):
    settings = dict(demo._SETTINGS["quick"], max_epochs=1, n_splits=2,
                    synthetic={"n_models": 3, "n_families": 2, "n_images_per_model": 32,
                               "image_size": 8})
    monkeypatch.setitem(demo._SETTINGS, "quick", settings)


def test_folds_in_processes_match_one_process(tiny, tmp_path):
    kw = dict(quick=True, data="synthetic", device="cpu", verbose=False)
    one = demo.run_demo(tmp_path / "one", n_jobs=1, **kw)
    two = demo.run_demo(tmp_path / "two", n_jobs=2, **kw)
    assert one["machine"]["fold_processes"] == 1
    assert two["machine"]["fold_processes"] == 2
    assert one["accuracy"] == two["accuracy"]
    np.testing.assert_array_equal(one["correlation_matrix"], two["correlation_matrix"])
    assert one["clusters"] == two["clusters"]
    assert one["families_method"] == "NearestRelatives()"
    assert set(one["nearest_relative"]) == set(one["sources"])
    assert all(one["nearest_relative"][s] != s for s in one["sources"])
    report = (tmp_path / "one" / "report.md").read_text(encoding="utf-8")
    assert "NearestRelatives" in report and f"{one['ari']:.3f}" in report
    table = demo.summary_table(one)
    assert re.search(r"families, NearestRelatives \(ARI\) +" + re.escape(f"{one['ari']:.3f}"),
                     table)


def test_families_are_the_nearest_relatives_tree_cut_at_the_true_families():
    from sklearn.metrics import adjusted_rand_score

    from skfingerprint import make_bags
    from skfingerprint.cluster import NearestRelatives, cut_families
    from skfingerprint.datasets import make_fingerprinted_images

    data = make_fingerprinted_images(n_models=4, n_families=2, n_images_per_model=32,
                                     image_size=8, include_real=True, random_state=0)
    X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
    sources = np.unique(y)
    found = demo._families(X, y, sources, data.families)

    rel = NearestRelatives().fit(X, y)
    assert rel.classes_.tolist() == sources.tolist()
    D = rel.pairwise_source_distances_
    ids = cut_families(D, n_families=len(set(data.families.values())))
    true = [data.families[s] for s in sources]
    assert found["ari"] == pytest.approx(adjusted_rand_score(true, ids))
    # clusters renumbered in order of first appearance, as cut_families numbers them
    assert [found["clusters"][s] for s in sources] == ids.tolist()
    for i, s in enumerate(sources):
        others = [j for j in range(len(sources)) if j != i]
        assert found["nearest_relative"][s] == sources[min(others, key=lambda j: D[i, j])]
    assert found["link"].shape == (len(sources) - 1, 4)


@pytest.mark.parametrize("n_jobs", [0, 1.5, True])
def test_bad_n_jobs(tiny, tmp_path, n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        demo.run_demo(tmp_path, quick=True, data="synthetic", n_jobs=n_jobs,
                      verbose=False)
