"""The model zoo: small generative models, really trained, some sharing
components (a latent-diffusion autoencoder, a U-Net sampled by several
schedulers, fine-tuned siblings), with a lineage tree.

Modules: ``_registry`` (jobs, sources, lineage, presets), ``_cache``
(atomic, verified, resumable, locked cache files), ``_describe``
(descriptions), ``_build`` (training and sampling, in parallel), ``_api``
(:func:`make_model_zoo`).
"""

from ._api import make_model_zoo

__all__ = ["make_model_zoo"]
