"""Tests of model_fingerprints, fingerprint_distances and cluster_families."""

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from skfingerprint.cluster import (
    cluster_families,
    fingerprint_distances,
    model_fingerprints,
)
from skfingerprint.metrics import fingerprint_correlation_matrix

FAMILIES = {
    "dcgan": "GAN", "wgan": "GAN", "stylegan": "GAN",
    "vae": "VAE", "nvae": "VAE",
    "glow": "Flow", "realnvp": "Flow",
}


def family_data(rng, n_bags=6, n_features=48, spread=0.4, noise=0.4):
    """Bags of 7 sources whose centers are grouped around 3 family centers."""
    names = list(FAMILIES)
    family_names = sorted(set(FAMILIES.values()))
    fam_centers = {f: rng.normal(size=n_features) for f in family_names}
    centers = np.array(
        [fam_centers[FAMILIES[s]] + spread * rng.normal(size=n_features) for s in names]
    )
    idx = np.repeat(np.arange(len(names)), n_bags)
    Z = centers[idx] + noise * rng.normal(size=(idx.size, n_features))
    return Z, np.asarray(names)[idx]


def test_model_fingerprints_are_class_means():
    rng = np.random.RandomState(0)
    Z, y = family_data(rng)
    classes, F = model_fingerprints(Z, y)
    assert classes.tolist() == sorted(FAMILIES)
    for c, f in zip(classes, F):
        np.testing.assert_allclose(f, Z[y == c].mean(axis=0))
    classes, F = model_fingerprints(Z, y, labels=["vae", "glow"])
    assert classes.tolist() == ["vae", "glow"]
    np.testing.assert_allclose(F[1], Z[y == "glow"].mean(axis=0))


def test_fingerprint_distances_definition_and_format():
    rng = np.random.RandomState(1)
    Z, y = family_data(rng)
    D = fingerprint_distances(Z, y)
    rho = fingerprint_correlation_matrix(Z, y)
    M = len(FAMILIES)
    for i in range(M):
        for j in range(M):
            expected = 0.0 if i == j else 1 - (rho[i, j] + rho[j, i]) / 2
            assert D[i, j] == pytest.approx(expected, abs=1e-15)
    assert np.array_equal(D, D.T)
    assert np.all(np.diag(D) == 0) and np.all((D >= 0) & (D <= 1))
    squareform(D, checks=True)  # scipy accepts it as a distance matrix


def test_distances_recover_families_with_sklearn_and_scipy():
    rng = np.random.RandomState(2)
    Z, y = family_data(rng)
    classes = np.unique(y)
    true = [FAMILIES[c] for c in classes]
    D = fingerprint_distances(Z, y)
    sk = AgglomerativeClustering(
        n_clusters=3, metric="precomputed", linkage="average"
    ).fit_predict(D)
    sp = fcluster(linkage(squareform(D), method="average"), 3, criterion="maxclust")
    assert adjusted_rand_score(true, sk) == 1.0
    assert adjusted_rand_score(true, sp) == 1.0


def test_cluster_families_dict_and_numbering():
    rng = np.random.RandomState(3)
    Z, y = family_data(rng)
    found = cluster_families(Z, y, n_families=3)
    assert list(found) == sorted(FAMILIES)
    assert adjusted_rand_score([FAMILIES[s] for s in found], list(found.values())) == 1.0
    # Ids in order of first appearance along the sorted sources.
    first_seen = []
    for cluster in found.values():
        if cluster not in first_seen:
            first_seen.append(cluster)
    assert first_seen == [0, 1, 2]
    assert all(type(k) is str and type(v) is int for k, v in found.items())


def test_cluster_families_threshold_and_extremes():
    rng = np.random.RandomState(4)
    Z, y = family_data(rng)
    assert set(cluster_families(Z, y, distance_threshold=1e-9).values()) == set(range(7))
    assert set(cluster_families(Z, y, distance_threshold=2.0).values()) == {0}
    assert set(cluster_families(Z, y, n_families=1).values()) == {0}
    single = cluster_families(Z[y == "vae"], y[y == "vae"], n_families=1)
    assert single == {"vae": 0}


def test_cluster_families_errors():
    rng = np.random.RandomState(5)
    Z, y = family_data(rng)
    with pytest.raises(ValueError, match="exactly one"):
        cluster_families(Z, y)
    with pytest.raises(ValueError, match="exactly one"):
        cluster_families(Z, y, n_families=2, distance_threshold=0.5)
    with pytest.raises(ValueError, match=r"between 1 and the number of sources \(7\)"):
        cluster_families(Z, y, n_families=8)


