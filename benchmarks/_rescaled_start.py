"""Fine-tuning from shipped weights with phi's layers rescaled (an experiment).

The shipped weights' convolutions are 2-3 times the norm of a fresh
initialisation each, so phi's features come out about 40 times larger
(mean |feature| 1.7 against 0.04 on uniform noise, artifacts-v2), and Adam's
steps, of a fixed size, move them relatively less.  :class:`RescaledStart`
divides each convolution of phi by its norm over a fresh initialisation's
(and each bias by the running product), and the pooled features' running
statistics to match: LeakyReLU and the mean / standard-deviation pooling are
positively homogeneous, so the set embedding is unchanged but for the
pooling's epsilon.  Used by ``benchmarks.real_world`` (the rows
``..., rescaled``), only when named.
"""

import torch

from skfingerprint import SetFingerprintEncoder


def rescale_phi(module):
    """Rescale ``module``'s (a DeepSet) phi convolutions to a fresh initialisation's norms."""
    with torch.random.fork_rng(devices=[]):  # the caller's random stream untouched
        torch.manual_seed(0)
        fresh = type(module)(**module.config)
    convs = [m for m in module.phi.features if isinstance(m, torch.nn.Conv2d)]
    refs = [m for m in fresh.phi.features if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        total = 1.0
        for conv, ref in zip(convs, refs):
            scale = float(conv.weight.norm() / ref.weight.norm())
            total *= scale
            conv.weight /= scale
            if conv.bias is not None:
                conv.bias /= total
        module.bag_norm.running_mean /= total
        module.bag_norm.running_var /= total ** 2
    return total


class RescaledStart(SetFingerprintEncoder):
    """``SetFingerprintEncoder`` whose phi is rescaled (:func:`rescale_phi`)
    after the shipped weights are loaded, before phi's per-image training."""

    def _train_phi_on_images(self, module, *args, **kwargs):
        if self.weights is not None:
            rescale_phi(module)
        return super()._train_phi_on_images(module, *args, **kwargs)
