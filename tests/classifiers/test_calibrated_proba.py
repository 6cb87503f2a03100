"""Calibrated probabilities: temperature scaling on held-out bags."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint import load, save
from skfingerprint.classifiers import (
    HeldOutRejectionClassifier,
    NearestFingerprintClassifier,
    calibrate_temperature,
)
from skfingerprint.metrics import expected_calibration_error


class _Shrink(TransformerMixin, BaseEstimator):
    """A 'trained feature extractor' that pulls its training bags towards
    their source's mean, as an encoder does with the bags it trained on:
    their scores are overconfident, new bags' are not."""

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.means_ = {label: X[y == label].mean(axis=0) for label in np.unique(y)}
        self.labels_ = dict(zip(map(tuple, X), y))
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float).copy()
        for i, row in enumerate(X):
            label = self.labels_.get(tuple(row))
            if label is not None:
                X[i] = 0.2 * row + 0.8 * self.means_[label]
        return X


def _overlapping(n, rng, n_sources=4, spread=1.0):
    """Sources whose bags overlap: the nearest fingerprint errs often.  The
    sources are the same in every call; ``rng`` draws the bags."""
    centers = np.random.RandomState(99).normal(0, 1.0, (n_sources, 6))
    y = np.repeat(np.arange(n_sources), n)
    return centers[y] + rng.normal(0, spread, (y.size, 6)), y


@parametrize_with_checks(
    [HeldOutRejectionClassifier(NearestFingerprintClassifier("euclidean"), random_state=0),
     HeldOutRejectionClassifier(NearestFingerprintClassifier("euclidean"),
                                calibration="split", random_state=0)])
def test_closed_set_is_sklearn_compatible(estimator, check):
    check(estimator)


def test_held_out_temperature_lowers_the_ece_of_overconfident_features():
    rng = np.random.RandomState(0)
    X_train, y_train = _overlapping(40, rng)
    X_cal, y_cal = _overlapping(100, rng)
    X_test, y_test = _overlapping(300, rng)
    shrink = _Shrink().fit(X_train, y_train)
    clf = NearestFingerprintClassifier("euclidean").fit(shrink.transform(X_train), y_train)
    assert clf.temperature_calibration_ == {"method": "leave-one-out", "n_bags": 160}
    before_t = clf.temperature_
    ece_before = expected_calibration_error(y_test, clf.predict_proba(X_test))
    pred_before = clf.predict(X_test)
    clf.calibrate_temperature(X_cal, y_cal)
    ece_after = expected_calibration_error(y_test, clf.predict_proba(X_test))
    assert clf.temperature_calibration_ == {"method": "held-out", "n_bags": 400}
    assert clf.temperature_ > 2 * before_t  # the training scores were overconfident
    assert ece_before > 0.1 and ece_after < 0.05
    np.testing.assert_array_equal(clf.predict(X_test), pred_before)


@pytest.mark.parametrize("calibration", ["cross_fit", "split"])
def test_meta_estimator_calibrates_on_held_out_bags(calibration):
    rng = np.random.RandomState(1)
    X, y = _overlapping(60, rng)
    X_test, y_test = _overlapping(300, rng)
    pipe = Pipeline([("shrink", _Shrink()),
                     ("clf", NearestFingerprintClassifier("euclidean"))])
    plain = clone(pipe).fit(X, y)
    held = HeldOutRejectionClassifier(pipe, calibration=calibration, random_state=0).fit(X, y)
    final = held.estimator_[-1]
    assert final.temperature_calibration_["method"] == (
        "cross-fitted" if calibration == "cross_fit" else "held-out")
    assert held.temperature_ == final.temperature_
    assert np.isposinf(held.threshold_)  # a closed set stays closed
    ece_plain = expected_calibration_error(y_test, plain.predict_proba(X_test))
    ece_held = expected_calibration_error(y_test, held.predict_proba(X_test))
    assert ece_held < 0.5 * ece_plain
    if calibration == "cross_fit":  # the same model, other probabilities
        np.testing.assert_array_equal(held.predict(X_test), plain.predict(X_test))
    off = HeldOutRejectionClassifier(
        NearestFingerprintClassifier("euclidean", reject_threshold="auto"),
        calibration=calibration, calibrate_proba=False, random_state=0).fit(X, y)
    assert off.estimator_.temperature_calibration_["method"] == "leave-one-out"
    assert np.isfinite(off.threshold_)


