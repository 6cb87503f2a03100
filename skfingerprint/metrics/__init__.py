"""Metrics: how distinct and stable the fingerprints of sources are.

Everything here works on any bag embeddings ``Z`` of shape (n_bags, n_features)
(our encoder's or a baseline's); :class:`DecorrelationScorer` computes them
through a fitted estimator for model selection.
"""

from ._correlation import decorrelation_score, fingerprint_correlation_matrix
from ._scorer import DecorrelationScorer

__all__ = [
    "DecorrelationScorer",
    "decorrelation_score",
    "fingerprint_correlation_matrix",
]
