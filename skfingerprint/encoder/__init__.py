"""The set encoder: DeepSet modules, the set contrastive loss and the estimator."""

from ._estimator import SetFingerprintEncoder
from ._loss import (
    ImageCrossEntropyLoss,
    SetContrastiveLoss,
    image_cross_entropy,
    set_contrastive_loss,
)
from ._modules import (
    DeepSet,
    ImageEncoder,
    ImageSourceClassifier,
    ImageSupervisedSet,
    PooledFeatureSet,
)
from ._sampling import PKBatchSampler
from ._weights import available_weights

__all__ = [
    "SetFingerprintEncoder",
    "SetContrastiveLoss",
    "ImageCrossEntropyLoss",
    "set_contrastive_loss",
    "image_cross_entropy",
    "DeepSet",
    "ImageEncoder",
    "ImageSupervisedSet",
    "ImageSourceClassifier",
    "PooledFeatureSet",
    "PKBatchSampler",
    "available_weights",
]
