"""Diffusion models of the zoo, built from :mod:`diffusers` configurations.

Nothing is downloaded: every network and scheduler is constructed from a
configuration written here (never ``from_pretrained``).  This module imports
``diffusers`` and is imported only while a zoo is being built, so that
``import skfingerprint`` does not import it.

* :func:`make_unet`: a small ``UNet2DModel`` (two resolutions, residual
  blocks, no attention: fully convolutional, so it can be sampled at other
  sizes than it was trained on).
* :func:`train_noise_prediction`: DDPM training (Ho et al., 2020) of a U-Net
  on pixels or latents, with the noise schedule of a ``DDPMScheduler`` and
  an EMA of the weights (``diffusers.training_utils.EMAModel``).
* :func:`sample_with_scheduler`: the sampling loop shared by every
  diffusers scheduler (``DDIMScheduler``, ``DDPMScheduler``,
  ``DPMSolverMultistepScheduler``, ``EulerDiscreteScheduler``,
  ``EulerAncestralDiscreteScheduler``, ...), built by :func:`make_scheduler`
  from the training scheduler's configuration.
* :func:`make_autoencoder` / :func:`train_autoencoder`: a small
  ``AutoencoderKL`` (the latent-diffusion autoencoder, 4x downsampling,
  4 latent channels) trained with a reconstruction loss and a small KL term.
* :class:`NCSN` and :func:`sample_langevin`: the noise-conditional score
  network (Song & Ermon, 2019) on the same ``UNet2DModel``; diffusers has no
  annealed Langevin sampler, so that loop (and its geometric noise levels)
  stays here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    UNet2DModel,
)
from diffusers.training_utils import EMAModel
from torch import nn

from ._common import random_batch, tail_mean

#: Sampler name -> diffusers scheduler class and extra configuration.  No
#: scheduler clips by itself: pixel-space sampling clips every sampler's
#: denoised estimate the same way (``sample_with_scheduler(clip_denoised=True)``),
#: latent sampling clips nothing (as Stable Diffusion's pipelines).
SCHEDULERS = {
    "ddim": (DDIMScheduler, {"clip_sample": False}),
    "ddpm": (DDPMScheduler, {"clip_sample": False}),
    "dpm_solver": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++",
                                                 "solver_order": 2}),
    "euler": (EulerDiscreteScheduler, {}),
    "euler_ancestral": (EulerAncestralDiscreteScheduler, {}),
}

#: The forward process of every diffusion model of the zoo.
TRAIN_SCHEDULE = {"num_train_timesteps": 1000, "beta_schedule": "linear",
                  "beta_start": 1e-4, "beta_end": 0.02}


def _groups(c):
    return 8 if c % 8 == 0 else (4 if c % 4 == 0 else 1)


def make_unet(*, channels=3, width=16, sample_size=32):
    """A two-resolution ``UNet2DModel`` without attention (fully convolutional)."""
    return UNet2DModel(
        sample_size=sample_size, in_channels=channels, out_channels=channels,
        block_out_channels=(width, 2 * width), layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        add_attention=False, norm_num_groups=_groups(width),
    )


def make_train_scheduler():
    return DDPMScheduler(**TRAIN_SCHEDULE)


def make_scheduler(name, train_scheduler):
    """The inference scheduler ``name`` with the training schedule's betas."""
    try:
        cls, extra = SCHEDULERS[name]
    except KeyError:
        raise ValueError(f"sampler must be one of {sorted(SCHEDULERS)}, got {name!r}.") from None
    config = {k: v for k, v in train_scheduler.config.items() if not k.startswith("_")}
    return cls.from_config({**config, **extra})


def _ema(module):
    return EMAModel(module.parameters(), decay=0.999, use_ema_warmup=False,
                    min_decay=0.0, update_after_step=0)


