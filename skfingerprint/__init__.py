"""skfingerprint: fingerprint generative models from bags of their images.

The main objects are re-exported here:

- :class:`SetFingerprintEncoder`: the DeepSet set encoder trained with the
  set contrastive loss (a scikit-learn transformer);
- :func:`make_bags`: group single images into bags of one source;
- :func:`save` / :func:`load`: persistence in a format that cannot execute
  code when loaded;
- the paper's baselines :class:`PRNUFingerprint`,
  :class:`SpectrumFingerprint`, :class:`AttributionCNN`, and
  :class:`NearestFingerprintClassifier`.

Sub-packages: :mod:`skfingerprint.datasets`, :mod:`skfingerprint.metrics`,
:mod:`skfingerprint.cluster`, :mod:`skfingerprint.visualization`,
:mod:`skfingerprint.encoder`, :mod:`skfingerprint.baselines`,
:mod:`skfingerprint.classifiers` (with open-set rejection and enrollment),
:mod:`skfingerprint.augment` (post-processing of images).
"""

__version__ = "0.1.0.dev0"

from ._bags import make_bags
from ._persistence import load, save
from .baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint
from .classifiers import NearestFingerprintClassifier
from .encoder import SetFingerprintEncoder

__all__ = [
    "__version__",
    "SetFingerprintEncoder",
    "make_bags",
    "save",
    "load",
    "PRNUFingerprint",
    "SpectrumFingerprint",
    "AttributionCNN",
    "NearestFingerprintClassifier",
]
