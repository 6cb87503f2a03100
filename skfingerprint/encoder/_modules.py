"""Torch modules of the DeepSet: phi (per image), pooling, rho (per bag)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

__all__ = ["ImageEncoder", "DeepSet", "ImageSupervisedSet", "ImageSourceClassifier",
           "PooledFeatureSet"]

_RESIDUAL_GAIN = 4.0

# On CPU phi runs over sub-chunks of about this many pixels (images x H x W):
# the activations of one sub-chunk (16 channels of float32: 32 MiB) stay near
# the caches, which makes a forward pass of small patches faster than in
# whole chunks.  The split depends
# on the image size only (never on threads or workers), so CPU results stay
# deterministic.
_CPU_SUBCHUNK_PIXELS = 1 << 19


def _local_mean_3x3(x):
    """The mean of every pixel's 3x3 neighbourhood inside the image, per channel.

    What ``F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)``
    computes (to float rounding), written as two sums of shifted views of the
    zero-padded image divided by the number of pixels each window holds:
    several times faster on CPU, where the pooling took a tenth of a
    training step.
    """
    padded = F.pad(x, (1, 1, 1, 1))
    rows = padded[..., :-2] + padded[..., 1:-1] + padded[..., 2:]
    total = rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]
    height, width = x.shape[-2:]
    return total / (_window_sizes(height, x)[:, None] * _window_sizes(width, x))


def _window_sizes(n, like):
    """Pixels of a 3-wide window centred on each of ``n`` positions (3, 2 at
    the borders, 1 for a single one), as a tensor like ``like``."""
    sizes = torch.full((n,), 3.0, dtype=like.dtype, device=like.device)
    sizes[0] -= 1
    sizes[-1] -= 1
    return sizes


class ImageEncoder(nn.Module):
    """phi: a fully convolutional CNN that maps one image to a feature vector.

    The first ``n_full_res`` convolutions run at full resolution without
    striding or pooling, so that the pixel-level, high-frequency residuals
    where generative models leave their artifacts reach the deeper layers
    intact.  The stages that follow halve the resolution with strided
    convolutions; a global average pooling (and a global standard deviation
    pooling, which captures the energy of periodic artifacts) ends the
    network, so any image size works, down to 1x1.

    Parameters
    ----------
    in_channels : int
    channels : tuple of int
        Width of each stage; the first stage is at full resolution.
    n_full_res : int
        Number of 3x3 convolutions at full resolution (stage 0).
    front_end : {"image_and_residual", "normalised_residual"}
        What the first convolution sees.  ``"image_and_residual"``: the
        image and its high-pass residual (image minus its 3x3 local mean,
        times 4).  ``"normalised_residual"``: the residual alone, centred and
        divided by its root mean square per image and channel, so that the
        network sees the texture of the residual, not the image content or
        its overall contrast.
    convs_per_stage : int
        3x3 convolutions in each of the stages after the first; the first of
        them halves the resolution (stride 2).
    init : {"pytorch", "kaiming"}
        Initial weights of the convolutions: PyTorch's default
        (``Conv2d.reset_parameters``, uniform with a gain of 1/sqrt(3) of
        Kaiming's) or Kaiming normal for the leaky ReLU, zero biases.
    """

    FRONT_ENDS = ("image_and_residual", "normalised_residual")
    INITS = ("pytorch", "kaiming")

    def __init__(self, in_channels=3, channels=(16, 32, 64), n_full_res=1,
                 front_end="image_and_residual", convs_per_stage=2, init="kaiming"):
        super().__init__()
        if front_end not in self.FRONT_ENDS:
            raise ValueError(
                f"front_end must be one of {self.FRONT_ENDS}, got {front_end!r}."
            )
        if init not in self.INITS:
            raise ValueError(f"init must be one of {self.INITS}, got {init!r}.")
        if int(convs_per_stage) < 1:
            raise ValueError(f"convs_per_stage must be >= 1, got {convs_per_stage!r}.")
        self.in_channels = int(in_channels)
        self.front_end = str(front_end)
        layers = []
        # the image and its high-pass residual, or the residual alone
        c_in = 2 * in_channels if front_end == "image_and_residual" else in_channels
        for _ in range(n_full_res):
            layers += [nn.Conv2d(c_in, channels[0], 3, padding=1), nn.LeakyReLU(0.2)]
            c_in = channels[0]
        for c_out in channels[1:]:
            for j in range(int(convs_per_stage)):
                layers += [
                    nn.Conv2d(c_in, c_out, 3, stride=2 if j == 0 else 1, padding=1),
                    nn.LeakyReLU(0.2),
                ]
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.out_features = 2 * c_in
        if init == "kaiming":
            for m in self.features:
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        # High-pass residual (image minus its 3x3 local mean), the usual
        # front end of forensic detectors: it lifts faint pixel-level
        # artifacts above the image content.
        residual = x - _local_mean_3x3(x)
        if self.front_end == "image_and_residual":
            x = torch.cat([x, _RESIDUAL_GAIN * residual], dim=1)
        else:
            residual = residual - residual.mean(dim=(2, 3), keepdim=True)
            rms = residual.square().mean(dim=(2, 3), keepdim=True).add(1e-10).sqrt()
            x = residual / rms
        h = self.features(x)
        flat = h.flatten(2)
        mean = flat.mean(dim=2, keepdim=True)
        # written out: torch.var was 1.7-3x slower on CPU (forward + backward)
        var = (flat - mean).square().mean(dim=2)
        return torch.cat([mean.squeeze(2), (var + 1e-6).sqrt()], dim=1)


class DeepSet(nn.Module):
    """``F(bag) = rho(pool_{x in bag} phi(x))``.

    Input: a tensor of shape ``(n_bags, bag_size, H, W, C)``, channels-last as
    the library stores images, ``uint8`` (divided by 255 on the device) or
    float in [0, 1].  Images are centred (0.5 subtracted) before phi.  Output:
    ``(n_bags, embedding_dim)``.

    Parameters
    ----------
    in_channels : int
    embedding_dim : int
    channels : tuple of int
    n_full_res : int
    rho_hidden : int
        Width of rho's two hidden layers; 0: rho is one linear map of the
        (standardised) pooled features.
    pooling : {"mean", "sum", "mean_std"}
        ``"mean_std"``: the mean and the standard deviation over the bag of
        each feature, side by side (twice the features into rho).
    radius : float or None
        If given, embeddings are projected onto the sphere of this radius
        (see ``SetFingerprintEncoder(embedding_radius=...)``).
    chunk_size : int
        Largest number of images sent through phi at once.  Larger batches are
        processed chunk by chunk; during training each chunk is
        gradient-checkpointed, so activation memory is bounded by one chunk.
    precision : {"auto", "float32", "bfloat16"}
        Arithmetic of phi: ``"auto"`` is bfloat16 autocast on CUDA devices
        that support it, float32 elsewhere.  Pooling, rho and the loss always
        run in float32.
    front_end : {"image_and_residual", "normalised_residual"}
        The input of phi (:class:`ImageEncoder`).
    convs_per_stage : int
        Convolutions per strided stage of phi (:class:`ImageEncoder`).
    init : {"pytorch", "kaiming"}
        Initial weights of phi's convolutions (:class:`ImageEncoder`).  The
        defaults of ``convs_per_stage`` and ``init`` are those of models
        saved before they were configurable, which load unchanged.
    """

    POOLINGS = ("mean", "sum", "mean_std")

    def __init__(
        self,
        in_channels=3,
        embedding_dim=32,
        channels=(16, 32, 64),
        n_full_res=1,
        rho_hidden=128,
        pooling="mean",
        chunk_size=1024,
        radius=None,
        precision="auto",
        front_end="image_and_residual",
        convs_per_stage=2,
        init="kaiming",
    ):
        super().__init__()
        self.config = dict(
            in_channels=int(in_channels),
            embedding_dim=int(embedding_dim),
            channels=[int(c) for c in channels],
            n_full_res=int(n_full_res),
            rho_hidden=int(rho_hidden),
            pooling=str(pooling),
            chunk_size=int(chunk_size),
            radius=None if radius is None else float(radius),
            precision=str(precision),
            front_end=str(front_end),
            convs_per_stage=int(convs_per_stage),
            init=str(init),
        )
        if pooling not in self.POOLINGS:
            raise ValueError(f"pooling must be one of {self.POOLINGS}, got {pooling!r}.")
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(
                f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}."
            )
        self.phi = ImageEncoder(in_channels, tuple(channels), n_full_res, front_end,
                                convs_per_stage, init)
        # Standardising the pooled features across the bags of a batch keeps
        # small between-bag differences (the artifacts) at a usable scale from
        # the first step; without it the embeddings start collapsed and the
        # contrastive gradient vanishes.
        self.pooled_features = self.phi.out_features * (2 if pooling == "mean_std" else 1)
        self.bag_norm = nn.BatchNorm1d(self.pooled_features)
        if int(rho_hidden) < 0:
            raise ValueError(f"rho_hidden must be >= 0, got {rho_hidden!r}.")
        if int(rho_hidden) == 0:  # a linear readout of the pooled features
            self.rho = nn.Sequential(nn.Linear(self.pooled_features, embedding_dim))
        else:
            self.rho = nn.Sequential(
                nn.Linear(self.pooled_features, rho_hidden),
                nn.LeakyReLU(0.2),
                nn.Linear(rho_hidden, rho_hidden),
                nn.LeakyReLU(0.2),
                nn.Linear(rho_hidden, embedding_dim),
            )
        self.pooling = pooling
        self.chunk_size = int(chunk_size)
        self.radius = None if radius is None else float(radius)
        self.precision = str(precision)
        for m in self.rho:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(m.bias)

    def encode_images(self, x):
        """phi over a flat batch of images ``(n, C, H, W)``, chunk by chunk."""
        n = x.shape[0]
        if n <= self.chunk_size:
            return self._phi(x)
        parts = []
        for start in range(0, n, self.chunk_size):
            part = x[start : start + self.chunk_size]
            if torch.is_grad_enabled() and self.training:
                parts.append(checkpoint(self._phi, part, use_reentrant=False))
            else:
                parts.append(self._phi(part))
        return torch.cat(parts, dim=0)

    def _phi(self, x):
        """phi, over cache-sized sub-chunks on CPU (one call elsewhere)."""
        step = max(1, _CPU_SUBCHUNK_PIXELS // max(1, x.shape[2] * x.shape[3]))
        if x.device.type != "cpu" or x.shape[0] <= step:
            return self.phi(x)
        return torch.cat([self.phi(x[i : i + step]) for i in range(0, x.shape[0], step)])

    @property
    def in_channels(self):
        return self.phi.in_channels

    def autocast_dtype(self, device_type):
        """The autocast dtype of phi on a device of this type (None: float32)."""
        if self.precision == "bfloat16":
            return torch.bfloat16
        if (
            self.precision == "auto"
            and device_type == "cuda"
            and torch.cuda.is_bf16_supported()
        ):
            return torch.bfloat16
        return None

    def forward(self, x):
        return self.head(self.pool(x))

    def head(self, pooled):
        """rho (and the projection onto the sphere) of pooled phi features
        ``(n_bags, pooled_features)``, as :meth:`pool` returns them."""
        z = self.rho(self.bag_norm(pooled))
        if self.radius is not None:
            z = self.radius * F.normalize(z, dim=1)
        return z

    def pool(self, x):
        """The pooled phi features of bags ``(n_bags, bag_size, H, W, C)``:
        ``(n_bags, pooled_features)``, before rho (float32)."""
        return self.reduce(self.image_features(x))

    def reduce(self, feats):
        """Pool per-image features ``(n_bags, bag_size, F)`` over each bag."""
        if self.pooling == "sum":
            return feats.sum(dim=1)
        mean = feats.mean(dim=1)
        if self.pooling == "mean":
            return mean
        return _mean_and_std(mean, (feats - mean[:, None]).square().mean(dim=1))

    def pool_sums(self, feats):
        """What pooling needs of per-image features ``(n_bags, n, F)``: the
        count ``n``, the sum over each bag and, for ``"mean_std"``, the sum
        of squares; sums of parts of a bag add up to those of the bag."""
        squares = feats.square().sum(dim=1) if self.pooling == "mean_std" else None
        return feats.shape[1], feats.sum(dim=1), squares

    def pooled_from_sums(self, sums):
        """The pooled features from (possibly added) :meth:`pool_sums`."""
        n, total, squares = sums
        if self.pooling == "sum":
            return total
        mean = total / n
        if self.pooling == "mean":
            return mean
        return _mean_and_std(mean, (squares / n - mean.square()).clamp_min(0.0))

    def image_features(self, x):
        """phi of every image of bags ``(n_bags, bag_size, H, W, C)``:
        ``(n_bags, bag_size, phi.out_features)`` (float32), before pooling."""
        if x.ndim != 5:
            raise ValueError(
                f"DeepSet expects (n_bags, bag_size, H, W, C), got {tuple(x.shape)}."
            )
        n_bags, bag_size = x.shape[:2]
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        else:
            x = x.float()
        x = x.flatten(0, 1).permute(0, 3, 1, 2).sub(0.5)
        x = x.contiguous(memory_format=torch.channels_last)
        dtype = self.autocast_dtype(x.device.type)
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            feats = self.encode_images(x).reshape(n_bags, bag_size, -1)
        return feats.float()


def _mean_and_std(mean, var):
    """``"mean_std"`` pooling: each feature's mean and standard deviation."""
    return torch.cat([mean, (var + 1e-6).sqrt()], dim=1)


class ImageSupervisedSet(nn.Module):
    """A :class:`DeepSet` with a linear head on the features of each image.

    The training-time module of ``SetFingerprintEncoder(image_loss_weight>0)``:
    in training mode ``forward`` returns ``(z, logits)``, the bag embeddings
    and, for every image of every bag, scores over the training sources
    ``(n_bags, bag_size, n_classes)`` from phi's features before pooling; in
    evaluation mode it returns ``z`` alone, as the DeepSet does.  The head
    serves the training loss only: the fitted encoder keeps the DeepSet.

    Parameters
    ----------
    deepset : DeepSet
    n_classes : int
        Number of training sources.
    """

    def __init__(self, deepset, n_classes):
        super().__init__()
        self.deepset = deepset
        self.image_head = nn.Linear(deepset.phi.out_features, int(n_classes))

    def forward(self, x):
        feats = self.deepset.image_features(x)
        z = self.deepset.head(self.deepset.reduce(feats))
        if not self.training:
            return z
        return z, self.image_head(feats)


class ImageSourceClassifier(nn.Module):
    """phi of a :class:`DeepSet` with a head that scores each image's source.

    The training-time module of the first stage of
    ``SetFingerprintEncoder(phi_training="images")``: ``forward`` takes bags
    ``(n_bags, k, H, W, C)`` (usually bags of one image, or the patches of
    one image) and returns scores over the training sources for every image
    ``(n_bags, k, n_classes)``, through a hidden layer of ``hidden`` units
    (ReLU) on phi's features, the layout of the per-image CNN baseline's
    penultimate layer.  The head serves that training only: the fitted
    encoder keeps the DeepSet.  The DeepSet's other weights (the pooling's
    standardisation, rho) do not require gradients while this module holds
    them (:meth:`release` gives the DeepSet back).

    Parameters
    ----------
    deepset : DeepSet
    n_classes : int
        Number of training sources.
    hidden : int, default=128
        Width of the head's hidden layer.
    """

    def __init__(self, deepset, n_classes, hidden=128):
        super().__init__()
        self.deepset = deepset
        self.head = nn.Sequential(
            nn.Linear(deepset.phi.out_features, int(hidden)),
            nn.ReLU(),
            nn.Linear(int(hidden), int(n_classes)),
        )
        # the pooling's standardisation and rho take no part here: their
        # weights need no gradient (data-parallel training refuses parameters
        # that require one and never get it)
        phi = {id(p) for p in deepset.phi.parameters()}
        self._idle = [p for p in deepset.parameters()
                      if p.requires_grad and id(p) not in phi]
        for param in self._idle:
            param.requires_grad_(False)

    def forward(self, x):
        return self.head(self.deepset.image_features(x))

    def release(self):
        """The DeepSet, as trainable as before."""
        for param in self._idle:
            param.requires_grad_(True)
        return self.deepset


class PooledFeatureSet(nn.Module):
    """rho of a :class:`DeepSet` on bags of precomputed per-image features.

    The training-time module of the second stage of
    ``SetFingerprintEncoder(phi_training="images")``, where phi is fixed and
    its features were computed once for every training image.  ``forward``
    takes bags ``(n_bags, k, F)`` of per-image pooling sums (phi's features
    summed over the image's ``items_per_image`` items, the patches in patch
    mode), with the sums of their squares appended (``(n_bags, k, 2F)``)
    for ``pooling="mean_std"``, and returns the bag embeddings that the
    DeepSet gives the same bags of images: the sums of a bag add up
    (:meth:`DeepSet.pooled_from_sums`).  Only the standardisation of the
    pooled features and rho train: phi's weights do not require gradients
    while this module holds them (:meth:`release` gives the DeepSet back).

    Parameters
    ----------
    deepset : DeepSet
    items_per_image : int
        Items (patches) behind each image's sums.
    """

    def __init__(self, deepset, items_per_image=1):
        super().__init__()
        self.deepset = deepset
        self.items_per_image = int(items_per_image)
        # phi is fixed, so the pooled features do not drift: the running
        # statistics of their standardisation are the plain average over
        # every training batch (not a moving average that still remembers
        # its initial variance of 1 after a few dozen steps)
        self._momentum = deepset.bag_norm.momentum
        deepset.bag_norm.reset_running_stats()
        deepset.bag_norm.momentum = None
        # phi takes no part here: its weights need no gradient (data-parallel
        # training refuses parameters that require one and never get it)
        for param in deepset.phi.parameters():
            param.requires_grad_(False)

    def release(self):
        """The DeepSet, as trainable as before, its standardisation's
        momentum as it was."""
        self.deepset.bag_norm.momentum = self._momentum
        for param in self.deepset.phi.parameters():
            param.requires_grad_(True)
        return self.deepset

    def forward(self, x):
        x = x.float()
        n = x.shape[1] * self.items_per_image
        if self.deepset.pooling == "mean_std":
            half = x.shape[2] // 2
            sums = (n, x[..., :half].sum(dim=1), x[..., half:].sum(dim=1))
        else:
            sums = (n, x.sum(dim=1), None)
        return self.deepset.head(self.deepset.pooled_from_sums(sums))
