"""Pooling of the per-image features of a bag: mean, sum and mean_std."""

import numpy as np
import pytest
import torch

from skfingerprint import SetFingerprintEncoder
from skfingerprint.encoder import DeepSet


@pytest.mark.parametrize("pooling", ["mean", "sum", "mean_std"])
def test_pooling_is_permutation_invariant_and_matches_its_definition(pooling):
    module = DeepSet(embedding_dim=4, channels=(4, 8), rho_hidden=8, pooling=pooling).eval()
    x = torch.rand(2, 5, 8, 8, 3)
    feats = module.image_features(x)
    pooled = module.pool(x)
    mean, std = feats.mean(dim=1), (feats.var(dim=1, unbiased=False) + 1e-6).sqrt()
    expected = {"mean": mean, "sum": feats.sum(dim=1),
                "mean_std": torch.cat([mean, std], dim=1)}[pooling]
    torch.testing.assert_close(pooled, expected, rtol=1e-4, atol=1e-5)
    assert module.rho[0].in_features == pooled.shape[1] == module.pooled_features
    with torch.no_grad():
        torch.testing.assert_close(module(x[:, [4, 2, 0, 1, 3]]), module(x),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "sum", "mean_std"])
def test_bags_larger_than_a_chunk_pool_the_same(small_bags, pooling):
    X, y = small_bags
    enc = SetFingerprintEncoder(pooling=pooling, max_epochs=1, random_state=0).fit(X, y)
    whole = enc.transform(X)
    enc._module.chunk_size = 3  # each bag of 8 pooled in parts of 3, 3 and 2 images
    np.testing.assert_allclose(enc.transform(X), whole, rtol=1e-4, atol=1e-4)


def test_unknown_pooling_is_a_clear_error(small_bags):
    X, y = small_bags
    with pytest.raises(ValueError, match="pooling"):
        SetFingerprintEncoder(pooling="max", max_epochs=1).fit(X, y)
