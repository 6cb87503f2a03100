"""Metrics: how distinct and stable the fingerprints of sources are.

Everything here works on any bag embeddings ``Z`` of shape (n_bags, n_features)
(our encoder's or a baseline's); :func:`model_fingerprints` gives the
fingerprint of each source (the mean embedding of its bags), and
:class:`DecorrelationScorer` computes the score through a fitted estimator for
model selection.  :func:`expected_calibration_error` and
:func:`top_label_calibration_curve` measure how well predicted probabilities
are calibrated.
"""

from ._calibration import expected_calibration_error, top_label_calibration_curve
from ._correlation import decorrelation_score, fingerprint_correlation_matrix
from ._fingerprints import model_fingerprints
from ._scorer import DecorrelationScorer

__all__ = [
    "DecorrelationScorer",
    "decorrelation_score",
    "expected_calibration_error",
    "fingerprint_correlation_matrix",
    "model_fingerprints",
    "top_label_calibration_curve",
]
