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


class NetStateMixin:
    """Pickle support for estimators that own a skorch net as ``net_``.

    The pickled state holds the net as plain data (:func:`dump_net_state`);
    unpickling rebuilds it with :func:`load_net`.  Subclasses set
    ``_net_module_cls``, ``_net_criterion`` and ``_net_state_version``, and
    may override ``_after_net_loaded``.
    """

    _net_state_version = 1

    def __getstate__(self):
        state = self.__dict__.copy()
        net = state.pop("net_", None)
        if net is not None:
            module = getattr(net.module_, "_orig_mod", net.module_)  # torch.compile
            state["_net_state"] = dump_net_state(
                module, net.history, self._net_state_version
            )
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_net_state", None)
        self.__dict__.update(state)
        if saved is not None:
            self.net_ = load_net(
                saved,
                module_cls=self._net_module_cls,
                criterion=self._net_criterion,
                device=self.device_,
                version=self._net_state_version,
                owner=type(self).__name__,
            )
            self.device_ = str(self.net_.device)
            self._after_net_loaded()

    def _after_net_loaded(self):
        """Hook run after ``net_`` is rebuilt from a pickled state."""
