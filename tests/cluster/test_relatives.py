"""NearestRelatives: the known sources nearest to the bags of a generator."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skfingerprint import SetFingerprintEncoder, load, make_bags, save
from skfingerprint.baselines import PRNUFingerprint, SpectrumFingerprint
from skfingerprint.classifiers import NearestFingerprintClassifier
from skfingerprint.cluster import NearestRelatives
from skfingerprint.datasets import make_fingerprinted_images


@pytest.fixture(scope="module")
def families():
    """Six generators in two families that share most of their artifact."""
    images, labels = make_fingerprinted_images(
        n_models=6, n_families=2, n_images_per_model=48, image_size=16,
        family_share=0.8, random_state=0, return_X_y=True)
    return make_bags(images, labels, bag_size=8, random_state=0)


@pytest.mark.parametrize("left_out", ["A1", "A2", "A3", "B1", "B2", "B3"])
def test_a_left_out_generator_lands_next_to_its_family(families, left_out):
    X, y = families
    known = y != left_out
    rel = NearestRelatives(n_relatives=2).fit(X[known], y[known])
    assert left_out not in rel.classes_
    found = [source for source, _ in rel.relatives(X[~known])]
    assert len(found) == 2
    # both of its family's known members first, before any other source
    assert {s[0] for s in found} == {left_out[0]}


def test_distances_are_the_spectrum_and_nearest_fingerprint_composition(families):
    X, y = families
    rel = NearestRelatives().fit(X, y)
    spec = SpectrumFingerprint().fit(X, y)
    nfc = NearestFingerprintClassifier("correlation").fit(spec.transform(X), y)
    np.testing.assert_allclose(rel.source_distances(X), nfc.source_distances(spec.transform(X)))
    pooled = nfc.source_distances(spec.transform(X[:5]).mean(0, keepdims=True))
    np.testing.assert_allclose(rel.source_distances(X[:5], pool=True), pooled)
    np.testing.assert_array_equal(rel.classes_, nfc.classes_)


def test_pairwise_source_distances_between_known_sources_give_the_families(families):
    from skfingerprint.cluster import cut_families

    X, y = families
    rel = NearestRelatives().fit(X, y)
    D = rel.pairwise_source_distances_
    assert D.shape == (6, 6)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0)
    F = rel.nearest_.fingerprints_
    np.testing.assert_allclose(D[0, 3], 1 - np.corrcoef(F[0], F[3])[0, 1])
    assert cut_families(D, n_families=2).tolist() == [0, 0, 0, 1, 1, 1]


def test_kneighbors_sorts_the_distances(families):
    X, y = families
    rel = NearestRelatives().fit(X, y)
    D = rel.source_distances(X[:4])
    dist, ind = rel.kneighbors(X[:4], 4)
    assert dist.shape == ind.shape == (4, 4)
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :4])
    np.testing.assert_allclose(np.take_along_axis(D, ind, axis=1), dist)
    np.testing.assert_array_equal(rel.kneighbors(X[:4], 4, return_distance=False), ind)
    # a bag's own source is its nearest
    assert [rel.classes_[i] for i in ind[:, 0]] == list(y[:4])
    # more than the known sources: all of them
    assert rel.kneighbors(X[:1], 50)[1].shape == (1, len(rel.classes_))
    assert rel.kneighbors(X, pool=True)[1].shape == (1, 3)
    with pytest.raises(ValueError, match="n_relatives == 0, must be >= 1"):
        rel.kneighbors(X[:1], 0)


def test_other_bag_transformers_and_metrics(families):
    X, y = families
    prnu = NearestRelatives(PRNUFingerprint()).fit(X, y)
    assert isinstance(prnu.fingerprint_, PRNUFingerprint)
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0)
    learned = NearestRelatives(enc, metric="euclidean").fit(X, y)
    assert learned.nearest_.metric == "euclidean"
    assert not hasattr(enc, "classes_")  # the given estimator is cloned, not fitted
    assert learned.source_distances(X[:2]).shape == (2, 6)


def test_bad_parameters_and_input(families):
    X, y = families
    with pytest.raises(ValueError, match="metric"):
        NearestRelatives(metric="cosine").fit(X, y)
    with pytest.raises(ValueError, match="n_relatives"):
        NearestRelatives(n_relatives=0).fit(X, y)
    with pytest.raises((ValueError, TypeError), match="fingerprint"):
        NearestRelatives(fingerprint="spectrum").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 known sources"):
        NearestRelatives().fit(X[y == "A1"], y[y == "A1"])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NearestRelatives().relatives(X)


def test_round_trips_give_identical_relatives(families, tmp_path):
    X, y = families
    rel = NearestRelatives().fit(X, y)
    expected = rel.source_distances(X[:3])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(rel)).source_distances(X[:3]),
                                  expected)
    save(rel, tmp_path / "rel.skfp")
    np.testing.assert_array_equal(load(tmp_path / "rel.skfp").source_distances(X[:3]),
                                  expected)
    np.testing.assert_array_equal(clone(rel).fit(X, y).source_distances(X[:3]), expected)
