"""Plain-data state of the skorch nets owned by our estimators.

Our estimators pickle their torch weights as NumPy arrays (never torch or
skorch objects), so that the safe format (skops) needs to trust only our own
classes, and rebuild the skorch net when loaded.
"""

from __future__ import annotations

import numpy as np
import torch


def dump_net_state(module, history, version):
    """Weights (NumPy arrays), module config and history of a trained net."""
    return {
        "version": version,
        "module_config": dict(module.config),
        "weights": {
            k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()
        },
        "history": [dict(h, batches=list(h.get("batches", []))) for h in history],
    }


def load_net(saved, *, module_cls, criterion, device, version, owner):
    """Rebuild an initialised skorch ``NeuralNet`` from :func:`dump_net_state`.

    Raises a ValueError naming ``owner`` for a state of another version.  A
    CUDA state loads on the CPU when CUDA is not available.
    """
    from skorch import NeuralNet
    from skorch.history import History

    if saved.get("version") != version:
        raise ValueError(
            f"This {owner} was saved with state version {saved.get('version')!r}; "
            f"this skfingerprint reads version {version}. Refit it, or load it "
            "with the version that saved it."
        )
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        device = "cpu"
    net = NeuralNet(
        module=module_cls(**dict(saved["module_config"])),
        criterion=criterion,
        optimizer=torch.optim.Adam,
        train_split=None,
        device=device,
    )
    net.initialize()
    net.module_.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in saved["weights"].items()}
    )
    net.history = History(saved.get("history", []))
    return net
