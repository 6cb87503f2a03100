import pickle

import joblib
import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint.baselines import PRNUFingerprint, noise_residual
from skfingerprint.classifiers import NearestFingerprintClassifier


@parametrize_with_checks([PRNUFingerprint()])
def test_sklearn_compatible_prnu(estimator, check):
    check(estimator)


def _smooth(n=32):
    yy, xx = np.mgrid[0:n, 0:n] / n
    return 100 + 60 * np.sin(2 * np.pi * xx) * np.cos(np.pi * yy) + 30 * xx


@pytest.mark.parametrize("wiener_dft", [True, False])
def test_residual_of_constant_and_smooth_images_is_small(wiener_dft):
    assert np.abs(noise_residual(np.full((32, 32), 77.0), wiener_dft=wiener_dft)).max() < 1e-9
    img = _smooth()
    res = noise_residual(img, wiener_dft=wiener_dft)
    assert res.shape == img.shape
    assert res.std() < 0.02 * img.std()


def test_residual_recovers_an_added_noise_pattern():
    rng = np.random.RandomState(0)
    pattern = rng.standard_normal((32, 32)) * 3
    res = noise_residual(np.stack([_smooth() + pattern, _smooth()[::-1] + pattern]))
    for r in res:
        assert np.corrcoef(r.ravel(), pattern.ravel())[0, 1] > 0.8


def test_bag_feature_is_mean_residual_and_finds_the_pattern():
    rng = np.random.RandomState(1)
    pattern = rng.standard_normal((16, 16, 3)) * 4
    smooth = np.stack([_smooth(16)] * 3, axis=-1)
    scenes = (rng.uniform(0.3, 1.2, size=(6, 1, 1, 3)) * smooth
              + rng.standard_normal((6, 16, 16, 3)) * 2)  # content + sensor noise
    images = np.clip(np.rint(scenes + pattern), 0, 255).astype(np.uint8)
    X = images.reshape(2, 3, 16, 16, 3)
    est = PRNUFingerprint().fit(X)
    Z = est.transform(X)
    assert Z.shape == (2, 16 * 16 * 3) and Z.dtype == np.float32
    # mean over the bag of the per-image residuals, in (H, W, C) order
    per_image = est.transform(images.reshape(6, 1, 16, 16, 3))
    np.testing.assert_allclose(Z[0], per_image[:3].mean(0), rtol=1e-4, atol=1e-4)
    corr = np.corrcoef(Z.mean(0), pattern.ravel())[0, 1]
    assert corr > 0.5
    # float input in [0, 1] is the same images in grey levels / 255
    np.testing.assert_allclose(est.transform(X / 255.0), Z, atol=1e-3)
    # luminance: one residual per image
    lum = PRNUFingerprint(color="luminance").fit_transform(X)
    assert lum.shape == (2, 256)
    assert PRNUFingerprint().fit_transform(X[..., 0]).shape == (2, 256)  # grayscale


def test_streaming_batches_give_the_same_features(small_bags):
    X, _ = small_bags
    full = PRNUFingerprint(batch_size=1024).fit_transform(X[:6])
    for bs in (3, 8, 20):  # smaller than a bag, one bag, several bags
        np.testing.assert_allclose(
            PRNUFingerprint(batch_size=bs).fit_transform(X[:6]), full, atol=1e-5)


def test_marra_attribution_well_above_chance(attribution_bags):
    X, y, _ = attribution_bags
    tr = np.arange(len(X)) % 2 == 0
    prnu = PRNUFingerprint().fit(X[tr])
    clf = NearestFingerprintClassifier("correlation").fit(prnu.transform(X[tr]), y[tr])
    assert clf.score(prnu.transform(X[~tr]), y[~tr]) >= 0.9  # chance 0.125


def test_persistence_and_errors(small_bags, tmp_path):
    X, _ = small_bags
    est = PRNUFingerprint().fit(X[:4])
    for loaded in (pickle.loads(pickle.dumps(est)),):
        np.testing.assert_array_equal(loaded.transform(X[:4]), est.transform(X[:4]))
    joblib.dump(est, tmp_path / "p.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "p.joblib").transform(X[:4]),
                                  est.transform(X[:4]))
    with pytest.raises(ValueError, match=r"fitted on images of size \(16, 16\)"):
        est.transform(X[:2, :, :8, :8])
    with pytest.raises(ValueError, match="NaN"):
        est.transform(np.full((1, 2, 16, 16, 3), np.nan))
    with pytest.raises(ValueError, match="dimensions"):
        est.transform(X[0, 0])
    for bad, match in [(dict(color="rgb"), "color"), (dict(sigma=0), "sigma"),
                       (dict(windows=(4,)), "windows"), (dict(wavelet="nope"), "wavelet"),
                       (dict(batch_size=0), "batch_size")]:
        with pytest.raises(ValueError, match=match):
            PRNUFingerprint(**bad).fit(X[:2])
    with pytest.raises(ValueError, match="shape"):
        noise_residual(np.zeros(5))


def test_memmap_bags_stream(small_bags, tmp_path):
    X, _ = small_bags
    mm = np.memmap(tmp_path / "bags.dat", dtype=np.uint8, mode="w+", shape=X[:4].shape)
    mm[:] = X[:4]
    mm.flush()
    ro = np.memmap(tmp_path / "bags.dat", dtype=np.uint8, mode="r", shape=X[:4].shape)
    np.testing.assert_array_equal(PRNUFingerprint(batch_size=4).fit_transform(ro),
                                  PRNUFingerprint().fit_transform(X[:4]))
