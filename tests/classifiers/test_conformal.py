"""The split-conformal threshold, the rejection scores and the guarantee in words."""

import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from skfingerprint.classifiers import (
    HeldOutRejectionClassifier,
    InsufficientCalibrationWarning,
    NearestFingerprintClassifier,
    calibrate_threshold,
    conformal_threshold,
    min_calibration_bags,
)
from skfingerprint.classifiers._calibrated import cross_fit_folds


def _brute_force(scores, alpha):
    """The smallest calibration score t with #{s <= t} >= (n + 1)(1 - alpha)."""
    n = len(scores)
    for t in sorted(scores):
        if sum(s <= t for s in scores) >= (n + 1) * (1 - alpha) - 1e-9:
            return t
    return math.inf


@pytest.mark.parametrize("n", [1, 5, 18, 19, 20, 37, 100])
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.25, 0.5])
def test_threshold_matches_brute_force(n, alpha):
    rng = np.random.RandomState(n)
    scores = rng.exponential(size=n).round(1)  # with ties
    before = scores.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientCalibrationWarning)
        got = conformal_threshold(scores, alpha)
    assert got == _brute_force(scores.tolist(), alpha)
    np.testing.assert_array_equal(scores, before)  # the input is not modified


def test_min_calibration_bags_is_where_the_threshold_becomes_finite():
    for alpha in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5):
        m = min_calibration_bags(alpha)
        if m > 1:
            with pytest.warns(InsufficientCalibrationWarning, match=f"at least {m} needed"):
                assert conformal_threshold(np.arange(m - 1.0), alpha) == np.inf
        assert np.isfinite(conformal_threshold(np.arange(float(m)), alpha))
    assert min_calibration_bags(0.05) == 19


def test_too_few_bags_warn_and_reject_nothing():
    with pytest.warns(InsufficientCalibrationWarning, match="too few.*no bag will be rejected"):
        assert conformal_threshold(np.ones(10), 0.05) == np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert conformal_threshold(np.ones(3), 0.0) == np.inf  # rate 0: nothing rejected


@pytest.mark.parametrize("n", [5, 19, 40])
def test_guarantee_by_simulation(n):
    """Over many calibration draws the false-rejection rate is at most alpha,
    and not much below it (within 1 / (n + 1)), for any n."""
    alpha = 0.1 if n == 5 else 0.05
    rng = np.random.RandomState(0)
    reps = 4000
    cal = rng.gamma(2.0, size=(reps, n))
    new = rng.gamma(2.0, size=reps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientCalibrationWarning)
        t = np.array([conformal_threshold(c, alpha) for c in cal])
    frr = np.mean(new > t)
    se = math.sqrt(alpha * (1 - alpha) / reps)
    assert frr <= alpha + 3 * se
    if np.isfinite(t).all():
        assert frr >= alpha - 1.0 / (n + 1) - 3 * se
    # the naive empirical quantile under-covers for small n
    if n == 19:
        naive = np.quantile(cal, 1 - alpha, axis=1)
        assert np.mean(new > naive) > alpha + 3 * se


