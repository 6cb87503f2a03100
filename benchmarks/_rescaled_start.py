"""Fine-tuning from shipped weights with phi's layers rescaled (an experiment).

The shipped weights' convolutions are 2-3 times the norm of a fresh
initialisation each, so phi's features come out about 40 times larger
(mean |feature| 1.7 against 0.04 on uniform noise, artifacts-v2), and Adam's
steps, of a fixed size, move them relatively less.  :class:`RescaledStart`
divides each convolution of phi by its norm over a fresh initialisation's
(and each bias by the running product), and the pooled features' running
statistics to match: LeakyReLU and the mean / standard-deviation pooling are
positively homogeneous, so the set embedding is unchanged but for the
pooling's epsilon.  Used by ``benchmarks.real_world`` and
``benchmarks.few_shot`` (the rows ``..., rescaled``), only when named.  (The
rows of 2026-12-07 in ``real_world_roundtrip_methods_finetune_scale`` were
made at commit cdd8241, which rescaled to the norms of one fixed
initialisation, seed 0, instead of the encoder's own.)
"""

import torch

from skfingerprint import SetFingerprintEncoder


def phi_conv_norms(module):
    """The norms of the convolutions of ``module``'s (a DeepSet) phi, in order."""
    return [float(m.weight.detach().norm()) for m in module.phi.features
            if isinstance(m, torch.nn.Conv2d)]


def rescale_phi(module, norms):
    """Rescale ``module``'s (a DeepSet) phi convolutions to the norms ``norms``,
    keeping the function; returns the product of the ratios."""
    convs = [m for m in module.phi.features if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        total = 1.0
        for conv, norm in zip(convs, norms):
            scale = float(conv.weight.norm()) / float(norm)
            total *= scale
            conv.weight /= scale
            if conv.bias is not None:
                conv.bias /= total
        module.bag_norm.running_mean /= total
        module.bag_norm.running_var /= total ** 2
    return total


class RescaledStart(SetFingerprintEncoder):
    """``SetFingerprintEncoder`` whose phi, after the shipped weights are
    loaded, is rescaled (:func:`rescale_phi`) to the norms of the encoder's own
    fresh initialisation (drawn from its ``random_state``), before phi's
    per-image training."""

    def _build_module(self, *args, **kwargs):
        module = super()._build_module(*args, **kwargs)
        self._fresh_norms = phi_conv_norms(module)  # before the weights are loaded
        return module

    def _train_phi_on_images(self, module, *args, **kwargs):
        if self.weights is not None:
            rescale_phi(module, self._fresh_norms)
        return super()._train_phi_on_images(module, *args, **kwargs)