def test_proba_rejection_score_uses_the_calibrated_temperature():
    rng = np.random.RandomState(2)
    X, y = _overlapping(60, rng)
    held = HeldOutRejectionClassifier(
        NearestFingerprintClassifier("euclidean", reject_threshold="auto",
                                     rejection_score="proba"), random_state=0).fit(X, y)
    clf = held.estimator_
    assert clf.temperature_calibration_["method"] == "cross-fitted"
    assert np.isfinite(held.threshold_)
    # the threshold is set on 1 - max proba of the fold models, with the same
    # (calibrated) temperature as the final model: the same folds without the
    # calibrated temperature give other scores and another threshold
    uncalibrated = HeldOutRejectionClassifier(
        clone(held.estimator), calibrate_proba=False, random_state=0).fit(X, y)
    assert not np.allclose(uncalibrated.calibration_scores_, held.calibration_scores_)
    assert uncalibrated.threshold_ != held.threshold_
    np.testing.assert_allclose(
        clf.unknown_score(X[:5]), 1 - clf.predict_proba(X[:5]).max(axis=1))


def test_calibrate_temperature_through_a_pipeline():
    rng = np.random.RandomState(3)
    X, y = _overlapping(30, rng)
    pipe = make_pipeline(StandardScaler(), NearestFingerprintClassifier("euclidean")).fit(X, y)
    X_cal, y_cal = _overlapping(30, rng)
    expected = NearestFingerprintClassifier("euclidean").fit(
        pipe[0].transform(X), y).calibrate_temperature(pipe[0].transform(X_cal), y_cal)
    assert calibrate_temperature(pipe, X_cal, y_cal) is pipe
    assert pipe[-1].temperature_ == pytest.approx(expected.temperature_)
    with pytest.raises(TypeError, match="no calibrate_temperature method"):
        calibrate_temperature(make_pipeline(StandardScaler()), X_cal, y_cal)


def test_bad_calls_name_the_problem():
    rng = np.random.RandomState(4)
    X, y = _overlapping(10, rng)
    clf = NearestFingerprintClassifier("euclidean").fit(X, y)
    with pytest.raises(ValueError, match="known sources only.*\\[7\\]"):
        clf.calibrate_temperature(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="pass y"):
        clf.calibrate_temperature(X[:3], None)
    with pytest.raises(ValueError, match="3 labels for 4 bags"):
        clf.calibrate_temperature(X[:4], [0, 1, 2])
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="'calibrate_proba' parameter"):
            HeldOutRejectionClassifier(clf, calibrate_proba=bad).fit(X, y)
    with pytest.raises(ValueError, match="Nothing to calibrate"):
        HeldOutRejectionClassifier(clf, calibrate_proba=False).fit(X, y)


def test_new_params_and_attributes_round_trip(tmp_path):
    rng = np.random.RandomState(5)
    X, y = _overlapping(20, rng)
    est = HeldOutRejectionClassifier(NearestFingerprintClassifier("euclidean"),
                                     calibrate_proba=False)
    assert clone(est).get_params()["calibrate_proba"] is False
    held = HeldOutRejectionClassifier(NearestFingerprintClassifier("euclidean"),
                                      random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(held))
    np.testing.assert_array_equal(again.predict_proba(X), held.predict_proba(X))
    path = tmp_path / "held.skfp"
    save(held, path)
    loaded = load(path)
    assert loaded.calibrate_proba is True
    assert loaded.estimator_.temperature_calibration_ == (
        held.estimator_.temperature_calibration_)
    np.testing.assert_array_equal(loaded.predict_proba(X), held.predict_proba(X))


def test_model_without_temperature_record_loads_and_predicts_the_same(tmp_path):
    """A model file written before ``temperature_calibration_`` existed."""
    rng = np.random.RandomState(6)
    X, y = _overlapping(20, rng)
    pipe = make_pipeline(StandardScaler(), NearestFingerprintClassifier()).fit(X, y)
    del pipe[-1].temperature_calibration_  # as fitted by an older version
    path = tmp_path / "old.skfp"
    save(pipe, path)
    loaded = load(path)
    assert not hasattr(loaded[-1], "temperature_calibration_")
    assert loaded[-1].temperature_ == pipe[-1].temperature_
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    from skfingerprint.cli._attribute import _probability_calibration

    assert _probability_calibration(loaded[-1]) == {
        "method": "leave-one-out", "n_bags": None, "temperature": pipe[-1].temperature_}