def train_noise_prediction(unet, data, *, n_steps, batch_size, lr, progress):
    """Train ``unet`` to predict the noise added by the DDPM forward process.

    ``data`` is a float tensor ``(n, C, H, W)`` (pixels in [-1, 1] or scaled
    latents).  The EMA weights are copied into ``unet`` at the end.
    """
    sched = make_train_scheduler()
    opt = torch.optim.Adam(unet.parameters(), lr=lr)
    ema = _ema(unet)
    unet.train()
    losses = []
    for _ in range(n_steps):
        x0 = random_batch(data, batch_size)
        t = torch.randint(sched.config.num_train_timesteps, (x0.shape[0],))
        noise = torch.randn_like(x0)
        loss = F.mse_loss(unet(sched.add_noise(x0, noise, t), t).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        ema.step(unet.parameters())
        losses.append(loss.item())
        progress.step(1, loss=f"{losses[-1]:.4g}")
    ema.copy_to(unet.parameters())
    unet.eval()
    return {"losses": losses, "final_loss": tail_mean(losses),
            "loss_name": "noise-prediction MSE"}


def _alpha_bar(scheduler, t):
    """Signal fraction ``alpha_bar`` of the model input at timestep ``t``.

    Karras-style schedulers (Euler) index noise levels ``sigma`` (their
    scaled model input is the DDPM ``x_t`` with ``alpha_bar = 1 / (1 +
    sigma^2)``); the others index ``alphas_cumprod`` by integer timestep.
    """
    if isinstance(scheduler, (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler)):
        sigma = scheduler.sigmas[scheduler.step_index]
        return 1.0 / (1.0 + sigma**2)
    return scheduler.alphas_cumprod[int(t)]


def clip_noise_prediction(eps, x_t, alpha_bar, lo=-1.0, hi=1.0):
    """The noise prediction whose denoised estimate is clipped to ``[lo, hi]``.

    ``x0 = (x_t - sqrt(1 - a) eps) / sqrt(a)`` is clipped and ``eps`` solved
    back from it: the same x0 clipping as DDIM's ``clip_sample``, for every
    scheduler (a small, briefly trained pixel U-Net's x0 errors at high noise
    otherwise blow up under DPM-Solver and Euler and saturate the samples).
    """
    a = torch.as_tensor(alpha_bar, dtype=x_t.dtype)
    sa, s1 = a.sqrt(), (1.0 - a).sqrt()
    x0 = ((x_t - s1 * eps) / sa).clamp(lo, hi)
    return (x_t - sa * x0) / s1


@torch.no_grad()
def sample_with_scheduler(unet, scheduler, shape, n_steps, *, clip_denoised=False):
    """Run a diffusers scheduler's reverse process from Gaussian noise.

    With ``clip_denoised`` (pixel space), every step's denoised estimate is
    clipped to [-1, 1] (:func:`clip_noise_prediction`), whatever the
    scheduler.
    """
    scheduler.set_timesteps(n_steps)
    x = torch.randn(shape) * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        x_t = scheduler.scale_model_input(x, t)
        eps = unet(x_t, t).sample
        if clip_denoised:
            eps = clip_noise_prediction(eps, x_t, _alpha_bar(scheduler, t))
        x = scheduler.step(eps, t, x).prev_sample
    return x


# --------------------------------------------------------------------------
# the latent-diffusion autoencoder
# --------------------------------------------------------------------------


def make_autoencoder(*, width=16, latent_channels=4, sample_size=32):
    """A small ``AutoencoderKL``: three resolutions (4x downsampling)."""
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(width, 2 * width, 2 * width), layers_per_block=1,
        norm_num_groups=_groups(width), sample_size=sample_size,
        mid_block_add_attention=False,
    )


