"""Tests of DecorrelationScorer in model selection."""

import pickle

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skfingerprint.metrics import DecorrelationScorer, decorrelation_score


def select_columns(X, start=0, width=10):
    return X[:, start : start + width]


def informative_data(rng, n_sources=4, n_per_source=12):
    """Columns 0-9 carry the source; columns 10-29 are noise."""
    y = np.repeat(np.arange(n_sources), n_per_source)
    X = rng.normal(size=(y.size, 30))
    X[:, :10] += 3 * rng.normal(size=(n_sources, 10))[y]
    return X, y


def column_selector():
    return FunctionTransformer(select_columns, kw_args={"start": 0})


@pytest.mark.parametrize("kind", ["contrast", "frobenius"])
def test_bare_transformer(kind):
    rng = np.random.RandomState(0)
    X, y = informative_data(rng)
    pca = PCA(n_components=5).fit(X)
    score = DecorrelationScorer(kind=kind)(pca, X, y)
    assert score == decorrelation_score(pca.transform(X), y, kind=kind)


def test_pipeline_ending_in_transformer_is_applied_whole():
    rng = np.random.RandomState(1)
    X, y = informative_data(rng)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=3)).fit(X)
    expected = decorrelation_score(pipe.transform(X), y)
    assert DecorrelationScorer()(pipe, X, y) == expected
    # ... which differs from stopping before PCA.
    assert expected != decorrelation_score(pipe[:-1].transform(X), y)


def test_pipeline_ending_in_classifier_uses_transforming_steps():
    rng = np.random.RandomState(2)
    X, y = informative_data(rng)
    pipe = make_pipeline(PCA(n_components=4), KNeighborsClassifier(3)).fit(X, y)
    assert not hasattr(pipe, "transform")
    expected = decorrelation_score(pipe[:-1].transform(X), y)
    assert DecorrelationScorer()(pipe, X, y) == expected
    single = Pipeline([("knn", KNeighborsClassifier(3))]).fit(X, y)
    assert DecorrelationScorer()(single, X, y) == decorrelation_score(X, y)


def test_estimator_without_transform():
    rng = np.random.RandomState(3)
    X, y = informative_data(rng)
    with pytest.raises(TypeError, match="KNeighborsClassifier has no transform"):
        DecorrelationScorer()(KNeighborsClassifier().fit(X, y), X, y)


def test_grid_search_picks_the_informative_columns():
    rng = np.random.RandomState(4)
    X, y = informative_data(rng)
    grid = {"kw_args": [{"start": 20}, {"start": 0}, {"start": 10}]}
    search = GridSearchCV(
        column_selector(), grid, scoring=DecorrelationScorer(), cv=StratifiedKFold(3)
    ).fit(X, y)
    assert search.best_params_ == {"kw_args": {"start": 0}}
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > 0.5
    assert abs(scores[0]) < 0.15 and abs(scores[2]) < 0.15
    assert search.score(X, y) == decorrelation_score(X[:, :10], y)


def test_grid_search_on_pipeline_and_multimetric():
    rng = np.random.RandomState(5)
    X, y = informative_data(rng)
    pipe = Pipeline([("select", column_selector()), ("knn", KNeighborsClassifier(3))])
    scoring = {
        "contrast": DecorrelationScorer(),
        "frobenius": DecorrelationScorer(kind="frobenius"),
    }
    search = GridSearchCV(
        pipe,
        {"select__kw_args": [{"start": 0}, {"start": 15}]},
        scoring=scoring,
        refit="contrast",
        cv=3,
    ).fit(X, y)
    assert search.best_index_ == 0
    for name in scoring:
        mean = search.cv_results_[f"mean_test_{name}"]
        assert np.all(np.isfinite(mean)) and mean[0] > mean[1]


def test_cross_val_score():
    rng = np.random.RandomState(6)
    X, y = informative_data(rng)
    cv = StratifiedKFold(3)
    scores = cross_val_score(column_selector(), X, y, scoring=DecorrelationScorer(), cv=cv)
    expected = [
        decorrelation_score(X[test, :10], y[test]) for _, test in cv.split(X, y)
    ]
    np.testing.assert_allclose(scores, expected)


def test_too_few_bags_in_a_fold_is_a_clear_error():
    rng = np.random.RandomState(7)
    X, y = informative_data(rng, n_per_source=3)
    selector = column_selector().fit(X)
    with pytest.raises(ValueError, match="fewer than 2 bags"):
        DecorrelationScorer()(selector, X[:-2], y[:-2])


def test_invalid_kind_repr_and_pickle():
    rng = np.random.RandomState(8)
    X, y = informative_data(rng)
    selector = column_selector().fit(X)
    with pytest.raises(ValueError, match="'kind' parameter.*among"):
        DecorrelationScorer(kind="paper")(selector, X, y)
    assert repr(DecorrelationScorer()) == "DecorrelationScorer()"
    scorer = pickle.loads(pickle.dumps(DecorrelationScorer(kind="frobenius")))
    assert repr(scorer) == "DecorrelationScorer(kind='frobenius')"
    assert scorer(selector, X, y) == decorrelation_score(X[:, :10], y, kind="frobenius")
