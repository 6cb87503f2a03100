import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint.baselines import SpectrumFingerprint
from skfingerprint.classifiers import NearestFingerprintClassifier


@parametrize_with_checks([SpectrumFingerprint()])
def test_sklearn_compatible_spectrum(estimator, check):
    check(estimator)


# the wavelet residual is high-pass: it keeps short periods only
@pytest.mark.parametrize("residual, period", [("wavelet", 3), ("wavelet", 4),
                                              ("none", 4), ("none", 8)])
def test_azimuthal_profile_peaks_at_the_pattern_frequency(residual, period):
    rng = np.random.RandomState(0)
    n = 32
    yy, xx = np.mgrid[0:n, 0:n]
    wave = 6 * np.cos(2 * np.pi * xx / period)
    base = 120 + 40 * np.sin(2 * np.pi * yy / n)  # smooth content
    imgs = base + wave + rng.standard_normal((4, n, n)) * 1.0
    X = np.clip(np.rint(imgs), 0, 255).astype(np.uint8)[None]  # one grey bag
    est = SpectrumFingerprint(features="azimuthal", residual=residual,
                              standardize=False).fit(X)
    profile = est.transform(X)[0]
    freqs = est.radial_frequencies_
    assert profile.shape == freqs.shape
    high = freqs > 1.5 / n  # ignore the lowest rings (image content)
    peak = freqs[high][np.argmax(profile[high])]
    assert peak == pytest.approx(1 / period, abs=0.6 / n)


def test_dct_map_peaks_at_the_pattern_coefficient():
    n = 16
    xx = np.mgrid[0:n, 0:n][1]
    # DCT-II basis function of horizontal index 6
    img = 128 + 10 * np.cos(np.pi * (2 * xx + 1) * 6 / (2 * n))
    X = np.clip(np.rint(img), 0, 255).astype(np.uint8)[None, None]
    Z = SpectrumFingerprint(features="dct", residual="none", standardize=False).fit_transform(X)
    dct = Z.reshape(n, n)
    dct[0, 0] = -np.inf  # the mean
    assert np.unravel_index(np.argmax(dct), dct.shape) == (0, 6)


def test_shapes_standardization_and_options(small_bags):
    X, y = small_bags
    est = SpectrumFingerprint().fit(X)
    Z = est.transform(X)
    n_rings = est.radial_frequencies_.size
    assert Z.shape == (len(X), 3 * n_rings + 16 * 16 * 3) and Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-3)
    np.testing.assert_allclose(est.fit_transform(X), Z, atol=1e-6)
    lum = SpectrumFingerprint(color="luminance", features="dct").fit(X)
    assert lum.transform(X).shape == (len(X), 256)
    assert not hasattr(lum, "radial_frequencies_")
    np.testing.assert_allclose(
        SpectrumFingerprint(batch_size=5).fit(X[:6]).transform(X[:6]),
        SpectrumFingerprint().fit(X[:6]).transform(X[:6]), atol=1e-4)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.transform(X[:3]), Z[:3])


def test_attribution_well_above_chance(attribution_bags):
    X, y, _ = attribution_bags
    tr = np.arange(len(X)) % 2 == 0
    spec = SpectrumFingerprint().fit(X[tr])
    clf = NearestFingerprintClassifier().fit(spec.transform(X[tr]), y[tr])
    assert clf.score(spec.transform(X[~tr]), y[~tr]) >= 0.8  # chance 0.125


def test_errors(small_bags):
    X, _ = small_bags
    for bad, match in [(dict(features="fft"), "features"), (dict(residual="x"), "residual"),
                       (dict(color=1), "color"), (dict(levels=0), "levels")]:
        with pytest.raises(ValueError, match=match):
            SpectrumFingerprint(**bad).fit(X[:2])
    est = SpectrumFingerprint().fit(X[:2])
    with pytest.raises(ValueError, match=r"fitted on images of size \(16, 16\)"):
        est.transform(X[:2, :, :8, :8])
    with pytest.raises(TypeError):
        est.transform(X[:2].astype(bool))
