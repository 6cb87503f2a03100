"""skfingerprint: fingerprint generative models from bags of their images.

The main objects are re-exported here:

- :class:`SetFingerprintEncoder`: the DeepSet set encoder trained with the
  set contrastive loss (a scikit-learn transformer);
- :func:`make_bags`: group single images into bags of one source;
- :func:`save` / :func:`load`: persistence in a format that cannot execute
  code when loaded;
- :func:`run_demo`: the demo of ``skfingerprint demo``, from Python;
- the paper's baselines :class:`PRNUFingerprint`,
  :class:`SpectrumFingerprint`, :class:`AttributionCNN`, and
  :class:`NearestFingerprintClassifier`.

Sub-packages: :mod:`skfingerprint.datasets`, :mod:`skfingerprint.metrics`,
:mod:`skfingerprint.cluster`, :mod:`skfingerprint.visualization`,
:mod:`skfingerprint.encoder`, :mod:`skfingerprint.baselines`,
:mod:`skfingerprint.classifiers` (with open-set rejection and enrollment),
:mod:`skfingerprint.augment` (post-processing of images).
"""

__version__ = "0.1.0.dev0"

# The public objects are imported on first use (PEP 562), so that
# ``import skfingerprint`` and the command line's ``--help`` do not pay for
# importing torch and scikit-learn.
_LAZY = {
    "make_bags": "._bags",
    "load": "._persistence",
    "run_demo": "._demo",
    "save": "._persistence",
    "AttributionCNN": ".baselines",
    "PRNUFingerprint": ".baselines",
    "SpectrumFingerprint": ".baselines",
    "NearestFingerprintClassifier": ".classifiers",
    "SetFingerprintEncoder": ".encoder",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "SetFingerprintEncoder",
    "make_bags",
    "save",
    "load",
    "PRNUFingerprint",
    "SpectrumFingerprint",
    "AttributionCNN",
    "NearestFingerprintClassifier",
    "run_demo",
]
