"""skfingerprint: fingerprint generative models from bags of their images.

The main objects are re-exported here:

- :class:`SetFingerprintEncoder`: the DeepSet set encoder trained with the
  set contrastive loss (a scikit-learn transformer);
- :func:`make_bags`: group single images into bags of one source.

Sub-packages: :mod:`skfingerprint.datasets`, :mod:`skfingerprint.metrics`,
:mod:`skfingerprint.cluster`, :mod:`skfingerprint.visualization`,
:mod:`skfingerprint.encoder`.
"""

__version__ = "0.1.0.dev0"

from ._bags import make_bags
from .encoder import SetFingerprintEncoder

__all__ = ["__version__", "SetFingerprintEncoder", "make_bags"]
