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
        self.trained = bool(arch.get("train_steps"))
        if self.trained:
            _train(autoencoder, arch, spec["decoder"])
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
        # a trained decoder turns large latent moves into noise: keep them small
        scale = _TRAINED_LATENT_SCALE if self.trained else 1.0
        steps = int(sampler["steps"])
        for i in range(steps):
            if self.latent is not None:
                z = z + scale * (self.latent(z) - z) if self.trained else self.latent(z)
            level = scale * sampler["noise"] * _schedule(sampler["schedule"], i, steps)
            if level:
                z = z + level * torch.randn(z.shape, generator=gen)
        return z

    def forward(self, x, gen):
        """``x``: content in [-1, 1], shape (n, 3, H, W); returns the same shape."""
        spec, arch = self.spec, self.spec["architecture"]
        z = self._sample_latent(_latent(self.encoder, x), gen)
        r = self.decoder(z, spec["noise_injection"], gen)
        if self.trained:  # the image is the decoder's output
            return r
        r = r - r.mean(dim=(2, 3), keepdim=True)
        r = r / (r.std(dim=(1, 2, 3), keepdim=True) + 1e-6)
        factor = 2 ** arch["n_up"]
        low = F.interpolate(F.avg_pool2d(x, factor), scale_factor=factor,
                            mode="bilinear", align_corners=False)
        base = arch["detail"] * x + (1.0 - arch["detail"]) * low
        return base + 2.0 * spec["strength"] * r


def _latent(encoder, x):
    z = encoder(x)
    return z / (z.std(dim=(1, 2, 3), keepdim=True) + 1e-6)


# Training of the trained autoencoders: Adam on the mean squared error of the
# reconstruction of 32 x 32 crops of the photographs, batches of 16.
_TRAIN = {"crops": 512, "size": 32, "batch": 16, "lr": 2e-3}
# the share of the latent generator's move and of the sampler's noise that a
# trained autoencoder's latent gets
_TRAINED_LATENT_SCALE = 0.15
# trained states by (architecture, initial weights, fine-tunes so far), oldest
# first, within a memory budget: a fine-tune starts from its parent's state
# and generators sharing a decoder train it once
_TRAINED_CACHE = {}
_TRAINED_CACHE_BYTES = 128 * 2**20


def _train(autoencoder, arch, decoder):
    """Train ``autoencoder`` (freshly initialised from ``decoder``'s seed),
    then each of its fine-tunes in order, from the longest prefix of them
    already trained."""
    tuning = decoder.get("tuning", [])

    def key(n_tunings):
        return repr((sorted(arch.items()), decoder["seed"], decoder["perturbations"],
                     tuning[:n_tunings]))

    done = len(tuning)
    while done >= 0 and key(done) not in _TRAINED_CACHE:
        done -= 1
    if done >= 0:
        autoencoder.load_state_dict(_TRAINED_CACHE[key(done)])
    else:
        _reconstruct(autoencoder, int(arch["train_steps"]), decoder["seed"], photos=None)
        _remember(key(0), autoencoder)
        done = 0
    for k in range(done, len(tuning)):
        seed, steps = tuning[k]
        subset = np.random.RandomState(int(seed))
        photos = _photo_subset(subset)
        _reconstruct(autoencoder, int(steps), int(subset.randint(2**31 - 1)), photos)
        _remember(key(k + 1), autoencoder)


def _remember(key, module):
    _TRAINED_CACHE[key] = {k: v.detach().clone() for k, v in module.state_dict().items()}
    size = sum(v.nbytes for state in _TRAINED_CACHE.values() for v in state.values())
    while size > _TRAINED_CACHE_BYTES and len(_TRAINED_CACHE) > 1:
        oldest = _TRAINED_CACHE.pop(next(iter(_TRAINED_CACHE)))
        size -= sum(v.nbytes for v in oldest.values())


def _photo_subset(rng):
    """Half the shipped photographs, drawn at random: a fine-tune's data."""
    from .._photos import load_photos

    n = len(load_photos())
    return sorted(int(i) for i in rng.choice(n, size=max(1, n // 2), replace=False))


def _reconstruct(autoencoder, steps, seed, photos):
    """``steps`` of Adam on the reconstruction of crops of ``photos``."""
    from .._photos import random_crops

    encoder, decoder = autoencoder
    crops = random_crops(_TRAIN["crops"], _TRAIN["size"], random_state=int(seed), photos=photos)
    x_all = torch.from_numpy(crops.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0
    gen = torch.Generator().manual_seed(int(seed))
    params = list(autoencoder.parameters())
    opt = torch.optim.Adam(params, lr=_TRAIN["lr"])
    with torch.enable_grad():
        for p in params:
            p.requires_grad_(True)
        for _ in range(steps):
            x = x_all[torch.randint(0, len(x_all), (_TRAIN["batch"],), generator=gen)]
            loss = F.mse_loss(decoder(_latent(encoder, x)), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for p in params:
            p.requires_grad_(False)


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
