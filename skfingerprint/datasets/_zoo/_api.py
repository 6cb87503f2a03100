"""``make_model_zoo``: validate, find the cache (or build it under a lock),
and return the one dataset Bunch."""

from __future__ import annotations

import numbers
import os
import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._base import make_dataset_bunch
from . import _build, _cache
from ._describe import make_descr
from ._registry import PRESETS, ZOO_VERSION, config_digest, preset_jobs

_MIN_SIZE, _MAX_SIZE = 8, 128
_MAX_SAMPLE_SIZE = 256


def _check_size(name, value, low, high):
    """The power-of-two / multiple-of-8 rule that constraints cannot express."""
    s = int(value)
    pow2 = name == "image_size"
    if s < low or s > high or (s & (s - 1) if pow2 else s % 8):
        what = "a power of two" if pow2 else "a multiple of 8"
        raise ValueError(
            f"{name} must be {what} between {low} and {high} "
            f"(the networks go from 4x4 to the image size by factors of 2), got {s}; "
            "use e.g. 16 or 32."
        )
    return s


def _check_n_jobs(n_jobs):
    if n_jobs == 0:
        raise ValueError("n_jobs must be None or a non-zero int (-1: all CPUs), got 0.")


def _resolve_n_jobs(n_jobs, n_tasks):
    from joblib import effective_n_jobs

    n = _build.default_n_jobs() if n_jobs is None else effective_n_jobs(n_jobs)
    return max(1, min(int(n), n_tasks))


def _cache_key(preset, cfg, image_size, sample_size, seed):
    size = f"{image_size}px" + (f"-sampled{sample_size}px" if sample_size != image_size else "")
    extra = None if sample_size == image_size else {"sample_size": sample_size}
    return (f"zoo-{preset}-{size}-seed{seed}-v{ZOO_VERSION}-"
            f"{config_digest(preset, cfg, extra)}")


