"""Small generative models of the four classes, trained on CPU for the zoo.

Private: :func:`skfingerprint.datasets.make_model_zoo` is the public entry
point.  One module per class of model:

- :mod:`._vae`: convolutional VAE (plain, beta-VAE, different decoders);
- :mod:`._gan`: DCGAN-style GANs with several losses and upsamplings;
- :mod:`._flow`: RealNVP-style and Glow-style normalizing flows;
- :mod:`._score`: DDPM (sampled with DDIM) and NCSN (annealed Langevin).

Each exposes its model classes, a ``train_*`` function and a ``sample_*``
function; all take and return ``uint8`` images of shape ``(n, H, W, 3)``.
"""
