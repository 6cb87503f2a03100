"""Baselines of the paper: PRNU, spectrum and single-image attribution CNN.

They take bags like :class:`~skfingerprint.SetFingerprintEncoder` and turn
each bag into one feature vector, so pipelines, scorers and benchmarks treat
every method alike.
"""

from ._attribution_cnn import AttributionCNN
from ._prnu import PRNUFingerprint
from ._residual import noise_residual
from ._spectrum import SpectrumFingerprint

__all__ = ["AttributionCNN", "PRNUFingerprint", "SpectrumFingerprint", "noise_residual"]
