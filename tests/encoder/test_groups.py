"""``SetFingerprintEncoder.fit(X, y, groups=)``: related sources drawn together."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import Pipeline

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.datasets import make_fingerprinted_images

FAST = dict(max_epochs=5, random_state=0)


@pytest.fixture(scope="module")
def family_bags():
    # 4 sources in 2 families (A1, A2 and B1, B2 share part of their artifact)
    data = make_fingerprinted_images(n_models=4, n_images_per_model=64, image_size=16,
                                     random_state=0)
    X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    groups = np.array([data.families[s] for s in y])
    return X, y, groups


def _within_between(enc):
    """Mean fingerprint distance within a group / between groups."""
    F, g = enc.fingerprints_, enc.source_groups_
    D = np.linalg.norm(F[:, None] - F[None], axis=2)
    same = (g[:, None] == g[None]) & ~np.eye(len(g), dtype=bool)
    other = g[:, None] != g[None]
    return D[same].mean() / D[other].mean()


def test_groups_bring_the_sources_of_a_group_closer(family_bags):
    X, y, groups = family_bags
    plain = SetFingerprintEncoder(group_weight=0.0, **FAST).fit(X, y, groups=groups)
    grouped = SetFingerprintEncoder(group_weight=3.0, **FAST).fit(X, y, groups=groups)
    assert plain.source_groups_.tolist() == ["A", "A", "B", "B"]
    assert _within_between(grouped) < 0.9 * _within_between(plain)
    # each source stays its own cluster
    acc = NearestCentroid().fit(grouped.transform(X[::2]), y[::2]).score(
        grouped.transform(X[1::2]), y[1::2])
    assert acc >= 0.9


def test_weight_zero_or_no_groups_is_the_plain_encoder(family_bags):
    X, y, groups = family_bags
    a = SetFingerprintEncoder(max_epochs=2, random_state=0).fit(X, y)
    b = SetFingerprintEncoder(max_epochs=2, random_state=0, group_weight=0.0).fit(
        X, y, groups=groups)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not hasattr(a, "source_groups_")
    # refitting without groups forgets them
    b.fit(X, y)
    assert not hasattr(b, "source_groups_")


def test_bad_groups_are_refused_with_the_fix(family_bags):
    X, y, groups = family_bags
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="has two groups .*all the bags of a source must share one of the groups"):
        enc.fit(X, y, groups=np.arange(len(y)))
    with pytest.raises(ValueError, match="one label per bag"):
        enc.fit(X, y, groups=groups[:-1])
    with pytest.raises(ValueError, match="group_weight"):
        SetFingerprintEncoder(group_weight=-1.0).fit(X, y, groups=groups)


def test_grouped_encoder_round_trips_through_the_safe_format(family_bags, tmp_path):
    from skfingerprint import load, save

    X, y, groups = family_bags
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y, groups=groups)
    save(enc, tmp_path / "m.skfp")
    back = load(tmp_path / "m.skfp")
    assert back.source_groups_.tolist() == enc.source_groups_.tolist()
    assert back.group_weight == enc.group_weight
    np.testing.assert_array_equal(back.transform(X), enc.transform(X))


def test_groups_reach_the_encoder_in_a_pipeline(family_bags):
    X, y, groups = family_bags
    direct = SetFingerprintEncoder(**FAST).fit(X, y, groups=groups).transform(X)
    pipe = Pipeline([("fp", SetFingerprintEncoder(**FAST)), ("clf", NearestCentroid())])
    pipe.fit(X, y, fp__groups=groups)
    np.testing.assert_array_equal(pipe[:-1].transform(X), direct)
    with sklearn.config_context(enable_metadata_routing=True):
        enc = SetFingerprintEncoder(**FAST).set_fit_request(groups=True)
        routed = Pipeline([("fp", enc), ("clf", NearestCentroid())]).fit(X, y, groups=groups)
        np.testing.assert_array_equal(routed[:-1].transform(X), direct)
    restored = pickle.loads(pickle.dumps(routed[0]))
    assert restored.source_groups_.tolist() == ["A", "A", "B", "B"]
    np.testing.assert_array_equal(restored.transform(X), direct)


@pytest.mark.parametrize("calibration", ["cross_fit", "split"])
def test_groups_reach_the_encoder_through_held_out_rejection(family_bags, calibration):
    from skfingerprint.classifiers import (
        HeldOutRejectionClassifier, NearestFingerprintClassifier)

    X, y, groups = family_bags

    def pipeline(enc):
        return Pipeline([("fp", enc),
                         ("clf", NearestFingerprintClassifier(reject_threshold="auto"))])

    direct = pipeline(SetFingerprintEncoder(**FAST)).fit(X, y, fp__groups=groups)
    held = HeldOutRejectionClassifier(pipeline(SetFingerprintEncoder(**FAST)), n_splits=2,
                                      calibration=calibration, random_state=0)
    # every fold model gets the groups of its own training bags (a wrong
    # length would be refused by the encoder), the final model all of them
    held.fit(X, y, fp__groups=groups)
    assert held.estimator_[0].source_groups_.tolist() == ["A", "A", "B", "B"]
    if calibration == "cross_fit":  # the final model is fitted on every bag
        np.testing.assert_array_equal(held.estimator_[:-1].transform(X),
                                      direct[:-1].transform(X))
    with sklearn.config_context(enable_metadata_routing=True):
        enc = SetFingerprintEncoder(**FAST).set_fit_request(groups=True)
        routed = HeldOutRejectionClassifier(pipeline(enc), n_splits=2,
                                            calibration=calibration, random_state=0)
        routed.fit(X, y, groups=groups)
    np.testing.assert_array_equal(routed.estimator_[:-1].transform(X),
                                  held.estimator_[:-1].transform(X))
    if calibration == "cross_fit":  # 32 calibration bags: enough for a threshold
        assert np.isfinite(routed.threshold_)
