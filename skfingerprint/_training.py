"""Training the skorch nets owned by our estimators: callbacks and interrupts.

skorch's ``NeuralNet.partial_fit`` catches ``KeyboardInterrupt`` (Ctrl-C, or a
callback such as ``EarlyStopping`` that stops training) and returns silently
with the weights of the last completed batch.  :func:`fit_net` keeps that
behaviour, so that an interrupted ``fit`` still finishes its post-training
steps and leaves a usable estimator, but says so with a warning; when not
even one epoch completed, it re-raises the interrupt and leaves the
estimator unfitted.
"""

from __future__ import annotations

import warnings


def check_callbacks(callbacks, *, name="callbacks", owner=None):
    """Validate the ``callbacks`` parameter; return a list.

    Accepted: None, or a list/tuple whose items are skorch callbacks
    (instances or classes) or ``(name, callback)`` pairs, as skorch accepts.
    With ``owner`` (the name of an estimator whose loss is a plain function,
    not a ``torch.nn.Module``), callbacks that would load a criterion file
    back (``Checkpoint(load_best=True)``, ``LoadInitState``) must have been
    made with ``f_criterion=None``: skorch cannot load state into a plain
    function and fails after training with an obscure ``AttributeError``.
    """
    from skorch.callbacks import Callback, Checkpoint, LoadInitState

    if callbacks is None:
        return []
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"{name} must be None or a list of skorch callbacks, e.g. "
            "[skorch.callbacks.Checkpoint(dirname='checkpoints')]; got "
            f"{callbacks!r}."
        )

    def is_callback(cb):
        return isinstance(cb, Callback) or (
            isinstance(cb, type) and issubclass(cb, Callback)
        )

    for item in callbacks:
        if is_callback(item):
            continue
        if (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and is_callback(item[1])
        ):
            continue
        raise TypeError(
            f"{name} must hold skorch callbacks (instances of "
            "skorch.callbacks.Callback) or (name, callback) pairs; got "
            f"{item!r}."
        )
    if owner is not None:
        for item in callbacks:
            cb = item[1] if isinstance(item, tuple) else item
            if isinstance(cb, LoadInitState):
                loads = cb.checkpoint
            elif isinstance(cb, Checkpoint) and cb.load_best:
                loads = cb
            else:
                continue
            if getattr(loads, "f_criterion", None) is not None:
                raise ValueError(
                    f"{type(cb).__name__} in {name} would load the criterion file "
                    f"{loads.f_criterion!r}, but the loss of {owner} is a plain "
                    "function without state, into which skorch cannot load: make "
                    "the checkpoint with f_criterion=None, e.g. Checkpoint("
                    "monitor='train_loss_best', f_criterion=None, load_best=True)."
                )
    return list(callbacks)


def completed_epochs(rows):
    """Number of epochs among skorch history rows that ran to their end."""
    n = len(rows)
    if n and "train_loss" not in rows[-1]:
        n -= 1
    return n


def _progress_callback():
    from skorch.callbacks import Callback

    class _FitProgress(Callback):
        """Where this fit's epochs start in the history.

        Callbacks such as ``LoadInitState`` restore an earlier history when
        training begins; its epochs are not epochs of this fit.
        """

        def on_train_begin(self, net, **kwargs):
            self.start_ = len(net.history)

    return _FitProgress()


def _stopped_early(net):
    """True when a skorch ``EarlyStopping`` callback ended the training."""
    from skorch.callbacks import EarlyStopping

    for _, cb in getattr(net, "callbacks_", []):
        if isinstance(cb, EarlyStopping) and getattr(cb, "misses_", -1) >= cb.patience:
            return True
    return False


def fit_net(estimator, dataset, *, net=None, stage=None):
    """``estimator.net_.fit(dataset)``, reporting a ``KeyboardInterrupt``.

    After an interrupt during training (Ctrl-C, or a callback raising
    ``KeyboardInterrupt``) the net keeps the weights of its last completed
    batch, as in skorch.  If at least one epoch completed, a ``UserWarning``
    names the epoch reached and the caller goes on with its post-training
    steps.  If none did, ``net_`` is removed (the estimator stays unfitted)
    and the interrupt is raised again.  A stop by skorch's ``EarlyStopping``
    is not an interrupt and gives no warning.

    ``net`` trains another net instead, a first stage of training named
    ``stage`` (e.g. ``"phi's per-image training"``) that ``net_`` continues:
    an interrupt there is reported the same way, and the caller goes on
    with the next stage.
    """
    if net is None:
        net = estimator.net_
    progress = _progress_callback()
    net.callbacks = [*(net.callbacks or []), ("skfingerprint_fit_progress", progress)]
    net.fit(dataset, y=None)
    history = net.history[getattr(progress, "start_", 0):]
    done = completed_epochs(history)
    total = int(net.max_epochs)
    owner = type(estimator).__name__
    if done >= total or _stopped_early(net):
        return
    of_stage = "" if stage is None else f" of {stage}"
    if done == 0:
        if hasattr(estimator, "net_"):
            del estimator.net_
        where = "its first epoch" if stage is None else f"the first epoch{of_stage}"
        raise KeyboardInterrupt(
            f"training of {owner} was interrupted during {where}; nothing was fitted."
        )
    who = f"; {owner} uses" if stage is None else ", which keeps"
    if len(history) > done and history[-1].get("batches"):
        where = (
            f"during epoch {done + 1} of {total}{of_stage}, after {done} complete "
            f"epoch(s) (KeyboardInterrupt){who} the weights of the last completed batch"
        )
    else:
        where = (
            f"after epoch {done} of {total}{of_stage} (KeyboardInterrupt){who} the "
            "weights of the last completed epoch"
        )
    if stage is None:
        then = (", and its fitted attributes were computed with them. net_.history "
                "holds the epochs that ran; fit again to train all max_epochs.")
    else:
        then = (f"; {owner} goes on with its next stage of training (interrupt "
                "again to stop that one too).")
    warnings.warn(f"Training interrupted {where}{then}", UserWarning, stacklevel=3)
