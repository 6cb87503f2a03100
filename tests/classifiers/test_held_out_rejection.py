"""HeldOutRejectionClassifier: open-set threshold calibrated on held-out bags."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint import SetFingerprintEncoder, load, save
from skfingerprint.classifiers import (
    HeldOutRejectionClassifier,
    NearestFingerprintClassifier,
)


def _blobs(n, spread, rng):
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.normal(0, spread, (n, 2)) for c in centers])
    return X, np.repeat(["a", "b", "c"], n)


def _expected_failed(est):
    return {
        name: "rejected bags (a few % of the check's blobs) are predicted "
        "unknown_label by design, which is not in classes_ nor in y"
        for name in ("check_classifiers_train", "check_classifiers_classes")
    }


@parametrize_with_checks(
    [HeldOutRejectionClassifier(
        NearestFingerprintClassifier("euclidean", reject_threshold="auto",
                                     unknown_label=-1), random_state=0)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


class _Shrink(TransformerMixin, BaseEstimator):
    """A 'trained feature extractor' that pulls its training bags together,
    as an encoder does with the bags it trained on."""

    def fit(self, X, y):
        self.seen_ = {tuple(row) for row in np.asarray(X)}
        self.means_ = {label: X[y == label].mean(axis=0) for label in np.unique(y)}
        self.labels_ = dict(zip(map(tuple, X), y))
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float).copy()
        for i, row in enumerate(X):
            key = tuple(row)
            if key in self.seen_:
                X[i] = 0.3 * row + 0.7 * self.means_[self.labels_[key]]
        return X


class _NoCalib(BaseEstimator):
    """A classifier without calibrate_threshold / enroll."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


def test_held_out_threshold_hits_the_rate_where_auto_does_not():
    rng = np.random.RandomState(0)
    X, y = _blobs(100, 1.0, rng)
    X_new, y_new = _blobs(400, 1.0, rng)
    make = lambda: Pipeline([("fp", _Shrink()), ("clf", NearestFingerprintClassifier(
        "euclidean", reject_threshold="auto", false_rejection_rate=0.05))])
    plain = make().fit(X, y)
    frr_plain = np.mean(plain.predict(X_new) == "unknown")
    held = HeldOutRejectionClassifier(make(), calibration="split", calibration_size=0.3,
                                      random_state=0).fit(X, y)
    frr_held = np.mean(held.predict(X_new) == "unknown")
    assert frr_plain > 0.2  # the trap: calibrated on bags the extractor saw
    assert 0.005 < frr_held < 0.12  # conformal: at most 0.05 in expectation
    assert held.classes_.tolist() == ["a", "b", "c"]
    assert held.threshold_ == held.estimator_[-1].threshold_
    # the held-out bags are enrolled: the fingerprints count every bag
    assert held.estimator_[-1].class_counts_.tolist() == [100, 100, 100]
    cal = held.calibration_indices_
    assert cal.size == 90 and np.bincount(np.unique(y, return_inverse=True)[1][cal]).tolist() == [30] * 3
    far = np.array([[50.0, 50.0]])
    assert held.predict(far).tolist() == ["unknown"]
    assert held.unknown_score(far)[0] > held.threshold_
    np.testing.assert_allclose(held.predict_proba(X_new).sum(axis=1), 1.0)


def test_errors_name_the_problem():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.repeat(["a", "b"], 5)
    closed = HeldOutRejectionClassifier(NearestFingerprintClassifier("euclidean"),
                                        calibrate_proba=False)
    with pytest.raises(ValueError, match="reject_threshold=None.*calibrate_proba=False"):
        closed.fit(X, y)
    with pytest.raises(TypeError, match="'estimator' parameter.*'fit' and 'predict'"):
        HeldOutRejectionClassifier(SetFingerprintEncoder()).fit(X, y)  # no predict
    with pytest.raises(TypeError, match="cannot calibrate a rejection threshold or a temp"):
        HeldOutRejectionClassifier(
            Pipeline([("fp", _Shrink()), ("clf", _NoCalib())])).fit(X, y)
    rejecting = NearestFingerprintClassifier("euclidean", reject_threshold="auto")
    for bad in (0, 1, 1.5, "0.2", True):
        with pytest.raises(ValueError, match="calibration_size"):
            HeldOutRejectionClassifier(rejecting, calibration="split", calibration_size=bad).fit(X, y)
    with pytest.raises(ValueError, match="too few to hold out"):
        HeldOutRejectionClassifier(rejecting, calibration="split", calibration_size=0.5).fit(X[:6], y[2:8])


def test_with_the_set_encoder_clone_and_safe_save(small_bags, tmp_path):
    X, y = small_bags
    pipe = Pipeline([
        ("fp", SetFingerprintEncoder(max_epochs=2, random_state=0)),
        ("clf", NearestFingerprintClassifier("euclidean", reject_threshold="auto")),
    ])
    model = HeldOutRejectionClassifier(pipe, calibration="split", calibration_size=0.25,
                                       random_state=0)
    fitted = model.fit(X, y)
    assert clone(model).get_params()["calibration_size"] == 0.25
    again = clone(model).fit(X, y)  # deterministic with random_state
    np.testing.assert_array_equal(fitted.unknown_score(X), again.unknown_score(X))
    path = tmp_path / "m.skfp"
    save(fitted, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_allclose(loaded.unknown_score(X), fitted.unknown_score(X))
