"""Building blocks shared by the zoo's generative models.

Images travel between numpy and torch in two conventions: the zoo hands every
model ``uint8`` arrays of shape ``(n, H, W, 3)`` and receives ``uint8`` arrays
of the same layout back; inside, models work on ``float32`` tensors of shape
``(n, 3, H, W)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def to_signed_tensor(images):
    """uint8 ``(n, H, W, 3)`` -> float32 tensor ``(n, 3, H, W)`` in [-1, 1]."""
    x = torch.from_numpy(np.require(images, requirements=["C", "W"])).permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1.0).contiguous()


def from_signed_tensor(x):
    """Float tensor ``(n, 3, H, W)`` in [-1, 1] -> uint8 ``(n, H, W, 3)``.

    Values outside [-1, 1] are clipped, as any image writer would; values that
    are not finite mean the model diverged, which is an error, not something
    to paint over.
    """
    x = x.detach()
    if not torch.isfinite(x).all():
        raise FloatingPointError(
            "a generative model produced non-finite samples; its training "
            "diverged (lower the learning rate or the number of steps)."
        )
    x = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round_()
    return x.permute(0, 2, 3, 1).to(torch.uint8).numpy()


def log2_size(image_size, *, min_size=8):
    """Number of stride-2 stages between 4x4 and ``image_size``."""
    k = int(math.log2(image_size))
    if 2**k != image_size or image_size < min_size:
        raise ValueError(
            f"image_size must be a power of two >= {min_size}, got {image_size}."
        )
    return k - 2


def upsample_block(c_in, c_out, mode):
    """Double the spatial size: ``"tconv"`` (transposed convolution, kernel 4,
    stride 2) or ``"resize"`` (nearest-neighbour resize followed by a 3x3
    convolution)."""
    if mode == "tconv":
        return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
    if mode == "resize":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, padding=1),
        )
    raise ValueError(f"upsample must be 'tconv' or 'resize', got {mode!r}.")


class ConvDecoder(nn.Module):
    """Latent vector -> image: a linear map to 4x4 feature maps, then stride-2
    upsampling blocks (BatchNorm + ReLU) and a final 3x3 convolution to RGB.

    Used as the VAE decoder and the GAN generator (DCGAN layout).
    """

    def __init__(self, image_size, z_dim, width, upsample, out_tanh):
        super().__init__()
        n_up = log2_size(image_size)
        chans = [width * 2 ** min(n_up - 1 - i, 3) for i in range(n_up)]
        c0 = width * 2 ** min(n_up, 3)
        self.c0 = c0
        self.fc = nn.Linear(z_dim, c0 * 16)
        self.bn0 = nn.BatchNorm2d(c0)
        blocks = []
        c = c0
        for c_out in chans:
            blocks += [upsample_block(c, c_out, upsample), nn.BatchNorm2d(c_out), nn.ReLU()]
            c = c_out
        blocks.append(nn.Conv2d(c, 3, 3, padding=1))
        if out_tanh:
            blocks.append(nn.Tanh())
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        h = self.fc(z).view(z.shape[0], self.c0, 4, 4)
        return self.blocks(torch.relu(self.bn0(h)))


class ConvEncoder(nn.Module):
    """Image -> vector: stride-2 4x4 convolutions with LeakyReLU down to 4x4,
    then a linear layer.  The VAE encoder and the GAN discriminator.

    ``spectral_norm=True`` wraps every layer in spectral normalisation (SNGAN);
    ``batch_norm=True`` adds BatchNorm after every convolution but the first
    (the DCGAN discriminator).
    """

    def __init__(self, image_size, out_dim, width, *, spectral_norm=False, batch_norm=False):
        super().__init__()
        n_down = log2_size(image_size)
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers = []
        c = 3
        for i in range(n_down):
            c_out = width * 2 ** min(i, 3)
            layers.append(wrap(nn.Conv2d(c, c_out, 4, stride=2, padding=1)))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c = c_out
        layers.append(nn.Flatten())
        layers.append(wrap(nn.Linear(c * 16, out_dim)))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def random_batch(data, batch_size):
    """A batch drawn with replacement, using torch's (forked, seeded) RNG."""
    idx = torch.randint(data.shape[0], (batch_size,))
    return data[idx]


def n_parameters(module):
    return int(sum(p.numel() for p in module.parameters()))


def tail_mean(values, fraction=0.1):
    """Mean of the last ``fraction`` of a loss curve (the reported final loss)."""
    if not values:
        return float("nan")
    k = max(1, int(len(values) * fraction))
    return float(np.mean(values[-k:]))


class Progress:
    """Where a training loop reports its steps: a tqdm bar, or nowhere (in a
    worker process: the build's one bar counts finished models there)."""

    def __init__(self, bar=None):
        self.bar = bar

    def step(self, n=1, **postfix):
        if self.bar is not None:
            self.bar.update(n)


def sample_in_batches(fn, n, batch_size, progress):
    """Call ``fn(k)`` (returning a uint8 array of k images) until n are made."""
    out = []
    done = 0
    while done < n:
        k = min(batch_size, n - done)
        out.append(fn(k))
        done += k
        progress.step(1, phase="sample")
    return np.concatenate(out, axis=0)


def sample_batches(n, batch_size):
    return -(-n // batch_size)