@validate_params(
    {
        "preset": [str],  # a key of PRESETS, checked at call time (tests add presets)
        "image_size": [Interval(numbers.Integral, _MIN_SIZE, _MAX_SIZE, closed="both"), None],
        "sample_size": [Interval(numbers.Integral, 8, _MAX_SAMPLE_SIZE, closed="both"), None],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "data_home": [str, os.PathLike, None],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
        "build_if_missing": ["boolean"],
        "return_X_y": ["boolean"],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def make_model_zoo(preset="small", *, image_size=None, sample_size=None, n_samples=None,
                   data_home=None, random_state=0, n_jobs=None, build_if_missing=True,
                   return_X_y=False, verbose=True):
    """Build (or load from the cache) a zoo of really trained generative models.

    Small generative models are trained on the same crops of the photographs
    that ship with scikit-image and scikit-learn, each with its own loss, and
    sampled with their own samplers.  Some share components, as real
    generators do; ``lineage`` records which:

    - VAEs: ``vae_plain`` (beta = 1, transposed-convolution decoder),
      ``vae_beta`` (beta = 4), ``vae_resize`` (nearest resize + convolution
      decoder);
    - GANs: ``gan_ns_tconv`` and ``gan_ns_resize`` (non-saturating loss, two
      generator upsamplings), ``gan_ls_resize`` (least squares),
      ``gan_wgangp_tconv`` (WGAN-GP), ``gan_hinge_sn_tconv`` (hinge loss,
      spectral normalisation); ``gan_ns_tconv_ft_a`` and
      ``gan_ns_tconv_ft_b``: ``gan_ns_tconv`` fine-tuned on two disjoint
      subsets of the photos (siblings);
    - flows: ``flow_realnvp`` (RealNVP-style), ``flow_glow`` (Glow-style);
    - pixel-space diffusion (diffusers ``UNet2DModel``): one U-Net sampled
      by four schedulers, ``score_ddim``, ``score_ddpm``,
      ``score_dpm_solver``, ``score_euler_a``; ``score_ncsn``, a
      noise-conditional score network sampled with annealed Langevin
      dynamics;
    - latent diffusion: one ``AutoencoderKL`` whose round trip of held-back
      real crops is ``ae_roundtrip``, and two latent U-Nets trained on its
      latents with different seeds, decoded by the same decoder:
      ``ldm_a_ddim``, ``ldm_a_dpm_solver`` (U-Net a, two samplers) and
      ``ldm_b_ddim``.

    A held-back set of crops of the same photographs, drawn with a separate
    seed, is the ``"real"`` source.  Sample quality is modest (the models are
    tiny and trained for minutes on a CPU); the artifacts that their
    architectures, losses, samplers and shared parts leave are what matters.

    The result is cached under ``data_home`` in one file per key, written
    atomically and verified with a SHA-256 checksum when loaded.  While it
    builds, each finished model is cached too, so that a build interrupted
    (Ctrl-C, a crash) resumes where it stopped.  Two processes building the
    same zoo do not both build: the second waits (a lock file next to the
    cache) and loads.  The build shows one progress bar.

    Read more in :doc:`the model zoo guide </zoo>`.

    Parameters
    ----------
    preset : {"small", "default"}, default="small"
        ``"small"``: 16x16 images, 256 per source, 20 sources (the 13 of the
        first zoo and one of each new kind), a few minutes on 2 CPU cores;
        for tests and the demo.  ``"default"``: 32x32 images, 2000 per
        source, 22 sources; for benchmarks.

    image_size : int, default=None
        Side of the square training images, a power of two between 8 and
        128.  None uses the preset's size (16 or 32).  Build time grows
        roughly with the number of pixels.

    sample_size : int, default=None
        Side of the sampled images, a multiple of 8 up to 256 (e.g. 96, 128,
        192).  None samples at ``image_size``.  At another size, only the
        fully convolutional sources are sampled (the diffusion U-Nets, the
        latent diffusion models and the autoencoder round trip, with
        ``real`` crops of that size): GANs, VAEs and flows map a vector to a
        fixed size and are left out.  The networks are trained at
        ``image_size`` as usual; each ``sample_size`` is its own cache.

    n_samples : int, default=None
        Images per source.  None uses the preset's (256 for ``"small"``,
        2000 for ``"default"``).  Sampling costs grow with ``n_samples x
        sample_size**2`` (the pixel U-Nets dominate): fewer images make a
        zoo sampled at a large size affordable on a CPU, e.g.
        ``make_model_zoo("small", sample_size=192, n_samples=128)``.  The
        networks are trained as usual; each ``n_samples`` is its own cache.

    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`.

    random_state : int, RandomState instance or None, default=0
        Seed of the whole build (training crops, held-back crops, weights,
        batches, sampling noise); it keys the cache.  An int gives the same
        images on every CPU run with the same torch version.  A RandomState
        instance or None draws the seed from it (None: a fresh build every
        call, each cached).  The global torch and numpy random states are
        left unchanged.

    n_jobs : int, default=None
        Number of models trained at the same time, each in its own process
        on one torch thread.  ``None`` uses the cores available to this
        process; ``-1`` all CPUs; ``1`` trains in this process.  The images
        do not depend on it.

    build_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of building when the zoo is
        not cached (or its cache is corrupt: nothing is deleted then).

    return_X_y : bool, default=False
        If True, return ``(images, labels)`` instead of a Bunch.

    verbose : bool, default=True
        Show one progress bar while building.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Built by :func:`~skfingerprint.datasets._base.make_dataset_bunch`,
        with attributes:

        images : ndarray of shape (n_sources * n_per_source, size, size, 3), dtype uint8
            Channels-last RGB images, grouped by source in ``sources`` order.
        labels : ndarray of shape (n_images,), dtype str
            The source of each image (``"real"``, ``"vae_plain"``, ...).
        sources : ndarray of str
            Source names in order, ``"real"`` first.
        families : dict
            Source name -> model class: ``"real"``, ``"vae"``, ``"gan"``,
            ``"flow"``, ``"score"``, ``"latent_diffusion"`` or
            ``"autoencoder"``.
        lineage : dict
            Source name -> tuple of str, its ancestry from the root, e.g.
            ``("diffusion", "autoencoder_kl", "unet_a", "dpm_solver")``;
            :func:`lineage_groups` turns it into ground-truth groups.
        metadata : dict
            Source name -> dict with ``family``, ``lineage``, ``job``,
            ``architecture``, ``loss``, ``sampler``, ``n_parameters``,
            ``training_steps``, ``batch_size``, ``final_loss``,
            ``loss_name``, ``train_seconds``, ``sample_seconds``,
            ``n_images``.
        preset, image_size, sample_size, random_state : str, int, int, int
            The key of the cached build.
        DESCR : str
            Description of the zoo, with a table of the models.

    (images, labels) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        Unknown ``preset`` or an invalid ``image_size``, ``sample_size`` or
        ``n_jobs``.
    PermissionError
        The zoo must be built but the cache folder is not writable (raised
        before anything is built).
    OSError
        ``build_if_missing=False`` and the zoo is not cached, or its cache
        is corrupt.

    See Also
    --------
    make_fingerprinted_images : Fast synthetic data with known artifacts.
    lineage_groups : Ground-truth groups from the lineage tree.

    Examples
    --------
    >>> from skfingerprint.datasets import make_model_zoo
    >>> zoo = make_model_zoo("small", random_state=0)  # doctest: +SKIP
    >>> zoo.images.shape, zoo.images.dtype  # doctest: +SKIP
    ((5120, 16, 16, 3), dtype('uint8'))
    >>> zoo.families["gan_wgangp_tconv"], zoo.lineage["ldm_a_ddim"]  # doctest: +SKIP
    ('gan', ('diffusion', 'autoencoder_kl', 'unet_a', 'ddim'))
    """
    if preset not in PRESETS:
        raise ValueError(
            f"The 'preset' parameter of make_model_zoo must be one of "
            f"{', '.join(repr(p) for p in PRESETS)}; got {preset!r}."
        )
    cfg = PRESETS[preset]
    if n_samples is not None and int(n_samples) != cfg["n_samples"]:
        cfg = {**cfg, "n_samples": int(n_samples)}  # part of the cache key's digest
    image_size = (cfg["image_size"] if image_size is None
                  else _check_size("image_size", image_size, _MIN_SIZE, _MAX_SIZE))
    sample_size = (image_size if sample_size is None
                   else _check_size("sample_size", sample_size, 8, _MAX_SAMPLE_SIZE))
    _check_n_jobs(n_jobs)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= random_state < 2**32:
            raise ValueError(
                f"random_state must be between 0 and 2**32 - 1, got {random_state}."
            )
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))

    path = _cache.cache_path(data_home, _cache_key(preset, cfg, image_size, sample_size, seed))
    loaded = _load_or_none(path, build_if_missing)
    if loaded is None:
        if not build_if_missing:
            raise OSError(
                f"The model zoo (preset={preset!r}, image_size={image_size}, "
                f"sample_size={sample_size}, random_state={seed}) is not cached in "
                f"{os.path.dirname(path)!r}; call make_model_zoo with "
                "build_if_missing=True to build it."
            )
        _cache.check_writable(os.path.dirname(path))  # before hours of CPU
        with _cache.build_lock(path):
            # another process may have built it while this one waited
            loaded = _load_or_none(path, True, warn=False)
            if loaded is None:
                n_tasks = len(preset_jobs(cfg, fully_convolutional_only=sample_size != image_size))
                workers = _resolve_n_jobs(n_jobs, n_tasks)
                parts = _cache.parts_folder(path)
                images, labels, meta = _build.build(
                    preset, cfg, image_size, seed, verbose, workers,
                    sample_size=sample_size, parts=parts)
                _cache.save(path, {"images": images, "labels": labels}, meta)
                _cache.remove_parts(path)
                loaded = {"images": images, "labels": labels}, meta
    arrays, meta = loaded
    images, labels = arrays["images"], arrays["labels"]

    if return_X_y:
        return images, labels
    return make_dataset_bunch(
        images=images,
        labels=labels,
        sources=meta["sources"],
        families=meta["families"],
        lineage=meta["lineage"],
        DESCR=make_descr(meta),
        metadata=meta["metadata"],
        preset=meta["preset"],
        image_size=meta["image_size"],
        sample_size=meta["sample_size"],
        random_state=meta["random_state"],
    )


def _load_or_none(path, rebuild, warn=True):
    """The cached ``(arrays, meta)``, or None if missing (or corrupt and
    about to be rebuilt).  Never deletes anything: a corrupt file is
    overwritten by the rebuild, and with ``rebuild=False`` it is an
    ``OSError`` (a read-only query such as ``skfingerprint zoo info``)."""
    if not os.path.exists(path):
        return None
    try:
        return _cache.load(path)
    except _cache.CorruptCache as exc:
        if not rebuild:
            raise OSError(
                f"The cached model zoo {path!r} is corrupt ({exc}); it is left as it "
                "is.  Build it again with make_model_zoo(..., build_if_missing=True) "
                "(or `skfingerprint zoo build`), which replaces it."
            ) from None
        if warn:
            warnings.warn(
                f"The cached model zoo {path!r} is corrupt ({exc}); rebuilding it.",
                RuntimeWarning,
                stacklevel=3,
            )
        return None
