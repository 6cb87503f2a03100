"""The set encoder: DeepSet modules, the set contrastive loss and the estimator."""

from ._estimator import SetFingerprintEncoder
from ._loss import SetContrastiveLoss, image_cross_entropy, set_contrastive_loss
from ._modules import DeepSet, ImageEncoder, ImageSupervisedSet
from ._sampling import PKBatchSampler
from ._weights import available_weights

__all__ = [
    "SetFingerprintEncoder",
    "SetContrastiveLoss",
    "set_contrastive_loss",
    "image_cross_entropy",
    "DeepSet",
    "ImageEncoder",
    "ImageSupervisedSet",
    "PKBatchSampler",
    "available_weights",
]
