"""Open-set attribution and enrollment of NearestFingerprintClassifier."""

import os
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint import SetFingerprintEncoder, load, save
from skfingerprint.classifiers import NearestFingerprintClassifier, enroll


def _clusters(n_sources=4, n_per=40, dim=30, noise=0.5, seed=0, labels=None):
    """Bag features of ``n_sources`` sources around random centres."""
    rng = np.random.RandomState(seed)
    F = rng.standard_normal((n_sources, dim))
    idx = np.repeat(np.arange(n_sources), n_per)
    X = F[idx] + noise * rng.standard_normal((idx.size, dim))
    labels = np.array(labels if labels is not None else [f"s{i}" for i in range(n_sources)])
    return X, labels[idx], F, rng


def _expected_failed(est):
    return {
        name: "rejected bags (about 5% of the check's blobs) are predicted "
        "unknown_label by design, which is not in classes_ nor in y"
        for name in ("check_classifiers_train", "check_classifiers_classes")
    }


@parametrize_with_checks(
    [NearestFingerprintClassifier("euclidean", reject_threshold="auto", unknown_label=-1)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible_with_rejection(estimator, check):
    check(estimator)


@pytest.mark.parametrize("metric", ["correlation", "euclidean"])
def test_closed_set_is_unchanged(metric):
    X, y, _, _ = _clusters(labels=[0, 1, 2, 3])
    clf = NearestFingerprintClassifier(metric).fit(X, y)
    assert clf.threshold_ == np.inf
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(pred, clf.classes_[clf.decision_function(X).argmax(1)])
    np.testing.assert_array_equal(clf.class_counts_, [40, 40, 40, 40])


@pytest.mark.parametrize("metric", ["correlation", "euclidean"])
def test_auto_threshold_rejects_unknown_sources(metric):
    X, y, F, rng = _clusters(n_sources=5, n_per=60, seed=1)
    known = y != "s4"
    clf = NearestFingerprintClassifier(metric, reject_threshold="auto").fit(
        X[known], y[known]
    )
    np.testing.assert_array_equal(clf.classes_, ["s0", "s1", "s2", "s3"])
    assert np.isfinite(clf.threshold_)
    # new bags: known sources and the never-seen source s4
    idx = np.repeat(np.arange(5), 200)
    X_test = F[idx] + 0.5 * rng.standard_normal((idx.size, F.shape[1]))
    y_test = np.array([f"s{i}" for i in idx])
    is_unknown = idx == 4
    pred = clf.predict(X_test)
    frr = np.mean(pred[~is_unknown] == "unknown")
    assert 0.01 <= frr <= 0.12  # calibrated at 0.05 on left-out training bags
    assert np.mean(pred[is_unknown] == "unknown") > 0.95
    score = clf.unknown_score(X_test)
    assert roc_auc_score(is_unknown, score) > 0.99
    np.testing.assert_array_equal(pred == "unknown", score > clf.threshold_)
    # accuracy with the unknown label as the truth of the unknown source
    truth = np.where(is_unknown, "unknown", y_test)
    assert accuracy_score(truth, pred) > 0.9
    assert clf.score(X_test, truth) == accuracy_score(truth, pred)
    # probabilities still cover the known sources only
    assert clf.predict_proba(X_test).shape == (idx.size, 4)


def test_training_rejection_rate_and_monotone_threshold():
    X, y, _, _ = _clusters(n_per=100, seed=2)
    thresholds = []
    for rate in (0.0, 0.05, 0.2, 0.5):
        clf = NearestFingerprintClassifier(
            "euclidean", reject_threshold="auto", false_rejection_rate=rate,
            rejection_score="distance",
        ).fit(X, y)
        thresholds.append(clf.threshold_)
    assert thresholds == sorted(thresholds, reverse=True)
    clf = NearestFingerprintClassifier(
        "euclidean", reject_threshold="auto", false_rejection_rate=0.2,
        rejection_score="distance",
    ).fit(X, y)
    # leave-one-out scores of the training bags: about 20% above the threshold
    S = np.empty((len(y), clf.classes_.size))
    for i in range(len(y)):
        mask = np.arange(len(y)) != i
        F = np.stack([X[mask & (y == c)].mean(0) for c in clf.classes_])
        S[i] = np.linalg.norm(X[i] - F, axis=1)
    assert np.mean(S.min(1) > clf.threshold_) == pytest.approx(0.2, abs=0.01)
    # in-sample, fewer bags are rejected (they pulled their fingerprint)
    assert np.mean(clf.predict(X) == "unknown") < 0.2


@pytest.mark.parametrize("metric", ["correlation", "euclidean"])
def test_fixed_threshold(metric):
    X, y, _, _ = _clusters(seed=3)
    clf = NearestFingerprintClassifier(
        metric, reject_threshold=0.0, rejection_score="distance").fit(X, y)
    assert clf.threshold_ == 0.0
    S = clf.decision_function(X)
    expected = 1 - S.max(1) if metric == "correlation" else -S.max(1)
    np.testing.assert_allclose(clf.unknown_score(X), expected)
    assert (clf.predict(X) == "unknown").all()  # everything is farther than 0
    big = NearestFingerprintClassifier(metric, reject_threshold=1e9).fit(X, y)
    np.testing.assert_array_equal(
        big.predict(X), NearestFingerprintClassifier(metric).fit(X, y).predict(X)
    )


def test_output_dtypes():
    X, _, _, _ = _clusters(n_sources=2, n_per=20, seed=4)
    y_num = np.repeat([3, 7], 20)
    y_str = np.repeat(["a", "b"], 20)
    new = np.full((1, X.shape[1]), 50.0)
    clf = NearestFingerprintClassifier("euclidean", reject_threshold="auto")
    # string labels: a string array wide enough for unknown_label
    pred = clone(clf).fit(X, y_str).predict(np.vstack([X[:1], new]))
    assert pred.dtype.kind == "U" and pred.tolist() == ["a", "unknown"]
    # numeric labels with a numeric unknown_label: numeric
    pred = clone(clf).set_params(unknown_label=-1).fit(X, y_num).predict(
        np.vstack([X[:1], new])
    )
    assert pred.dtype.kind == "i" and pred.tolist() == [3, -1]
    assert clone(clf).set_params(unknown_label=-1).fit(X, y_num).score(X, y_num) > 0.8
    # numeric labels with a string unknown_label: object, even if nothing is rejected
    fitted = clone(clf).fit(X, y_num)
    assert fitted.predict(np.vstack([X[:1], new])).tolist() == [3, "unknown"]
    assert fitted.predict(X[:1]).dtype == object


def test_unknown_label_collision():
    X, _, _, _ = _clusters(n_sources=2, n_per=10)
    y = np.repeat(["unknown", "b"], 10)
    with pytest.raises(ValueError, match="unknown_label='unknown' is also a training label"):
        NearestFingerprintClassifier(reject_threshold="auto").fit(X, y)
    with pytest.raises(ValueError, match="unknown_label=0 is also"):
        NearestFingerprintClassifier(reject_threshold=0.5, unknown_label=0).fit(
            X, np.repeat([0, 1], 10)
        )
    # a closed set never answers unknown_label: no conflict
    NearestFingerprintClassifier().fit(X, y)
    # a string and a number never collide
    NearestFingerprintClassifier(reject_threshold=0.5, unknown_label="0").fit(
        X, np.repeat([0, 1], 10)
    )


def test_single_source_verification():
    X, y, F, rng = _clusters(n_sources=2, n_per=50, seed=5)
    clf = NearestFingerprintClassifier("euclidean", reject_threshold="auto")
    clf.fit(X[y == "s0"], y[y == "s0"])
    assert clf.temperature_ == 1.0
    assert (clf.predict(X[y == "s1"]) == "unknown").all()
    assert np.mean(clf.predict(X[y == "s0"]) == "s0") > 0.9


def test_auto_needs_two_bags_of_a_source():
    with pytest.raises(ValueError, match="one sample"):
        NearestFingerprintClassifier(reject_threshold="auto").fit(
            [[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], ["a", "b"]
        )
    # a fixed threshold needs no calibration
    NearestFingerprintClassifier(reject_threshold=0.5).fit(
        [[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], ["a", "b"]
    )


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(reject_threshold="yes"), "reject_threshold"),
        (dict(reject_threshold=np.nan), "reject_threshold"),
        (dict(reject_threshold=True), "reject_threshold"),
        (dict(reject_threshold=[0.5]), "reject_threshold"),
        (dict(false_rejection_rate=1.0), "false_rejection_rate"),
        (dict(false_rejection_rate=-0.1), "false_rejection_rate"),
        (dict(false_rejection_rate="0.1"), "false_rejection_rate"),
        (dict(unknown_label=None), "unknown_label"),
        (dict(unknown_label=["x"]), "unknown_label"),
        (dict(unknown_label=np.nan), "unknown_label"),
    ],
)
def test_bad_open_set_params(params, match):
    with pytest.raises(ValueError, match=match):
        NearestFingerprintClassifier(**params).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


# ----------------------------------------------------------------- enrollment
def test_enroll_new_source():
    X, y, F, rng = _clusters(n_sources=4, n_per=30, seed=6, labels=["b", "d", "f", "h"])
    # euclidean: every source has the same spread, so the global threshold suits
    # the enrolled one too
    clf = NearestFingerprintClassifier("euclidean", reject_threshold="auto").fit(X, y)
    t, thr = clf.temperature_, clf.threshold_
    G = rng.standard_normal(X.shape[1])
    X_new = G + 0.5 * rng.standard_normal((30, X.shape[1]))
    assert (clf.predict(X_new) == "unknown").all()
    assert clf.enroll(X_new, "e") is clf
    np.testing.assert_array_equal(clf.classes_, ["b", "d", "e", "f", "h"])
    np.testing.assert_allclose(clf.fingerprints_[2], X_new.mean(0))
    np.testing.assert_allclose(clf.fingerprints_[3], X[y == "f"].mean(0))
    np.testing.assert_array_equal(clf.class_counts_, [30, 30, 30, 30, 30])
    assert (clf.temperature_, clf.threshold_) == (t, thr)  # kept
    X_test = G + 0.5 * rng.standard_normal((50, X.shape[1]))
    # as many enrollment bags as training bags: rejected as often as known sources
    assert np.mean(clf.predict(X_test) == "e") > 0.85
    # fewer enrollment bags: a noisier fingerprint, more rejections, same attribution
    few = clone(clf).fit(X, y).enroll(X_new[:3], "e")
    assert np.mean(few.predict(X_test) == "unknown") > np.mean(clf.predict(X_test) == "unknown")
    assert (few.classes_[few.decision_function(X_test).argmax(1)] == "e").all()
    P = clf.predict_proba(X_test)
    assert P.shape == (50, 5)
    np.testing.assert_array_equal(clf.classes_[P.argmax(1)], clf.classes_[2])
    # a longer label than the existing ones is not truncated
    clf.enroll(X_new + 5, "a_much_longer_name")
    assert clf.classes_[0] == "a_much_longer_name"
    assert clf.fingerprints_.shape == (6, X.shape[1])


def test_enroll_existing_source_updates_its_mean():
    X, y, _, rng = _clusters(n_sources=2, n_per=10, seed=7, labels=[1, 2])
    clf = NearestFingerprintClassifier("euclidean").fit(X[:15], y[:15])
    np.testing.assert_array_equal(clf.class_counts_, [10, 5])
    clf.enroll(X[15:], 2)
    np.testing.assert_allclose(clf.fingerprints_[1], X[y == 2].mean(0))
    np.testing.assert_array_equal(clf.class_counts_, [10, 10])
    np.testing.assert_array_equal(clf.classes_, [1, 2])
    clf.enroll(X[:2] + 100, 0)  # numeric labels: sorted numerically
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_enroll_errors():
    X, y, _, _ = _clusters(n_sources=2, n_per=10)
    clf = NearestFingerprintClassifier(reject_threshold="auto").fit(X, y)
    with pytest.raises(ValueError, match="unknown_label='unknown' is also the enrolled"):
        clf.enroll(X[:2], "unknown")
    with pytest.raises(ValueError, match="all be strings or all numbers"):
        clf.enroll(X[:2], 3)
    with pytest.raises(ValueError, match="features"):
        clf.enroll(X[:2, :5], "new")
    with pytest.raises(ValueError, match="label must be"):
        clf.enroll(X[:2], ["new"])
    with pytest.raises(ValueError, match="0 sample"):
        clf.enroll(X[:0], "new")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NearestFingerprintClassifier().enroll(X, "new")
    # a closed set may enroll any label
    NearestFingerprintClassifier().fit(X, y).enroll(X[:2], "unknown")


def test_enroll_helper_through_pipeline():
    X, y, F, rng = _clusters(n_sources=3, n_per=20, seed=8)
    X_new = rng.standard_normal(X.shape[1]) * 3 + rng.standard_normal((4, X.shape[1]))
    pipe = make_pipeline(StandardScaler(), NearestFingerprintClassifier("euclidean"))
    pipe.fit(X, y)
    expected = pipe[0].transform(X_new).mean(0)
    assert enroll(pipe, X_new, "new") is pipe
    np.testing.assert_allclose(pipe[-1].fingerprints_[pipe[-1].classes_ == "new"][0], expected)
    assert (pipe.predict(X_new) == "new").all()
    # a bare classifier, and a one-step Pipeline
    clf = NearestFingerprintClassifier().fit(X, y)
    assert enroll(clf, X_new, "new") is clf and "new" in clf.classes_
    one = Pipeline([("clf", NearestFingerprintClassifier())]).fit(X, y)
    assert "new" in enroll(one, X_new, "new")[-1].classes_
    with pytest.raises(TypeError, match="no enroll method"):
        enroll(make_pipeline(StandardScaler(), StandardScaler()).fit(X), X_new, "new")
    with pytest.raises(TypeError, match="no enroll method"):
        enroll(StandardScaler().fit(X), X_new, "new")


def test_persistence_after_enrollment(tmp_path):
    X, y, _, rng = _clusters(n_sources=3, n_per=20, seed=9)
    clf = NearestFingerprintClassifier(reject_threshold="auto").fit(X, y)
    clf.enroll(rng.standard_normal((3, X.shape[1])), "z")
    path = os.path.join(tmp_path, "clf.skfp")
    save(clf, path)
    for again in (load(path), pickle.loads(pickle.dumps(clf))):
        np.testing.assert_array_equal(again.predict(X), clf.predict(X))
        np.testing.assert_array_equal(again.classes_, clf.classes_)
        assert again.threshold_ == clf.threshold_


def test_open_set_pipeline_with_set_encoder(small_bags):
    """The issue's Pipeline: encoder, then rejection; then enrollment."""
    X, y = small_bags
    classes = np.unique(y)
    left_out = classes[-1]
    known = y != left_out
    train = known & (np.arange(len(y)) % 2 == 0)
    test_known = known & ~train
    pipe = Pipeline([
        ("fp", SetFingerprintEncoder(max_epochs=3, random_state=0)),
        ("clf", NearestFingerprintClassifier(reject_threshold="auto")),
    ]).fit(X[train], y[train])
    np.testing.assert_array_equal(pipe.classes_, classes[:-1])
    X_test = np.concatenate([X[test_known], X[~known]])
    is_unknown = np.r_[np.zeros(test_known.sum()), np.ones((~known).sum())]
    score = pipe[-1].unknown_score(pipe[:-1].transform(X_test))
    assert np.isfinite(score).all() and score.shape == (len(X_test),)
    assert roc_auc_score(is_unknown, score) > 0.5
    pred = pipe.predict(X_test)
    assert set(pred) <= set(classes[:-1]) | {"unknown"}
    # enroll the left-out source from half of its bags
    unknown_idx = np.flatnonzero(~known)
    enroll(pipe, X[unknown_idx[::2]], left_out)
    np.testing.assert_array_equal(pipe.classes_, classes)
    assert pipe[-1].class_counts_[-1] == len(unknown_idx[::2])


def test_calibrate_threshold_on_held_out_bags_hits_the_rate():
    """Held-out calibration gives the target false-rejection rate on new bags."""
    from skfingerprint.classifiers import calibrate_threshold

    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])

    def draw(n, spread):
        X = np.concatenate([c + rng.normal(0, spread, (n, 2)) for c in centers])
        return X, np.repeat(["a", "b", "c"], n)

    # training features tighter than new ones (as after an encoder that saw them)
    X_train, y_train = draw(40, 0.5)
    X_cal, y_cal = draw(300, 1.0)
    X_new, _ = draw(300, 1.0)
    clf = NearestFingerprintClassifier(
        "euclidean", reject_threshold="auto", false_rejection_rate=0.05
    ).fit(X_train, y_train)
    frr_loo = np.mean(clf.predict(X_new) == "unknown")
    assert frr_loo > 0.2  # the leave-one-out threshold is too tight here
    fingerprints = clf.fingerprints_.copy()
    assert calibrate_threshold(clf, X_cal, y_cal) is clf
    frr = np.mean(clf.predict(X_new) == "unknown")
    assert 0.02 < frr < 0.09
    np.testing.assert_array_equal(clf.fingerprints_, fingerprints)


def test_calibrate_threshold_refuses_unknown_sources_and_bad_lengths():
    clf = NearestFingerprintClassifier("euclidean", reject_threshold="auto").fit(
        [[0.0], [0.1], [5.0], [5.1]], ["a", "a", "b", "b"]
    )
    with pytest.raises(ValueError, match="known sources only"):
        clf.calibrate_threshold([[0.0], [9.0]], ["a", "z"])
    with pytest.raises(ValueError, match="labels for"):
        clf.calibrate_threshold([[0.0], [9.0]], ["a"])
    with pytest.raises(TypeError, match="calibrate_threshold"):
        from skfingerprint.classifiers import calibrate_threshold

        calibrate_threshold(object(), [[0.0]])
