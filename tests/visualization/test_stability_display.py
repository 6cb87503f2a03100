"""Rendering tests of StabilityDisplay."""

import importlib
import sys

import numpy as np
import pytest

import skfingerprint
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV

from skfingerprint.metrics import DecorrelationScorer
from skfingerprint.visualization import StabilityDisplay


class Noisy(TransformerMixin, BaseEstimator):
    """Embeddings whose decorrelation falls as `noise` grows."""

    def __init__(self, noise=0.0, seed=0):
        self.noise = noise
        self.seed = seed

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X + self.noise * np.random.RandomState(self.seed).normal(size=X.shape)


def search_results(grid):
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(4), 12)
    X = 2 * rng.normal(size=(4, 16))[y] + rng.normal(size=(y.size, 16))
    search = GridSearchCV(
        Noisy(),
        grid,
        scoring={"decorr": DecorrelationScorer(), "frob": DecorrelationScorer(kind="frobenius")},
        refit=False,
        cv=3,
    )
    return search.fit(X, y).cv_results_


def test_from_cv_results_single_line():
    noises = [4.0, 0.0, 1.0, 2.0]  # unsorted on purpose
    results = search_results({"noise": noises})
    disp = StabilityDisplay.from_cv_results(results, "noise", score="decorr")

    order = np.argsort(noises)
    assert disp.param_range.tolist() == sorted(noises)
    assert len(disp.lines_) == 1 and len(disp.fill_betweens_) == 1
    line = disp.lines_[0]
    np.testing.assert_allclose(line.get_xdata(), sorted(noises))
    mean, std = results["mean_test_decorr"][order], results["std_test_decorr"][order]
    np.testing.assert_allclose(line.get_ydata(), mean)
    assert np.all(np.diff(mean) < 0)  # the score falls with the noise
    # The shaded band spans mean - std .. mean + std.
    band = disp.fill_betweens_[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx((mean - std).min())
    assert band[:, 1].max() == pytest.approx((mean + std).max())
    assert disp.ax_.get_xlabel() == "noise"
    assert disp.ax_.get_ylabel() == "Test decorr (mean ± std over folds)"
    assert disp.ax_.get_legend() is None


def test_one_line_per_other_parameter_and_log_scale():
    results = search_results({"seed": [0, 1], "noise": [0.5, 1.0, 4.0]})
    disp = StabilityDisplay.from_cv_results(
        results, "noise", score="frob", score_name="Frobenius", xscale="log"
    )
    assert len(disp.lines_) == 2 and len(disp.fill_betweens_) == 2
    assert disp.mean_scores.shape == (2, 3)
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend == ["seed=0", "seed=1"]
    assert disp.ax_.get_xscale() == "log" and disp.ax_.get_ylabel() == "Frobenius"
    for line in disp.lines_:
        assert len(line.get_xdata()) == 3


def test_categorical_values_and_missing_combinations():
    disp = StabilityDisplay(
        np.array(["mean", "sum"], dtype=object),
        np.array([[0.5, np.nan], [0.4, 0.6]]),
        np.array([[0.1, np.nan], [0.1, 0.05]]),
        param_name="pooling",
        line_labels=["a", "b"],
    ).plot()
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["mean", "sum"]
    assert len(disp.lines_[0].get_xdata()) == 1  # the missing point is skipped
    assert disp.ax_.get_ylabel() == "Score"
    with pytest.raises(ValueError, match="same shape"):
        StabilityDisplay([1, 2], [0.5, 0.6], [0.1]).plot()


def test_from_cv_results_errors():
    results = search_results({"noise": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"available scores: \['decorr', 'frob'\]"):
        StabilityDisplay.from_cv_results(results, "noise")
    with pytest.raises(ValueError, match=r"'bag_size' was not searched; .*\['noise'\]"):
        StabilityDisplay.from_cv_results(results, "bag_size", score="decorr")


def test_lazy_matplotlib_import_and_message(monkeypatch):
    # Without matplotlib, the packages still import (it is imported lazily) ...
    for sub in ("visualization", "metrics", "cluster"):
        monkeypatch.setattr(skfingerprint, sub, getattr(skfingerprint, sub))
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
        elif name.startswith(("skfingerprint.visualization", "skfingerprint.metrics",
                              "skfingerprint.cluster")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    visualization = importlib.import_module("skfingerprint.visualization")
    importlib.import_module("skfingerprint.cluster")
    # ... and drawing says how to install it.
    with pytest.raises(ImportError, match="StabilityDisplay.plot requires matplotlib"):
        visualization.StabilityDisplay([1, 2], [0.5, 0.6], [0.1, 0.1]).plot()
