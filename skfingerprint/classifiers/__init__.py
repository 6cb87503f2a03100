"""Classifiers of bag features: attribution of bags to sources.

:class:`NearestFingerprintClassifier` attributes a bag to the nearest source
fingerprint; it can reject bags of unknown sources (``reject_threshold``)
and enroll new sources without retraining (:meth:`~NearestFingerprintClassifier.enroll`,
or :func:`enroll` through a fitted Pipeline); :func:`calibrate_threshold`
sets the rejection threshold and :func:`calibrate_temperature` the
probabilities on held-out bags, and :class:`HeldOutRejectionClassifier` holds
bags out of training to do both.
"""

from ._calibrated import (
    HeldOutRejectionClassifier, calibrate_temperature, calibrate_threshold, enroll)
from ._conformal import (
    InsufficientCalibrationWarning, conformal_threshold, min_calibration_bags)
from ._nearest import NearestFingerprintClassifier

__all__ = [
    "HeldOutRejectionClassifier",
    "InsufficientCalibrationWarning",
    "NearestFingerprintClassifier",
    "calibrate_temperature",
    "calibrate_threshold",
    "conformal_threshold",
    "enroll",
    "min_calibration_bags",
]