def test_distance_matrix_functions_agree_with_cluster_families():
    from scipy.cluster.hierarchy import fcluster

    from skfingerprint.cluster import correlation_distances, cut_families, family_linkage
    from skfingerprint.metrics import fingerprint_correlation_matrix

    Z, y = family_data(np.random.RandomState(0))
    rho = fingerprint_correlation_matrix(Z, y)
    D = correlation_distances(rho)
    np.testing.assert_array_equal(D, fingerprint_distances(Z, y))
    assert np.array_equal(D, D.T) and np.all(np.diag(D) == 0)
    ids = cut_families(D, n_families=3)
    assert dict(zip(np.unique(y).tolist(), ids.tolist())) == cluster_families(
        Z, y, n_families=3)
    raw = fcluster(family_linkage(D), 3, criterion="maxclust")
    # the same partition as the linkage cut by SciPy, renumbered by first appearance
    assert len(set(zip(raw.tolist(), ids.tolist()))) == len(set(ids.tolist()))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 3)), "square"),
    (np.zeros((0, 0)), "square"),
    (np.array([[0.0, np.nan], [np.nan, 0.0]]), "NaN"),
])
def test_distance_matrix_functions_refuse_bad_matrices(bad, match):
    from skfingerprint.cluster import correlation_distances, cut_families, family_linkage

    for fn in (correlation_distances, family_linkage,
               lambda D: cut_families(D, n_families=1)):
        with pytest.raises(ValueError, match=match):
            fn(bad)


def test_cut_families_parameters():
    from skfingerprint.cluster import cut_families, family_linkage

    D = np.array([[0.0, 0.1, 0.9], [0.1, 0.0, 0.8], [0.9, 0.8, 0.0]])
    with pytest.raises(ValueError, match="exactly one"):
        cut_families(D)
    with pytest.raises(ValueError, match="n_families"):
        cut_families(D, n_families=4)
    with pytest.raises(ValueError, match="'n_families' parameter"):
        cut_families(D, n_families=0)
    with pytest.raises(ValueError, match="at least 2 sources"):
        family_linkage(np.zeros((1, 1)))
    assert cut_families(np.zeros((1, 1)), n_families=1).tolist() == [0]


def test_euclidean_distances_are_mean_bag_distances_to_fingerprints():
    rng = np.random.RandomState(3)
    Z, y = family_data(rng)
    classes, F = model_fingerprints(Z, y)
    D = fingerprint_distances(Z, y, fingerprints=F, metric="euclidean")
    M = np.array([[np.linalg.norm(Z[y == a] - F[j], axis=1).mean()
                   for j in range(len(classes))] for a in classes])
    expected = (M + M.T) / 2
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(D, expected, atol=1e-10)
    assert np.array_equal(D, D.T)


def test_euclidean_distances_leave_each_bag_out_of_its_own_fingerprint():
    Z = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [10.0, 4.0]])
    y = np.array(["a", "a", "b", "b"])
    D = fingerprint_distances(Z, y, metric="euclidean")
    # bags of a to b's mean (10, 2): sqrt(104), sqrt(68); of b to a's mean (1, 0):
    # 9 and sqrt(97)
    m_ab = (np.sqrt(104) + np.sqrt(68)) / 2
    m_ba = (9 + np.sqrt(97)) / 2
    np.testing.assert_allclose(D, [[0, (m_ab + m_ba) / 2], [(m_ab + m_ba) / 2, 0]])


def test_euclidean_families_separate_what_correlation_cannot():
    # two families whose fingerprints differ only in scale: correlation sees
    # one pattern; the Euclidean distance sees two families
    rng = np.random.RandomState(0)
    pattern = rng.normal(size=32)
    scales = {"g1": 1.0, "g2": 1.1, "v1": 4.0, "v2": 4.2}
    y = np.repeat(list(scales), 8)
    Z = np.array([scales[s] * pattern for s in y]) + 0.05 * rng.normal(size=(y.size, 32))
    truth = [0, 0, 1, 1]
    found = cluster_families(Z, y, n_families=2, metric="euclidean")
    assert adjusted_rand_score(truth, list(found.values())) == 1.0
    by_corr = cluster_families(Z, y, n_families=2)
    assert adjusted_rand_score(truth, list(by_corr.values())) < 1.0


def test_unknown_metric_is_a_clear_error():
    rng = np.random.RandomState(0)
    Z, y = family_data(rng)
    with pytest.raises(ValueError, match="metric"):
        fingerprint_distances(Z, y, metric="cosine")
    with pytest.raises(ValueError, match="metric"):
        cluster_families(Z, y, n_families=2, metric="cosine")
