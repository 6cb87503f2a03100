"""Plain-data state of the skorch nets owned by our estimators.

Our estimators pickle their torch weights as NumPy arrays (never torch or
skorch objects), so that the safe format (skops) needs to trust only our own
classes, and rebuild the skorch net when loaded.
"""

from __future__ import annotations

import contextlib

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


# Sanity bounds on a stored module configuration, checked before anything is
# built (a model file is untrusted input): integers and list lengths that no
# real network of the library comes near.  The sizes of the layers are then
# bounded by the weights the file actually stores (see _check_weights).
_MAX_CONFIG_ITEMS = 32
_MAX_CONFIG_LIST = 64
_MAX_CONFIG_INT = 1 << 31
_MAX_CONFIG_STR = 64
# A module built from the config may register at most this many parameters
# and buffers beyond the number of stored weights (e.g. non-persistent buffers).
_EXTRA_TENSORS = 16
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


class NetStateError(ValueError):
    """A stored net state that cannot be the state of the library's own net."""


def _check_config_value(key, value):
    scalars = (bool, int, float, str, type(None))
    values = value if isinstance(value, (list, tuple)) else [value]
    if isinstance(value, (list, tuple)) and len(value) > _MAX_CONFIG_LIST:
        raise NetStateError(f"module_config[{key!r}] has {len(value)} entries")
    for v in values:
        if not isinstance(v, scalars):
            raise NetStateError(
                f"module_config[{key!r}] holds a {type(v).__name__}, not a plain value")
        if isinstance(v, int) and not -_MAX_CONFIG_INT <= v <= _MAX_CONFIG_INT:
            raise NetStateError(f"module_config[{key!r}] = {v} is out of range")
        if isinstance(v, str) and len(v) > _MAX_CONFIG_STR:
            raise NetStateError(f"module_config[{key!r}] is a string of {len(v)} characters")


def _check_saved(saved, module_cls):
    """Types and sanity bounds of a :func:`dump_net_state` dict (nothing built)."""
    import inspect

    if not isinstance(saved, dict):
        raise NetStateError(f"the net state is a {type(saved).__name__}, not a dict")
    config, weights = saved.get("module_config"), saved.get("weights")
    if not isinstance(config, dict) or not isinstance(weights, dict):
        raise NetStateError("the net state has no module_config or weights dict")
    if len(config) > _MAX_CONFIG_ITEMS:
        raise NetStateError(f"module_config has {len(config)} entries")
    accepted = set(inspect.signature(module_cls).parameters)
    for key, value in config.items():
        if key not in accepted:
            raise NetStateError(
                f"module_config names {str(key)[:40]!r}, not a parameter of "
                f"{module_cls.__name__}")
        _check_config_value(key, value)
    for key, value in weights.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise NetStateError("the weights are not a dict of named arrays")
        if value.dtype.kind not in "fciub":
            raise NetStateError(f"weight {key!r} has dtype {value.dtype}")
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise NetStateError(f"weight {key[:60]!r} holds values that are not finite "
                                "(NaN or infinity)")
    history = saved.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise NetStateError("the training history is not a list of dicts")


@contextlib.contextmanager
def _at_most(n_tensors):
    """Stop building a module once it registers more than ``n_tensors`` tensors."""
    from torch.nn.modules import module as torch_module

    count = [0]

    def hook(*args):
        count[0] += 1
        if count[0] > n_tensors:
            raise NetStateError(
                f"the stored configuration builds more than {n_tensors} tensors, "
                "more than the file stores weights")

    handles = [torch_module.register_module_parameter_registration_hook(hook),
               torch_module.register_module_buffer_registration_hook(hook)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _check_weights(saved, module_cls):
    """The module of ``saved``'s config, built on the meta device (no memory),
    must have exactly the stored weights' names and shapes."""
    weights = saved["weights"]
    try:
        with _at_most(len(weights) + _EXTRA_TENSORS), torch.device("meta"):
            expected = module_cls(**saved["module_config"]).state_dict()
    except NetStateError:
        raise
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise NetStateError(
            f"its module_config does not build a {module_cls.__name__} "
            f"({type(exc).__name__}: {exc})") from None
    if set(expected) != set(weights):
        missing = sorted(set(expected) - set(weights))[:3]
        extra = sorted(set(weights) - set(expected))[:3]
        raise NetStateError(
            f"the stored weights do not match the module (missing {missing}, "
            f"unexpected {extra})")
    for key, tensor in expected.items():
        if tuple(tensor.shape) != tuple(weights[key].shape):
            raise NetStateError(
                f"weight {key!r} has shape {tuple(weights[key].shape)}, the module "
                f"built from the stored configuration has {tuple(tensor.shape)}")


def load_net(saved, *, module_cls, criterion, device, version, owner):
    """Rebuild an initialised skorch ``NeuralNet`` from :func:`dump_net_state`.

    Raises a ValueError naming ``owner`` for a state of another version, and a
    :class:`NetStateError` (a ValueError) for a state that is not one of the
    library's nets: a configuration out of the sanity bounds, or weights
    whose names or shapes differ from those of the module the configuration
    builds (checked on the meta device before any memory is allocated).  A
    CUDA state loads on the CPU when CUDA is not available.
    """
    from skorch import NeuralNet
    from skorch.history import History

    if not isinstance(saved, dict) or saved.get("version") != version:
        found = saved.get("version") if isinstance(saved, dict) else None
        raise ValueError(
            f"This {owner} was saved with state version {found!r}; "
            f"this skfingerprint reads version {version}. Refit it, or load it "
            "with the version that saved it."
        )
    _check_saved(saved, module_cls)
    if not isinstance(device, str) or device.split(":")[0] not in _DEVICE_TYPES:
        raise NetStateError(f"its device {str(device)[:40]!r} is not a torch device")
    _check_weights(saved, module_cls)
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
