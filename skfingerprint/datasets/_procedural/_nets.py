"""The torch modules of a procedural generator, built from its spec.

Weights are drawn from private ``torch.Generator`` objects seeded by the
spec (the modules are created on the ``meta`` device first, so that torch's
default initialisation never touches the global random state), then moved
by the fine-tuning perturbations that the spec lists, in order.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# padding and output padding that make a stride-2 transposed convolution
# exactly double the size, per kernel size
_TCONV_PADDING = {2: (0, 0), 3: (1, 1), 4: (1, 0), 5: (2, 1)}


def _activation(name):
    return {
        "relu": nn.ReLU(),
        "leaky_relu": nn.LeakyReLU(0.2),
        "gelu": nn.GELU(),
        "silu": nn.SiLU(),
        "tanh": nn.Tanh(),
        "elu": nn.ELU(),
    }[name]


def _norm(name, channels):
    if name == "instance":
        return nn.GroupNorm(channels, channels, affine=False)
    if name == "group":
        return nn.GroupNorm(4, channels, affine=False)
    return nn.Identity()


def _upsample_stage(arch, c_in, c_out):
    k, kind = arch["kernel"], arch["kind"]
    if kind == "tconv":
        pad, out_pad = _TCONV_PADDING[k]
        return [nn.ConvTranspose2d(c_in, c_out, k, stride=2, padding=pad,
                                   output_padding=out_pad)]
    if kind == "resize_conv":
        return [nn.Upsample(scale_factor=2, mode=arch["upsample_mode"]),
                nn.Conv2d(c_in, c_out, k, padding=k // 2)]
    return [nn.Conv2d(c_in, 4 * c_out, k, padding=k // 2), nn.PixelShuffle(2)]


class Decoder(nn.Module):
    """Upsampling stages (each: upsampling layer, normalisation, activation),
    with optional noise injection after each, then an output layer."""

    def __init__(self, arch):
        super().__init__()
        stages, c_in = [], arch["latent_channels"]
        for width in arch["widths"]:
            stages.append(nn.Sequential(*_upsample_stage(arch, c_in, width),
                                        _norm(arch["norm"], width),
                                        _activation(arch["activation"])))
            c_in = width
        self.stages = nn.ModuleList(stages)
        k = 1 if arch["output"] == "conv1x1" else 3
        self.out = nn.Conv2d(c_in, 3, k, padding=k // 2)
        self.tanh = arch["output"] == "conv3x3_tanh"

    def forward(self, z, noise=0.0, generator=None):
        h = z
        for stage in self.stages:
            h = stage(h)
            if noise:
                scale = noise * h.std(dim=(1, 2, 3), keepdim=True)
                h = h + scale * torch.randn(h.shape, generator=generator)
        h = self.out(h)
        return torch.tanh(h) if self.tanh else h


class Encoder(nn.Module):
    """Content to latent: a convolution, an activation, average pooling down
    to the latent size, and a 1x1 projection to the latent channels."""

    def __init__(self, arch):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)
        self.pool = nn.AvgPool2d(2 ** arch["n_up"])
        self.proj = nn.Conv2d(16, arch["latent_channels"], 1)

    def forward(self, x):
        return self.proj(self.pool(self.act(self.conv(x))))


class LatentGenerator(nn.Module):
    """A residual network on the latent: ``z + gain * f(z)``."""

    def __init__(self, channels, width, gain):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.SiLU(),
                               nn.Conv2d(width, channels, 3, padding=1))
        self.gain = float(gain)

    def forward(self, z):
        return z + self.gain * self.f(z)


def _fan_in(module):
    k = module.weight[0, 0].numel()
    if isinstance(module, nn.ConvTranspose2d):  # each output sees 1/stride^2 of the taps
        return module.in_channels * k / (module.stride[0] * module.stride[1])
    return module.in_channels * k


def _initialise(module, seed, bias_scale=1.0):
    """He-normal weights and uniform biases from a private generator."""
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan = max(_fan_in(m), 1.0)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen)
                               * math.sqrt(2.0 / fan))
                bound = bias_scale / math.sqrt(fan)
                m.bias.copy_((torch.rand(m.bias.shape, generator=gen) * 2 - 1) * bound)


def _perturb(module, perturbations):
    """Fine-tuning: each tensor moved by ``scale`` times its own standard
    deviation times Gaussian noise, one seeded draw per perturbation."""
    with torch.no_grad():
        for seed, scale in perturbations:
            gen = torch.Generator().manual_seed(int(seed))
            for p in module.parameters():
                p.add_(float(scale) * p.std() * torch.randn(p.shape, generator=gen))


def _on_meta(factory):
    with torch.device("meta"):
        module = factory()
    return module.to_empty(device="cpu")


class ProceduralGenerator(nn.Module):
    """Encoder, optional latent generator and sampler, decoder, and the mix of
    the decoder's residual into the content."""

    def __init__(self, spec):
        super().__init__()
        arch = spec["architecture"]
        self.spec = spec
        self.encoder = _on_meta(lambda: Encoder(arch))
        self.decoder = _on_meta(lambda: Decoder(arch))
        autoencoder = nn.ModuleList([self.encoder, self.decoder])
        _initialise(autoencoder, spec["decoder"]["seed"], arch["bias_scale"])
        _perturb(autoencoder, spec["decoder"]["perturbations"])
        self.latent = None
        if spec["latent"] is not None:
            lat = spec["latent"]
            self.latent = _on_meta(
                lambda: LatentGenerator(arch["latent_channels"], lat["width"], lat["gain"]))
            _initialise(self.latent, lat["seed"])
            _perturb(self.latent, lat["perturbations"])
        self.eval()

    def _sample_latent(self, z, gen):
        sampler = self.spec["sampler"]
        if sampler is None:
            return z
        steps = int(sampler["steps"])
        for i in range(steps):
            if self.latent is not None:
                z = self.latent(z)
            level = sampler["noise"] * _schedule(sampler["schedule"], i, steps)
            if level:
                z = z + level * torch.randn(z.shape, generator=gen)
        return z

    def forward(self, x, gen):
        """``x``: content in [-1, 1], shape (n, 3, H, W); returns the same shape."""
        spec, arch = self.spec, self.spec["architecture"]
        z = self.encoder(x)
        z = z / (z.std(dim=(1, 2, 3), keepdim=True) + 1e-6)
        z = self._sample_latent(z, gen)
        r = self.decoder(z, spec["noise_injection"], gen)
        r = r - r.mean(dim=(2, 3), keepdim=True)
        r = r / (r.std(dim=(1, 2, 3), keepdim=True) + 1e-6)
        factor = 2 ** arch["n_up"]
        low = F.interpolate(F.avg_pool2d(x, factor), scale_factor=factor,
                            mode="bilinear", align_corners=False)
        base = arch["detail"] * x + (1.0 - arch["detail"]) * low
        return base + 2.0 * spec["strength"] * r


def _schedule(name, i, steps):
    """Noise level of step ``i`` of ``steps``, from 1 down (except constant)."""
    if name == "constant" or steps == 1:
        return 1.0
    t = i / (steps - 1)
    if name == "linear":
        return 1.0 - t
    return 0.5 * (1.0 + math.cos(math.pi * t))


def render(spec, content, seed, batch_size=256):
    """Images of the generator of ``spec`` on uint8 ``content`` (n, H, W, 3),
    before post-processing; ``seed`` seeds the sampling noise."""
    net = ProceduralGenerator(spec)
    gen = torch.Generator().manual_seed(int(seed))
    out = np.empty(content.shape, dtype=np.uint8)
    with torch.inference_mode():
        for start in range(0, len(content), batch_size):
            chunk = content[start:start + batch_size].astype(np.float32)  # a copy
            x = torch.from_numpy(chunk).permute(0, 3, 1, 2) / 127.5 - 1.0
            y = net(x, gen)
            y = ((y + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
            out[start:start + batch_size] = y.permute(0, 2, 3, 1).numpy()
    return out
