"""Score-based models: a DDPM sampled with DDIM, and an NCSN sampled with
annealed Langevin dynamics.

Both use the same small U-Net (residual blocks with GroupNorm and SiLU, two
stride-2 stages, skip connections, a sinusoidal embedding of the noise level
added in every block).

* :class:`DDPM` (Ho et al., 2020): linear beta schedule over 1000 steps,
  trained to predict the added noise; sampled with the deterministic DDIM
  sampler (Song et al., 2021, ``eta=0``) on a strided subset of the steps.
* :class:`NCSN` (Song & Ermon, 2019; the output scaled by ``1/sigma`` as in
  Song & Ermon, 2020): geometric noise levels, denoising score matching;
  sampled with annealed Langevin dynamics followed by one denoising step
  (Jolicoeur-Martineau et al., 2021).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import (
    from_signed_tensor,
    random_batch,
    sample_in_batches,
    tail_mean,
    to_signed_tensor,
)


def _sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float().view(-1, 1) * freqs.view(1, -1)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def _groups(c):
    return 8 if c % 8 == 0 else 1


class ResBlock(nn.Module):
    def __init__(self, c_in, c_out, emb_dim):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """A two-stage U-Net conditioned on a scalar noise level.

    Parameters
    ----------
    width : int
        Channels at full resolution (doubled after each downsampling).
    """

    def __init__(self, width=32):
        super().__init__()
        w = width
        self.emb_dim = e = 4 * w
        self.emb = nn.Sequential(nn.Linear(w, e), nn.SiLU(), nn.Linear(e, e))
        self.width = w
        self.conv_in = nn.Conv2d(3, w, 3, padding=1)
        self.down1 = ResBlock(w, w, e)
        self.pool1 = nn.Conv2d(w, w, 3, stride=2, padding=1)
        self.down2 = ResBlock(w, 2 * w, e)
        self.pool2 = nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1)
        self.mid = ResBlock(2 * w, 2 * w, e)
        self.up2 = ResBlock(4 * w, 2 * w, e)
        self.up1 = ResBlock(3 * w, w, e)
        self.norm_out = nn.GroupNorm(_groups(w), w)
        self.conv_out = nn.Conv2d(w, 3, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t):
        emb = self.emb(_sinusoidal(t, self.width))
        h0 = self.conv_in(x)
        h1 = self.down1(h0, emb)
        h2 = self.down2(self.pool1(h1), emb)
        h = self.mid(self.pool2(h2), emb)
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up2(torch.cat([h, h2], 1), emb)
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up1(torch.cat([h, h1], 1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))


class DDPM(nn.Module):
    """Denoising diffusion model predicting the noise ``eps``.

    Parameters
    ----------
    width : int
        U-Net width.
    n_timesteps : int
        Diffusion steps of the forward process.
    beta_start, beta_end : float
        Linear beta schedule.
    """

    def __init__(self, *, width=32, n_timesteps=1000, beta_start=1e-4, beta_end=0.02):
        super().__init__()
        self.net = UNet(width)
        self.n_timesteps = n_timesteps
        betas = torch.linspace(beta_start, beta_end, n_timesteps, dtype=torch.float64)
        self.register_buffer("alpha_bar", torch.cumprod(1 - betas, 0).float())

    def loss(self, x0):
        t = torch.randint(self.n_timesteps, (x0.shape[0],))
        eps = torch.randn_like(x0)
        ab = self.alpha_bar[t].view(-1, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        return F.mse_loss(self.net(xt, t), eps)

    @torch.no_grad()
    def sample_ddim(self, n, image_size, n_steps=50):
        """Deterministic DDIM (eta = 0) over ``n_steps`` evenly spaced steps."""
        ts = torch.linspace(self.n_timesteps - 1, 0, n_steps).round().long()
        x = torch.randn(n, 3, image_size, image_size)
        for i, t in enumerate(ts):
            ab = self.alpha_bar[t]
            ab_prev = self.alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
            eps = self.net(x, t.expand(n))
            x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        return x


class NCSN(nn.Module):
    """Noise-conditional score network ``s(x, sigma) = net(x, sigma) / sigma``.

    Parameters
    ----------
    width : int
        U-Net width.
    n_sigmas : int
        Number of noise levels, geometric from ``sigma_max`` to ``sigma_min``.
    sigma_max, sigma_min : float
        Noise levels for images scaled to [0, 1] (NCSN's convention).
    """

    def __init__(self, *, width=32, n_sigmas=10, sigma_max=1.0, sigma_min=0.01):
        super().__init__()
        self.net = UNet(width)
        sig = torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n_sigmas))
        self.register_buffer("sigmas", sig)

    def score(self, x, idx):
        # The network is conditioned on log(sigma) through the same sinusoidal
        # embedding as the DDPM's timestep (scaled to a similar range).
        sig = self.sigmas[idx]
        return self.net(x, torch.log(sig) * -100.0) / sig.view(-1, 1, 1, 1)

    def loss(self, x01):
        idx = torch.randint(len(self.sigmas), (x01.shape[0],))
        sig = self.sigmas[idx].view(-1, 1, 1, 1)
        z = torch.randn_like(x01)
        # sigma^2-weighted denoising score matching: || sigma * s + z ||^2 / 2
        s = self.score(x01 + sig * z, idx)
        return 0.5 * (sig * s + z).pow(2).flatten(1).sum(1).mean()

    @torch.no_grad()
    def sample_langevin(self, n, image_size, n_steps_each=4, step_lr=5e-5):
        """Annealed Langevin dynamics from uniform noise, then denoising."""
        x = torch.rand(n, 3, image_size, image_size)
        sig_min = self.sigmas[-1]
        for i in range(len(self.sigmas)):
            idx = torch.full((n,), i, dtype=torch.long)
            alpha = step_lr * (self.sigmas[i] / sig_min) ** 2
            for _ in range(n_steps_each):
                x = x + alpha * self.score(x, idx) + torch.sqrt(2 * alpha) * torch.randn_like(x)
        idx = torch.full((n,), len(self.sigmas) - 1, dtype=torch.long)
        return x + sig_min**2 * self.score(x, idx)


def train_score(model, images, *, n_steps, batch_size=64, lr=2e-3, ema=0.999,
                progress):
    """Train a :class:`DDPM` or :class:`NCSN` with Adam; keep an exponential
    moving average (EMA) of the weights, which is what is sampled."""
    data = to_signed_tensor(images)
    if isinstance(model, NCSN):
        data = (data + 1.0) / 2.0  # NCSN works on [0, 1]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ema_params = [p.detach().clone() for p in model.parameters()]
    model.train()
    losses = []
    for step in range(n_steps):
        loss = model.loss(random_batch(data, batch_size))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema_params, model.parameters()):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        losses.append(loss.item())
        progress.step(1, loss=f"{losses[-1]:.4g}")
    with torch.no_grad():
        for e, p in zip(ema_params, model.parameters()):
            p.copy_(e)
    return {"losses": losses, "final_loss": tail_mean(losses),
            "loss_name": "noise-prediction MSE" if isinstance(model, DDPM)
            else "denoising score matching (sigma^2-weighted)"}


def sample_score(model, n, image_size, *, n_sampling_steps, batch_size=256,
                 step_lr=5e-5, progress):
    """DDIM samples of a :class:`DDPM` or annealed-Langevin samples of an
    :class:`NCSN` (``n_sampling_steps`` is the number of DDIM steps, or of
    Langevin steps per noise level) as uint8 ``(n, H, W, 3)``.

    NCSN used 100 Langevin steps per level with ``step_lr=2e-5`` and
    ``sigma_min=0.01``; with a few steps per level the step must be larger so
    that each level's chain reaches its noise level: ``step_lr /
    sigma_min**2`` is the contraction per step (0.5 is a good value)."""
    model.eval()

    def draw(k):
        if isinstance(model, DDPM):
            x = model.sample_ddim(k, image_size, n_steps=n_sampling_steps)
        else:
            x = model.sample_langevin(k, image_size, n_steps_each=n_sampling_steps,
                                      step_lr=step_lr) * 2.0 - 1.0
        return from_signed_tensor(x)

    return sample_in_batches(draw, n, batch_size, progress)
