"""Normalizing flows: a RealNVP-style and a Glow-style model.

Both are trained by maximum likelihood on uniformly dequantized images
(reported in bits per dimension) and sampled exactly by inverting the flow on
Gaussian noise.

* :class:`RealNVP` (Dinh et al., 2017): a logit pre-transform, affine
  couplings with checkerboard masks, a squeeze, couplings with channel masks,
  half of the variables factored out, then checkerboard couplings on the rest.
  Scales are ``tanh``-bounded; sampled at temperature 1.
* :class:`Glow` (Kingma & Dhariwal, 2018): two levels of
  [squeeze, K x (actnorm, invertible 1x1 convolution, affine coupling), split];
  the split-off variables have a learned conditional Gaussian prior; scales
  are ``sigmoid``-bounded; sampled at a reduced temperature (0.7 by default),
  as in the Glow paper.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ._common import (
    Progress,
    random_batch,
    sample_in_batches,
    tail_mean,
)

_LOG2PI = math.log(2 * math.pi)


def squeeze(x):
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x):
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, 2 * h, 2 * w)


def _gauss_logp(z, mean=None, logs=None):
    if mean is None:
        return -0.5 * (z.pow(2) + _LOG2PI).flatten(1).sum(1)
    return (-0.5 * (((z - mean) * torch.exp(-logs)).pow(2) + 2 * logs + _LOG2PI)).flatten(1).sum(1)


def _coupling_net(c_in, c_out, hidden):
    last = nn.Conv2d(hidden, c_out, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(
        nn.Conv2d(c_in, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
        last,
    )


class AffineCoupling(nn.Module):
    """Affine coupling layer.

    ``mask`` is ``"checkerboard"`` (spatial alternation) or ``"channel"``
    (halves of the channels); ``parity`` selects which half is transformed.
    ``scale`` is ``"tanh"`` (RealNVP: ``log s = a * tanh(.)``) or
    ``"sigmoid"`` (Glow: ``s = sigmoid(. + 2)``).
    """

    def __init__(self, channels, hidden, *, mask, parity, scale):
        super().__init__()
        self.mask, self.parity, self.scale = mask, parity, scale
        if mask == "checkerboard":
            self.net = _coupling_net(channels + 1, 2 * channels, hidden)
        else:
            half = channels // 2
            self.net = _coupling_net(channels - half if parity else half,
                                     2 * (half if parity else channels - half), hidden)
            self.half = half
        if scale == "tanh":
            self.log_scale_bound = nn.Parameter(torch.ones(1, channels, 1, 1))

    def _log_s_t(self, h, n_out):
        raw_s, t = h[:, :n_out], h[:, n_out:]
        if self.scale == "tanh":
            bound = self.log_scale_bound
            if self.mask == "channel":
                bound = bound[:, :n_out]
            return bound * torch.tanh(raw_s), t
        return torch.nn.functional.logsigmoid(raw_s + 2.0), t

    def _checker(self, x):
        h, w = x.shape[2:]
        ii = torch.arange(h).view(-1, 1)
        jj = torch.arange(w).view(1, -1)
        m = ((ii + jj) % 2 == self.parity).to(x.dtype).view(1, 1, h, w)
        return m

    def _split(self, x):
        a, b = x[:, : self.half], x[:, self.half:]
        return (b, a) if self.parity else (a, b)

    def _join(self, cond, changed):
        return torch.cat([changed, cond], 1) if self.parity else torch.cat([cond, changed], 1)

    def forward(self, x):
        if self.mask == "checkerboard":
            m = self._checker(x)
            xm = x * m
            log_s, t = self._log_s_t(self.net(torch.cat([xm, m.expand(x.shape[0], 1, *x.shape[2:])], 1)), x.shape[1])
            log_s, t = log_s * (1 - m), t * (1 - m)
            y = self._affine(x, log_s, t) * (1 - m) + xm
            return y, log_s.flatten(1).sum(1)
        cond, changed = self._split(x)
        log_s, t = self._log_s_t(self.net(cond), changed.shape[1])
        return self._join(cond, self._affine(changed, log_s, t)), log_s.flatten(1).sum(1)

    def reverse(self, y):
        if self.mask == "checkerboard":
            m = self._checker(y)
            ym = y * m
            log_s, t = self._log_s_t(self.net(torch.cat([ym, m.expand(y.shape[0], 1, *y.shape[2:])], 1)), y.shape[1])
            return self._unaffine(y, log_s, t) * (1 - m) + ym
        cond, changed = self._split(y)
        log_s, t = self._log_s_t(self.net(cond), changed.shape[1])
        return self._join(cond, self._unaffine(changed, log_s, t))

    def _affine(self, x, log_s, t):
        if self.scale == "tanh":  # RealNVP: y = x * s + t
            return x * torch.exp(log_s) + t
        return (x + t) * torch.exp(log_s)  # Glow: y = (x + t) * s

    def _unaffine(self, y, log_s, t):
        if self.scale == "tanh":
            return (y - t) * torch.exp(-log_s)
        return y * torch.exp(-log_s) - t


class ActNorm(nn.Module):
    """Per-channel affine normalisation with data-dependent initialisation."""

    def __init__(self, channels):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x):
        if not bool(self.initialized):
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = x.std(dim=(0, 2, 3), keepdim=True)
                self.loc.copy_(-mean)
                self.logs.copy_(-torch.log(std + 1e-6))
                self.initialized.fill_(True)
        y = (x + self.loc) * torch.exp(self.logs)
        return y, (x.shape[2] * x.shape[3]) * self.logs.sum().expand(x.shape[0])

    def reverse(self, y):
        return y * torch.exp(-self.logs) - self.loc


class InvConv1x1(nn.Module):
    """Invertible 1x1 convolution initialised with a random rotation."""

    def __init__(self, channels):
        super().__init__()
        w, _ = torch.linalg.qr(torch.randn(channels, channels))
        self.weight = nn.Parameter(w)

    def forward(self, x):
        c = x.shape[1]
        y = nn.functional.conv2d(x, self.weight.view(c, c, 1, 1))
        logdet = (x.shape[2] * x.shape[3]) * torch.linalg.slogdet(self.weight)[1]
        return y, logdet.expand(x.shape[0])

    def reverse(self, y):
        c = y.shape[1]
        return nn.functional.conv2d(y, torch.linalg.inv(self.weight).view(c, c, 1, 1))


class _FlowBase(nn.Module):
    """Dequantization, pre-transform and the likelihood loss."""

    def dequantize(self, images_uint8):
        x = images_uint8.permute(0, 3, 1, 2).float()
        return (x + torch.rand_like(x)) / 256.0

    def nll_bits_per_dim(self, x01):
        z_logp, logdet = self.log_prob_parts(x01)
        d = x01[0].numel()
        return (-(z_logp + logdet) / (d * math.log(2.0)) + 8.0).mean()


class RealNVP(_FlowBase):
    """RealNVP-style flow for ``(3, S, S)`` images (S a power of two >= 8).

    Parameters
    ----------
    image_size : int
    hidden : int
        Channels of the coupling networks.
    n_checker : int
        Checkerboard couplings at each of the two scales.
    n_channel : int
        Channel-mask couplings after the squeeze.
    alpha : float
        Logit pre-transform margin.
    """

    def __init__(self, image_size, *, hidden=32, n_checker=3, n_channel=3, alpha=0.05):
        super().__init__()
        self.image_size, self.alpha = image_size, alpha
        self.scale1 = nn.ModuleList(
            AffineCoupling(3, hidden, mask="checkerboard", parity=i % 2, scale="tanh")
            for i in range(n_checker))
        self.scale1_channel = nn.ModuleList(
            AffineCoupling(12, hidden, mask="channel", parity=i % 2, scale="tanh")
            for i in range(n_channel))
        self.scale2 = nn.ModuleList(
            AffineCoupling(6, hidden, mask="checkerboard", parity=i % 2, scale="tanh")
            for i in range(n_checker + 1))

    def _pre(self, x01):
        p = self.alpha + (1 - 2 * self.alpha) * x01
        y = torch.log(p) - torch.log1p(-p)
        logdet = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)).flatten(1).sum(1)
        return y, logdet

    def encode(self, x01):
        """``x`` in (0, 1) -> latents ``[z1, z2]`` and ``log|det dz/dx|``."""
        h, logdet = self._pre(x01)
        for layer in self.scale1:
            h, ld = layer(h)
            logdet = logdet + ld
        h = squeeze(h)
        for layer in self.scale1_channel:
            h, ld = layer(h)
            logdet = logdet + ld
        z1, h = h[:, :6], h[:, 6:]
        for layer in self.scale2:
            h, ld = layer(h)
            logdet = logdet + ld
        return [z1, h], logdet

    def decode(self, z1, z2):
        """Inverse of :meth:`encode`."""
        h = z2
        for layer in reversed(self.scale2):
            h = layer.reverse(h)
        h = torch.cat([z1, h], 1)
        for layer in reversed(self.scale1_channel):
            h = layer.reverse(h)
        h = unsqueeze(h)
        for layer in reversed(self.scale1):
            h = layer.reverse(h)
        return (torch.sigmoid(h) - self.alpha) / (1 - 2 * self.alpha)

    def log_prob_parts(self, x01):
        (z1, z2), logdet = self.encode(x01)
        return _gauss_logp(z1) + _gauss_logp(z2), logdet

    @torch.no_grad()
    def sample(self, n, temperature=1.0):
        s = self.image_size // 2
        z1 = temperature * torch.randn(n, 6, s, s)
        z2 = temperature * torch.randn(n, 6, s, s)
        return self.decode(z1, z2)


class Glow(_FlowBase):
    """Glow-style multi-scale flow with two levels.

    Parameters
    ----------
    image_size : int
    hidden : int
        Channels of the coupling networks.
    n_steps_per_level : int
        Flow steps (actnorm, 1x1 convolution, affine coupling) per level.
    """

    def __init__(self, image_size, *, hidden=32, n_steps_per_level=4):
        super().__init__()
        self.image_size = image_size

        def level(c):
            mods = nn.ModuleList()
            for _ in range(n_steps_per_level):
                mods.append(ActNorm(c))
                mods.append(InvConv1x1(c))
                mods.append(AffineCoupling(c, hidden, mask="channel", parity=0, scale="sigmoid"))
            return mods

        self.level1 = level(12)
        self.level2 = level(24)
        self.prior1 = nn.Conv2d(6, 12, 3, padding=1)  # split prior: mean, log-std
        nn.init.zeros_(self.prior1.weight)
        nn.init.zeros_(self.prior1.bias)

    def _encode(self, x01):
        h = squeeze(x01 - 0.5)
        logdet = h.new_zeros(h.shape[0])
        for layer in self.level1:
            h, ld = layer(h)
            logdet = logdet + ld
        z1, h_split = h[:, :6], h[:, 6:]
        h = squeeze(h_split)
        for layer in self.level2:
            h, ld = layer(h)
            logdet = logdet + ld
        return z1, h_split, h, logdet

    def encode(self, x01):
        """``x`` in (0, 1) -> latents ``[z1, z2]`` and ``log|det dz/dx|``."""
        z1, _, z2, logdet = self._encode(x01)
        return [z1, z2], logdet

    def _prior1(self, z2):
        """Invert level 2; return its output and the split prior's parameters."""
        h = z2
        for layer in reversed(self.level2):
            h = layer.reverse(h)
        h = unsqueeze(h)
        mean, logs = self.prior1(h).chunk(2, 1)
        return h, mean, logs

    def _decode1(self, z1, h):
        h = torch.cat([z1, h], 1)
        for layer in reversed(self.level1):
            h = layer.reverse(h)
        return unsqueeze(h) + 0.5

    def decode(self, z1, z2):
        """Inverse of :meth:`encode`."""
        h, _, _ = self._prior1(z2)
        return self._decode1(z1, h)

    def log_prob_parts(self, x01):
        z1, h_split, z2, logdet = self._encode(x01)
        mean, logs = self.prior1(h_split).chunk(2, 1)
        return _gauss_logp(z1, mean, logs) + _gauss_logp(z2), logdet

    @torch.no_grad()
    def sample(self, n, temperature=0.7):
        s = self.image_size // 4
        z2 = temperature * torch.randn(n, 24, s, s)
        h, mean, logs = self._prior1(z2)
        z1 = mean + temperature * torch.exp(logs) * torch.randn_like(mean)
        return self._decode1(z1, h)


