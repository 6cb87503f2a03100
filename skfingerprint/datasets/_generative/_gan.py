"""Generative adversarial networks with different losses and upsampling.

The generator is a DCGAN-style network (Radford et al., 2016) whose stride-2
stages are either transposed convolutions or nearest resize + convolution
(Odena et al., 2016); the discriminator is a stride-2 convolutional network.
Losses:

``"ns"``
    the non-saturating GAN loss (Goodfellow et al., 2014);
``"ls"``
    least squares, LSGAN (Mao et al., 2017);
``"wgan-gp"``
    Wasserstein loss with gradient penalty (Gulrajani et al., 2017), several
    critic steps per generator step;
``"hinge"``
    hinge loss; with ``spectral_norm=True`` this is SNGAN (Miyato et al., 2018).

Sampling draws ``z ~ N(0, I)`` and runs the generator (BatchNorm in
inference mode).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import (
    ConvDecoder,
    ConvEncoder,
    from_signed_tensor,
    random_batch,
    sample_in_batches,
    tail_mean,
    to_signed_tensor,
)

LOSSES = ("ns", "ls", "wgan-gp", "hinge")


class GAN(nn.Module):
    """A generator/discriminator pair.

    Parameters
    ----------
    image_size : int
        Side of the square RGB images (a power of two >= 8).
    z_dim : int
        Latent dimension.
    width : int
        Base channel count of both networks.
    upsample : {"tconv", "resize"}
        Generator upsampling.
    spectral_norm : bool
        Spectral normalisation on every discriminator layer.
    batch_norm : bool
        BatchNorm in the discriminator (DCGAN); not for WGAN-GP, whose
        gradient penalty is per sample.

    Weights are initialised as in DCGAN: N(0, 0.02) (BatchNorm scales
    N(1, 0.02)), zero biases; spectrally normalised layers keep torch's
    default initialisation (the normalisation sets their scale).
    """

    def __init__(self, image_size, *, z_dim=64, width=32, upsample="tconv",
                 spectral_norm=False, batch_norm=False):
        super().__init__()
        self.z_dim = z_dim
        self.generator = ConvDecoder(image_size, z_dim, width, upsample, out_tanh=True)
        self.discriminator = ConvEncoder(image_size, 1, width, spectral_norm=spectral_norm,
                                         batch_norm=batch_norm)
        for mod in self.modules():
            if nn.utils.parametrize.is_parametrized(mod):
                continue
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(mod.weight, 0.0, 0.02)
                nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.BatchNorm2d):
                nn.init.normal_(mod.weight, 1.0, 0.02)
                nn.init.zeros_(mod.bias)


def _d_loss(kind, d_real, d_fake):
    if kind == "ns":
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if kind == "ls":
        return 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())
    if kind == "wgan-gp":
        return d_fake.mean() - d_real.mean()
    if kind == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}.")


def _g_loss(kind, d_fake):
    if kind == "ns":
        return F.softplus(-d_fake).mean()
    if kind == "ls":
        return 0.5 * (d_fake - 1).pow(2).mean()
    return -d_fake.mean()  # wgan-gp and hinge


def _gradient_penalty(disc, real, fake):
    eps = torch.rand(real.shape[0], 1, 1, 1)
    xi = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(disc(xi).sum(), xi, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def train_gan(model, images, *, loss, n_steps, batch_size=64, lr_g=2e-4,
              lr_d=2e-4, betas=(0.5, 0.999), n_critic=1, gp_weight=10.0,
              progress):
    """Alternate discriminator and generator updates with Adam.

    ``n_steps`` counts generator updates; each is preceded by ``n_critic``
    discriminator updates.  Returns the generator and discriminator loss
    curves; the reported final loss is the discriminator's.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
    data = to_signed_tensor(images)
    G, D = model.generator, model.discriminator
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    model.train()
    g_losses, d_losses = [], []
    for step in range(n_steps):
        for _ in range(n_critic):
            real = random_batch(data, batch_size)
            with torch.no_grad():
                fake = G(torch.randn(batch_size, model.z_dim))
            d_loss = _d_loss(loss, D(real), D(fake))
            if loss == "wgan-gp":
                d_loss = d_loss + gp_weight * _gradient_penalty(D, real, fake)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        fake = G(torch.randn(batch_size, model.z_dim))
        g_loss = _g_loss(loss, D(fake))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
        progress.step(1, d=f"{d_losses[-1]:.3g}", g=f"{g_losses[-1]:.3g}")
    return {
        "losses": d_losses,
        "generator_losses": g_losses,
        "final_loss": tail_mean(d_losses),
        "final_generator_loss": tail_mean(g_losses),
        "loss_name": f"discriminator loss ({loss})",
    }


@torch.no_grad()
def sample_gan(model, n, *, batch_size=256, progress):
    """Generator outputs for ``z ~ N(0, I)`` as uint8 ``(n, H, W, 3)``."""
    model.eval()

    def draw(k):
        return from_signed_tensor(model.generator(torch.randn(k, model.z_dim)))

    return sample_in_batches(draw, n, batch_size, progress)
