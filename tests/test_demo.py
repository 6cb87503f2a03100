"""The demo's cross-validation gives the same results in one or several processes."""

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


@pytest.mark.parametrize("n_jobs", [0, 1.5, True])
def test_bad_n_jobs(tiny, tmp_path, n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        demo.run_demo(tmp_path, quick=True, data="synthetic", n_jobs=n_jobs,
                        verbose=False)
