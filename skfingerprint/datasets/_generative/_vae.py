"""Variational autoencoders (Kingma & Welling, 2014; beta-VAE, Higgins et al., 2017).

A convolutional encoder gives a diagonal Gaussian posterior; the decoder is a
DCGAN-style upsampling network whose output is the mean of a Gaussian
likelihood with a fixed standard deviation.  Training maximises the ELBO
(``beta`` weighs the KL term); sampling draws ``z ~ N(0, I)`` and returns the
decoder mean, the usual way VAE samples are shown.
"""

from __future__ import annotations

import torch
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


class VAE(nn.Module):
    """Convolutional VAE.

    Parameters
    ----------
    image_size : int
        Side of the square RGB images (a power of two >= 8).
    z_dim : int
        Latent dimension.
    width : int
        Channels of the last decoder block / first encoder block.
    upsample : {"tconv", "resize"}
        Decoder upsampling: transposed convolutions or nearest resize + conv.
    """

    def __init__(self, image_size, *, z_dim=32, width=32, upsample="tconv"):
        super().__init__()
        self.z_dim = z_dim
        self.encoder = ConvEncoder(image_size, 2 * z_dim, width)
        self.decoder = ConvDecoder(image_size, z_dim, width, upsample, out_tanh=False)

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def vae_loss(model, x, *, beta=1.0, sigma=0.1):
    """Negative ELBO per image (nats): Gaussian reconstruction + beta * KL."""
    x_hat, mu, logvar = model(x)
    rec = 0.5 * ((x - x_hat) / sigma).pow(2).flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
    return (rec + beta * kl).mean()


def train_vae(model, images, *, n_steps, batch_size=64, lr=1e-3, beta=1.0,
              sigma=0.1, progress):
    """Train ``model`` on uint8 ``images`` with Adam; return the loss curve."""
    data = to_signed_tensor(images)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for step in range(n_steps):
        x = random_batch(data, batch_size)
        loss = vae_loss(model, x, beta=beta, sigma=sigma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        progress.step(1, loss=f"{losses[-1]:.4g}")
    return {"losses": losses, "final_loss": tail_mean(losses), "loss_name": "negative ELBO (nats/image)"}


@torch.no_grad()
def sample_vae(model, n, *, batch_size=256, progress):
    """Decoder means for ``z ~ N(0, I)`` as uint8 ``(n, H, W, 3)``."""
    model.eval()

    def draw(k):
        z = torch.randn(k, model.z_dim)
        return from_signed_tensor(model.decode(z))

    return sample_in_batches(draw, n, batch_size, progress)
