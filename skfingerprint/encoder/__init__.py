"""The set encoder: DeepSet modules, the set contrastive loss and the estimator."""

from ._estimator import SetFingerprintEncoder
from ._loss import SetContrastiveLoss, set_contrastive_loss
from ._modules import DeepSet, ImageEncoder
from ._sampling import PKBatchSampler

__all__ = [
    "SetFingerprintEncoder",
    "SetContrastiveLoss",
    "set_contrastive_loss",
    "DeepSet",
    "ImageEncoder",
    "PKBatchSampler",
]