def train_autoencoder(ae, data, *, n_steps, batch_size, lr, kl_weight, progress):
    """Reconstruction (L1 + MSE) plus ``kl_weight`` x KL of the posterior.

    Sets ``ae.config.scaling_factor`` to 1 / std of the training latents (as
    Stable Diffusion's 0.18215) so that the latent U-Nets see unit variance.
    """
    opt = torch.optim.Adam(ae.parameters(), lr=lr)
    ae.train()
    losses = []
    for _ in range(n_steps):
        x = random_batch(data, batch_size)
        post = ae.encode(x).latent_dist
        rec = ae.decode(post.sample()).sample
        kl = post.kl().mean() / x[0].numel()
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(ae.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        progress.step(1, loss=f"{losses[-1]:.4g}")
    ae.eval()
    with torch.no_grad():
        z = encode_latents(ae, data[:512], scale=1.0)
    ae.register_to_config(scaling_factor=float(1.0 / z.std()))
    return {"losses": losses, "final_loss": tail_mean(losses),
            "loss_name": "L1 + MSE reconstruction + KL"}


@torch.no_grad()
def encode_latents(ae, x, *, scale=None, batch_size=256):
    """Posterior means of ``x``, times the autoencoder's scaling factor."""
    scale = ae.config.scaling_factor if scale is None else scale
    out = [ae.encode(x[i:i + batch_size]).latent_dist.mode()
           for i in range(0, x.shape[0], batch_size)]
    return torch.cat(out) * scale


@torch.no_grad()
def decode_latents(ae, z):
    return ae.decode(z / ae.config.scaling_factor).sample


# --------------------------------------------------------------------------
# NCSN: the same U-Net as a noise-conditional score network
# --------------------------------------------------------------------------


class NCSN(nn.Module):
    """``s(x, sigma) = unet(x, c(sigma)) / sigma`` with geometric noise levels
    for images in [0, 1] (NCSN's convention); ``c(sigma) = -100 log(sigma)``
    feeds the noise level to the U-Net's sinusoidal time embedding."""

    def __init__(self, unet, *, n_sigmas=10, sigma_max=1.0, sigma_min=0.01):
        super().__init__()
        self.unet = unet
        sig = torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n_sigmas))
        self.register_buffer("sigmas", sig)

    def score(self, x, idx):
        sig = self.sigmas[idx]
        return self.unet(x, torch.log(sig) * -100.0).sample / sig.view(-1, 1, 1, 1)

    def loss(self, x01):
        idx = torch.randint(len(self.sigmas), (x01.shape[0],))
        sig = self.sigmas[idx].view(-1, 1, 1, 1)
        z = torch.randn_like(x01)
        s = self.score(x01 + sig * z, idx)  # sigma^2-weighted denoising score matching
        return 0.5 * (sig * s + z).pow(2).flatten(1).sum(1).mean()


def train_ncsn(model, data01, *, n_steps, batch_size, lr, progress):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ema = _ema(model.unet)
    model.train()
    losses = []
    for _ in range(n_steps):
        loss = model.loss(random_batch(data01, batch_size))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.step(model.unet.parameters())
        losses.append(loss.item())
        progress.step(1, loss=f"{losses[-1]:.4g}")
    ema.copy_to(model.unet.parameters())
    model.eval()
    return {"losses": losses, "final_loss": tail_mean(losses),
            "loss_name": "denoising score matching (sigma^2-weighted)"}


@torch.no_grad()
def sample_langevin(model, shape, *, n_steps_each, step_lr):
    """Annealed Langevin dynamics from uniform noise, then one denoising step
    (Jolicoeur-Martineau et al., 2021); returns images in [0, 1].

    With a few steps per level the step must be larger than NCSN's 2e-5:
    ``step_lr / sigma_min**2`` is the contraction per step (0.5 is good)."""
    x = torch.rand(shape)
    n = shape[0]
    sig_min = model.sigmas[-1]
    for i in range(len(model.sigmas)):
        idx = torch.full((n,), i, dtype=torch.long)
        alpha = step_lr * (model.sigmas[i] / sig_min) ** 2
        for _ in range(n_steps_each):
            x = x + alpha * model.score(x, idx) + torch.sqrt(2 * alpha) * torch.randn_like(x)
    idx = torch.full((n,), len(model.sigmas) - 1, dtype=torch.long)
    return x + sig_min**2 * model.score(x, idx)
