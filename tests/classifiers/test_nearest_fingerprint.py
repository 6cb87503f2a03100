import pickle

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint.baselines import PRNUFingerprint
from skfingerprint.classifiers import NearestFingerprintClassifier


def _expected_failed(est):
    if est.metric == "correlation":
        return {
            "check_classifiers_train": (
                "the check's blobs have 2-3 features: centred, any 2-vector "
                "correlates +-1 with every fingerprint."
            ),
        }
    return {}


@parametrize_with_checks(
    [NearestFingerprintClassifier(), NearestFingerprintClassifier("euclidean")],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)


def test_fingerprints_scores_and_predictions():
    rng = np.random.RandomState(0)
    F = rng.standard_normal((3, 50))
    y = np.repeat(["x", "y", "z"], 10)
    X = F[np.repeat(np.arange(3), 10)] + 0.5 * rng.standard_normal((30, 50))
    for metric in ("correlation", "euclidean"):
        clf = NearestFingerprintClassifier(metric).fit(X, y)
        np.testing.assert_array_equal(clf.classes_, ["x", "y", "z"])
        np.testing.assert_allclose(clf.fingerprints_[1], X[10:20].mean(0))
        S = clf.decision_function(X)
        assert S.shape == (30, 3)
        if metric == "correlation":
            np.testing.assert_allclose(S[0, 2], np.corrcoef(X[0], clf.fingerprints_[2])[0, 1])
        else:
            np.testing.assert_allclose(S[0, 2], -np.linalg.norm(X[0] - clf.fingerprints_[2]))
        np.testing.assert_array_equal(clf.predict(X), y)
        P = clf.predict_proba(X)
        np.testing.assert_allclose(P.sum(1), 1)
        np.testing.assert_array_equal(clf.classes_[P.argmax(1)], clf.predict(X))
        np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P, atol=1e-12)


def test_temperature_auto_fixed_and_monotone():
    rng = np.random.RandomState(1)
    y = np.repeat([0, 1, 2], 20)
    X = rng.standard_normal((60, 20)) + 0.3 * y[:, None] * np.arange(20) / 20
    auto = NearestFingerprintClassifier("euclidean").fit(X, y)
    assert auto.temperature_ > 0
    cold = NearestFingerprintClassifier("euclidean", temperature=1e-3).fit(X, y)
    hot = NearestFingerprintClassifier("euclidean", temperature=1e3).fit(X, y)
    assert cold.temperature_ == 1e-3
    np.testing.assert_allclose(hot.predict_proba(X), 1 / 3, atol=1e-2)
    assert cold.predict_proba(X).max(1).min() > 0.99
    np.testing.assert_array_equal(cold.predict(X), hot.predict(X))
    # "auto" is calibrated on left-out bags: it is no more confident than
    # its held-out accuracy warrants (in-sample would be overconfident)
    conf = auto.predict_proba(X).max(1).mean()
    assert conf < 0.95


def test_binary_decision_function_matches_proba():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((20, 5))
    y = np.repeat(["a", "b"], 10)
    clf = NearestFingerprintClassifier().fit(X, y)
    d = clf.decision_function(X)
    assert d.shape == (20,)
    S = np.stack([np.corrcoef(x, f)[0, 1] for x in X for f in clf.fingerprints_]).reshape(20, 2)
    np.testing.assert_allclose(d, S[:, 1] - S[:, 0])
    np.testing.assert_array_equal(np.argsort(d), np.argsort(clf.predict_proba(X)[:, 1]))


def test_constant_rows_correlate_zero():
    X = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    clf = NearestFingerprintClassifier().fit(X, [0, 1])
    assert clf.decision_function([[5.0, 5.0, 5.0]])[0] == 0.0


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(metric="cosine"), "metric"),
        (dict(temperature=0), "temperature"),
        (dict(temperature="hot"), "temperature"),
        (dict(temperature=np.nan), "temperature"),
    ],
)
def test_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        NearestFingerprintClassifier(**params).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


def test_marra_attribution_on_synthetic_bags(attribution_bags):
    X, y, _ = attribution_bags
    pipe = make_pipeline(PRNUFingerprint(), NearestFingerprintClassifier("correlation"))
    acc = cross_val_score(pipe, X, y, cv=3).mean()
    assert acc >= 0.9  # 8 sources: chance is 0.125
    fitted = pipe.fit(X[::2], y[::2])
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict_proba(X[1::2]), fitted.predict_proba(X[1::2]))


def test_correlation_is_scale_free_and_constant_rows_score_zero():
    """One row standardisation (the package's rule): a tiny row is not constant,
    a constant row correlates 0 with every fingerprint."""
    from skfingerprint._embeddings import standardize_rows

    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 6))
    y = np.repeat(["a", "b"], 10)
    clf = NearestFingerprintClassifier().fit(X, y)
    x = rng.standard_normal((1, 6))
    np.testing.assert_allclose(clf.decision_function(1e-14 * x), clf.decision_function(x))
    np.testing.assert_array_equal(clf.decision_function(np.full((1, 6), 3.0)), [0.0])
    Zs, const = standardize_rows(np.vstack([1e-14 * x, np.full((1, 6), 3.0)]))
    assert const.tolist() == [False, True]


@pytest.mark.parametrize("metric", ["correlation", "euclidean"])
def test_source_distances_brute_force_and_enrolled(metric):
    rng = np.random.RandomState(3)
    X = rng.standard_normal((12, 6))
    y = np.repeat(["a", "b", "c"], 4)
    clf = NearestFingerprintClassifier(metric).fit(X, y)
    Q = rng.standard_normal((5, 6))
    D = clf.source_distances(Q)
    for i, q in enumerate(Q):
        for j, c in enumerate(clf.classes_):
            f = X[y == c].mean(0)
            want = (1 - np.corrcoef(q - q.mean(), f - f.mean())[0, 1] if metric == "correlation"
                    else np.linalg.norm(q - f))
            assert D[i, j] == pytest.approx(want, abs=1e-9)
    # the nearest known source is the attributed one
    np.testing.assert_array_equal(clf.classes_[D.argmin(1)], clf.predict(Q))
    clf.enroll(rng.standard_normal((3, 6)), "new")
    assert clf.source_distances(Q).shape == (5, 4)