def test_bad_scores_and_rates():
    with pytest.raises(ValueError, match="false_rejection_rate"):
        conformal_threshold([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="false_rejection_rate"):
        conformal_threshold([1.0, 2.0], -0.1)
    with pytest.raises(ValueError, match="empty"):
        conformal_threshold([], 0.1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        conformal_threshold([1.0, np.nan], 0.1)
    with pytest.raises(ValueError, match="false_rejection_rate"):
        min_calibration_bags(0)


def _clusters(seed=0, n_sources=4, n_per=30, dim=8, spreads=None):
    rng = np.random.RandomState(seed)
    F = 4 * rng.standard_normal((n_sources, dim))
    spreads = np.ones(n_sources) if spreads is None else np.asarray(spreads)
    idx = np.repeat(np.arange(n_sources), n_per)
    X = F[idx] + spreads[idx, None] * rng.standard_normal((idx.size, dim))
    return X, np.array([f"s{i}" for i in idx]), F, spreads, rng


@pytest.mark.parametrize("score", ["distance", "relative_distance", "ratio",
                                   "mahalanobis", "proba"])
def test_every_score_separates_unknown_sources(score):
    X, y, F, spreads, rng = _clusters(n_per=40)
    known = y != "s3"
    clf = NearestFingerprintClassifier("euclidean", reject_threshold="auto",
                                       rejection_score=score).fit(X[known], y[known])
    s = clf.unknown_score(X)
    assert s.shape == (len(y),) and np.all(np.isfinite(s))
    assert roc_auc_score(~known, s) > 0.9
    np.testing.assert_array_equal(clf.predict(X) == "unknown", s > clf.threshold_)
    # the score changes rejection only, never the attribution
    base = NearestFingerprintClassifier("euclidean").fit(X[known], y[known])
    kept = clf.predict(X) != "unknown"
    np.testing.assert_array_equal(clf.predict(X)[kept], base.predict(X)[kept])


def test_scores_against_their_definitions():
    X, y, F, _, rng = _clusters(seed=1)
    Xn = X + 0.5 * rng.standard_normal(X.shape)
    fit = lambda s: NearestFingerprintClassifier("euclidean", rejection_score=s).fit(X, y)
    D = np.linalg.norm(Xn[:, None, :] - fit("distance").fingerprints_[None], axis=2)
    nearest = D.argmin(1)
    d1 = D.min(1)
    np.testing.assert_allclose(fit("distance").unknown_score(Xn), d1)
    np.testing.assert_allclose(fit("ratio").unknown_score(Xn), d1 / np.sort(D, 1)[:, 1])
    rel = fit("relative_distance")
    np.testing.assert_allclose(rel.unknown_score(Xn), d1 / rel.score_scale_[nearest])
    # score_scale_: median leave-one-out distance of each source's bags
    for c, label in enumerate(rel.classes_):
        own = X[y == label]
        loo = [np.linalg.norm(own[i] - np.delete(own, i, 0).mean(0)) for i in range(len(own))]
        assert rel.score_scale_[c] == pytest.approx(np.median(loo))
    proba = fit("proba")
    np.testing.assert_allclose(proba.unknown_score(Xn),
                               1 - proba.predict_proba(Xn).max(1))
    from sklearn.covariance import LedoitWolf

    maha = fit("mahalanobis")
    c = 2
    P = LedoitWolf(assume_centered=True).fit(
        X[y == maha.classes_[c]] - maha.fingerprints_[c]).precision_
    rows = np.flatnonzero(nearest == c)
    diff = Xn[rows] - maha.fingerprints_[c]
    np.testing.assert_allclose(maha.unknown_score(Xn)[rows],
                               np.sqrt(np.einsum("ij,jk,ik->i", diff, P, diff)))


def test_relative_distance_evens_out_sources_of_different_spreads():
    """One threshold on the raw distance rejects the wide source far more often."""
    X, y, F, spreads, rng = _clusters(seed=2, n_per=60, spreads=[0.5, 0.5, 0.5, 2.0])
    idx = np.repeat(np.arange(4), 500)
    X_new = F[idx] + spreads[idx, None] * rng.standard_normal((idx.size, F.shape[1]))
    wide = idx == 3
    rates = {}
    for score in ("distance", "relative_distance"):
        clf = NearestFingerprintClassifier("euclidean", rejection_score=score,
                                           reject_threshold="auto").fit(X, y)
        clf.calibrate_threshold(X_new[::2], np.array([f"s{i}" for i in idx[::2]]))
        rej = clf.predict(X_new[1::2]) == "unknown"
        rates[score] = (rej[wide[1::2]].mean(), rej[~wide[1::2]].mean())
    assert rates["distance"][0] > 0.15 and rates["distance"][1] < 0.01
    assert abs(rates["relative_distance"][0] - rates["relative_distance"][1]) < 0.06


def test_calibrate_threshold_is_conformal_and_says_so():
    X, y, _, _, rng = _clusters(seed=3)
    clf = NearestFingerprintClassifier("euclidean", reject_threshold="auto").fit(X, y)
    assert clf.calibration_["method"] == "leave-one-out"
    assert "not guaranteed" in clf.rejection_guarantee()
    X_cal = X + 0.3 * rng.standard_normal(X.shape)
    clf.calibrate_threshold(X_cal, y)
    assert clf.threshold_ == conformal_threshold(clf.unknown_score(X_cal), 0.05)
    assert clf.calibration_ == {"method": "held-out", "n_bags": len(y),
                                "false_rejection_rate": 0.05,
                                "rejection_score": "relative_distance", "guaranteed": True}
    text = clf.rejection_guarantee()
    assert text.startswith("At most 5% of bags from known sources are flagged as unknown, "
                           "in expectation")
    assert f"{clf.threshold_:.6g}" in text and "unknown sources" in text
    with pytest.warns(InsufficientCalibrationWarning):
        calibrate_threshold(clf, X_cal[:5], y[:5])
    assert clf.threshold_ == np.inf and "too few" in clf.rejection_guarantee()
    fixed = NearestFingerprintClassifier("euclidean", reject_threshold=2.0).fit(X, y)
    assert "no rate is guaranteed" in fixed.rejection_guarantee()


def test_cross_fit_folds_deal_each_source_evenly():
    y = np.repeat(["a", "b", "c"], [10, 7, 12])
    folds = cross_fit_folds(y, 5, 0)
    for s in "abc":
        counts = np.bincount(folds[y == s], minlength=5)
        assert counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(folds, cross_fit_folds(y, 5, 0))
    with pytest.raises(ValueError, match="n_splits=2"):
        cross_fit_folds(np.repeat(["a", "b"], [3, 10]), 2, 0)
    four = cross_fit_folds(np.repeat(["a", "b"], [4, 10]), 5, 0)  # 4 bags: 4 folds
    assert np.unique(four[:4]).size == 4
    with pytest.raises(ValueError, match="at least 3 bags"):
        cross_fit_folds(np.repeat(["a", "b"], [2, 10]), 2, 0)


def test_cross_fit_threshold_is_conformal_on_out_of_fold_scores():
    X, y, _, _, _ = _clusters(seed=4, n_per=10)
    base = NearestFingerprintClassifier("euclidean", reject_threshold="auto")
    held = HeldOutRejectionClassifier(base, n_splits=5, random_state=0).fit(X, y)
    folds = cross_fit_folds(y, 5, 0)
    oof = np.empty(len(y))
    for k in range(5):
        m = clone(base).fit(X[folds != k], y[folds != k])
        oof[folds == k] = m.unknown_score(X[folds == k])
    np.testing.assert_allclose(held.calibration_scores_, oof)
    assert held.threshold_ == conformal_threshold(oof, 0.05)
    assert held.estimator_.class_counts_.tolist() == [10] * 4  # final fit on every bag
    assert held.estimator_.calibration_["method"] == "cross-fitted"
    assert "out-of-fold bags of cross-fitted models" in held.rejection_guarantee()


def test_cross_fit_holds_the_rate_where_split_has_too_few_bags():
    """10 bags per source: split leaves 8 calibration bags (too few for 5%),
    cross-fitting 40; over repeated draws its FRR stays <= 5%."""
    frr = []
    for seed in range(12):
        X, y, F, spreads, rng = _clusters(seed=seed, n_per=10, dim=4)
        idx = np.repeat(np.arange(4), 100)
        X_new = F[idx] + rng.standard_normal((idx.size, F.shape[1]))
        base = NearestFingerprintClassifier("euclidean", reject_threshold="auto")
        with pytest.warns(InsufficientCalibrationWarning):
            split = HeldOutRejectionClassifier(base, calibration="split",
                                               random_state=seed).fit(X, y)
        assert split.threshold_ == np.inf
        cross = HeldOutRejectionClassifier(base, random_state=seed).fit(X, y)
        assert np.isfinite(cross.threshold_)
        frr.append(np.mean(cross.predict(X_new) == "unknown"))
    assert 0.0 < np.mean(frr) <= 0.05 + 0.01


@pytest.mark.parametrize("params, match", [
    (dict(calibration="kfold"), "'calibration' parameter"),
    (dict(n_splits=1), "'n_splits' parameter"),
    (dict(n_splits=2.5), "'n_splits' parameter"),
    (dict(calibration_size=1.0), "'calibration_size' parameter"),
    (dict(random_state="x"), "'random_state' parameter"),
])
def test_held_out_constraints(params, match):
    X, y, _, _, _ = _clusters(n_per=10)
    est = HeldOutRejectionClassifier(
        NearestFingerprintClassifier("euclidean", reject_threshold="auto"), **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


@pytest.mark.parametrize("params, match", [
    (dict(rejection_score="cosine"), "'rejection_score' parameter"),
    (dict(metric="cosine"), "'metric' parameter"),
    (dict(false_rejection_rate=1.0), "'false_rejection_rate' parameter"),
    (dict(false_rejection_rate=True), "'false_rejection_rate' parameter"),
    (dict(temperature=np.inf), "'temperature' parameter"),
    (dict(unknown_label=None), "'unknown_label' parameter"),
    (dict(unknown_label=np.nan), "'unknown_label' parameter"),
])
def test_nearest_constraints(params, match):
    X, y, _, _, _ = _clusters(n_per=10)
    with pytest.raises(ValueError, match=match):
        NearestFingerprintClassifier(**params).fit(X, y)


def test_enroll_keeps_scale_and_precision_per_source():
    X, y, F, _, rng = _clusters(seed=5)
    for score in ("relative_distance", "mahalanobis"):
        clf = NearestFingerprintClassifier("euclidean", rejection_score=score).fit(X, y)
        new = 10 + rng.standard_normal((5, X.shape[1]))
        clf.enroll(new, "s9")
        assert clf.score_scale_.shape == (5,)
        if score == "mahalanobis":
            assert clf.precisions_.shape == (5, X.shape[1], X.shape[1])
        assert np.all(np.isfinite(clf.unknown_score(new)))
