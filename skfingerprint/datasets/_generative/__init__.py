"""Small generative models, trained on CPU for the zoo.

Private: :func:`skfingerprint.datasets.make_model_zoo` is the public entry
point.  One module per class of model:

- :mod:`._vae`: convolutional VAE (plain, beta-VAE, different decoders);
- :mod:`._gan`: DCGAN-style GANs with several losses and upsamplings;
- :mod:`._flow`: RealNVP-style and Glow-style normalizing flows;
- :mod:`._diffusion`: diffusers-based U-Nets (pixel and latent), their
  schedulers, the ``AutoencoderKL`` of latent diffusion, and NCSN
  (annealed Langevin); imports ``diffusers``, so it is imported only while
  a zoo is built.

Each exposes its model classes, a ``train_*`` function and a ``sample_*``
function; all take and return ``uint8`` images of shape ``(n, H, W, 3)``.
"""