def train_flow(model, images, *, n_steps, batch_size=64, lr=1e-3, warmup=0.1,
               max_grad_norm=50.0, progress):
    """Maximum likelihood with Adam, a linear learning-rate warm-up and
    gradient clipping; returns the curve in bits per dimension."""
    data = torch.from_numpy(np.require(images, requirements=["C", "W"]))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_warm = max(1, int(warmup * n_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / n_warm))
    model.train()
    losses = []
    with torch.no_grad():  # data-dependent initialisation of ActNorm layers
        model.nll_bits_per_dim(model.dequantize(random_batch(data, max(batch_size, 256))))
    for step in range(n_steps):
        x = model.dequantize(random_batch(data, batch_size))
        loss = model.nll_bits_per_dim(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        opt.step()
        sched.step()
        losses.append(loss.item())
        progress.step(1, bpd=f"{losses[-1]:.3f}")
    return {"losses": losses, "final_loss": tail_mean(losses), "loss_name": "negative log-likelihood (bits/dim)"}


def sample_flow(model, n, *, temperature, batch_size=256, progress=None):
    """Exact samples ``f^{-1}(T * eps)`` as uint8 ``(n, H, W, 3)``."""
    from ._common import from_signed_tensor

    progress = progress or Progress()
    model.eval()

    def draw(k):
        x01 = model.sample(k, temperature=temperature)
        return from_signed_tensor(x01 * 2.0 - 1.0)

    return sample_in_batches(draw, n, batch_size, progress)
