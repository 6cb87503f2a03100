"""Classifiers of bag features: attribution of bags to sources."""

from ._nearest import NearestFingerprintClassifier

__all__ = ["NearestFingerprintClassifier"]
