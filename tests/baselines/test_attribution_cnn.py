import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint._threads import torch_threads
from skfingerprint.baselines import AttributionCNN
from skfingerprint.baselines._attribution_cnn import _expected_failed_checks
from skfingerprint.classifiers import NearestFingerprintClassifier


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny convolutions: one thread is fastest, and far faster on a busy CPU."""
    with torch_threads(1):
        yield


FAST = dict(feature_dim=16, channels=(8, 16), max_epochs=2, random_state=0)


@parametrize_with_checks([AttributionCNN(**FAST)], expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_attribution_cnn(estimator, check):
    check(estimator)


def test_learns_the_synthetic_sources(small_bags):
    X, y = small_bags
    tr = np.arange(len(X)) % 2 == 0
    cnn = AttributionCNN(feature_dim=32, channels=(8, 16), max_epochs=5, batch_size=32,
                         random_state=0).fit(X[tr], y[tr])
    losses = cnn.net_.history[:, "train_loss"]
    assert losses[-1] < 0.8 * losses[0]
    Z = cnn.transform(X[~tr])
    assert Z.shape == (int((~tr).sum()), 32) and Z.dtype == np.float32
    clf = NearestFingerprintClassifier().fit(cnn.transform(X[tr]), y[tr])
    assert clf.score(Z, y[~tr]) >= 0.8  # 4 sources: chance 0.25
    np.testing.assert_array_equal(cnn.classes_, np.unique(y))


def test_bag_feature_is_mean_of_image_features(small_bags):
    X, y = small_bags
    cnn = AttributionCNN(**FAST).fit(X[::4], y[::4])
    per_image = cnn.transform(X[:2].reshape(16, 1, 16, 16, 3))
    np.testing.assert_allclose(cnn.transform(X[:2]), per_image.reshape(2, 8, -1).mean(1),
                               rtol=1e-4, atol=1e-5)
    small_batches = clone(cnn).set_params(batch_size=3)
    small_batches.__dict__.update({k: v for k, v in cnn.__dict__.items() if k.endswith("_")})
    np.testing.assert_allclose(small_batches.transform(X[:2]), cnn.transform(X[:2]),
                               rtol=1e-4, atol=1e-5)


def test_deterministic_global_rng_untouched_and_pickle(small_bags, tmp_path):
    X, y = small_bags
    torch.manual_seed(7)
    before = torch.get_rng_state()
    np_before = np.random.get_state()[1].copy()
    a = AttributionCNN(**FAST).fit(X[::3], y[::3])
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)
    b = AttributionCNN(**FAST).fit(X[::3], y[::3])
    np.testing.assert_array_equal(a.transform(X[:4]), b.transform(X[:4]))
    state = a.__getstate__()
    assert "net_" not in state
    assert all(isinstance(v, np.ndarray) for v in state["_net_state"]["weights"].values())
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.transform(X[:4]), a.transform(X[:4]))
    assert len(loaded.net_.history) == 2
    joblib.dump(a, tmp_path / "cnn.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "cnn.joblib").transform(X[:4]),
                                  a.transform(X[:4]))


def test_errors(small_bags):
    X, y = small_bags
    with pytest.raises(ValueError, match="2 sources"):
        AttributionCNN(**FAST).fit(X[:2], ["a", "a"])
    with pytest.raises(ValueError, match="labels"):
        AttributionCNN(**FAST).fit(X[:4], y[:3])
    for bad, match in [(dict(feature_dim=0), "feature_dim"), (dict(lr=-1), "lr"),
                       (dict(channels=()), "channels"), (dict(device="nope"), "device")]:
        with pytest.raises(ValueError, match=match):
            AttributionCNN(**{**FAST, **bad}).fit(X[:4], y[:4])
    cnn = AttributionCNN(**FAST).fit(X[::4], y[::4])
    with pytest.raises(ValueError, match=r"fitted on images of size \(16, 16\)"):
        cnn.transform(X[:2, :, :8, :8])


def test_callbacks_are_checked_once_per_fit(small_bags, monkeypatch):
    from skfingerprint.baselines import _attribution_cnn

    calls = []
    check = _attribution_cnn.check_callbacks
    monkeypatch.setattr(_attribution_cnn, "check_callbacks",
                        lambda *a, **k: calls.append(1) or check(*a, **k))
    X, y = small_bags
    AttributionCNN(**{**FAST, "max_epochs": 1}).fit(X[::8], y[::8])
    assert len(calls) == 1
