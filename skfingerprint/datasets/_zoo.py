"""The model zoo: small generative models of four classes, really trained.

:func:`make_model_zoo` trains VAEs, GANs, normalizing flows and score-based
models on crops of the photographs that ship with scikit-image and
scikit-learn, samples them, and caches the images under the data home.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import numbers
import os
import tempfile
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils import Bunch, check_random_state

from ._base import get_data_home
from ._photos import random_crops

# Bump when the models, their training or the cache layout change: old caches
# are then simply not found (the version is part of every cache key).
_ZOO_VERSION = 1


@dataclass(frozen=True)
class _ModelSpec:
    name: str
    family: str
    params: dict = field(default_factory=dict)


# The registry.  Names are the labels; their order is the order of `sources`.
_MODELS = (
    _ModelSpec("vae_plain", "vae", {"upsample": "tconv", "beta": 1.0}),
    _ModelSpec("vae_beta", "vae", {"upsample": "tconv", "beta": 4.0}),
    _ModelSpec("vae_resize", "vae", {"upsample": "resize", "beta": 1.0}),
    _ModelSpec("gan_ns_tconv", "gan", {"loss": "ns", "upsample": "tconv", "batch_norm": True}),
    _ModelSpec("gan_ns_resize", "gan", {"loss": "ns", "upsample": "resize", "batch_norm": True}),
    _ModelSpec("gan_ls_resize", "gan", {"loss": "ls", "upsample": "resize", "batch_norm": True}),
    _ModelSpec(
        "gan_wgangp_tconv",
        "gan",
        {"loss": "wgan-gp", "upsample": "tconv", "n_critic": 5, "lr_g": 2e-4,
         "lr_d": 2e-4, "betas": (0.5, 0.9)},
    ),
    _ModelSpec(
        "gan_hinge_sn_tconv",
        "gan",
        {"loss": "hinge", "upsample": "tconv", "spectral_norm": True,
         "lr_g": 1e-4, "lr_d": 4e-4, "betas": (0.0, 0.9)},
    ),
    _ModelSpec("flow_realnvp", "flow", {"kind": "realnvp", "temperature": 1.0}),
    _ModelSpec("flow_glow", "flow", {"kind": "glow", "temperature": 0.7}),
    _ModelSpec("score_ddim", "score", {"kind": "ddpm"}),
    _ModelSpec("score_ncsn", "score", {"kind": "ncsn"}),
)

# Presets.  `steps` counts optimiser steps of each model (generator steps for
# GANs).  Sizes were chosen by timing builds on a shared 2-core CPU (see
# docs/zoo.md): `small` in about 2 minutes, `default` in about 14.
_PRESETS = {
    "small": {
        "image_size": 16,
        "n_samples": 256,
        "n_train": 4096,
        "batch_size": 64,
        "width": 16,
        "vae_z_dim": 32,
        "gan_z_dim": 64,
        "flow_hidden": 32,
        "glow_steps_per_level": 3,
        "score_width": 16,
        "score_lr": 2e-3,
        "ddim_steps": 25,
        "ncsn_n_sigmas": 8,
        "ncsn_sigma_min": 0.03,
        "langevin_steps_each": 5,
        "langevin_step_lr": 4.5e-4,
        "steps": {
            "vae_plain": 350, "vae_beta": 350, "vae_resize": 350,
            "gan_ns_tconv": 450, "gan_ns_resize": 450, "gan_ls_resize": 450,
            "gan_wgangp_tconv": 250, "gan_hinge_sn_tconv": 450,
            "flow_realnvp": 250, "flow_glow": 450,
            "score_ddim": 450, "score_ncsn": 450,
        },
    },
    "default": {
        "image_size": 32,
        "n_samples": 2000,
        "n_train": 10000,
        "batch_size": 64,
        "width": 24,
        "vae_z_dim": 64,
        "gan_z_dim": 64,
        "flow_hidden": 32,
        "glow_steps_per_level": 4,
        "score_width": 16,
        "score_lr": 2e-3,
        "ddim_steps": 20,
        "ncsn_n_sigmas": 8,
        "ncsn_sigma_min": 0.03,
        "langevin_steps_each": 4,
        "langevin_step_lr": 4.5e-4,
        "steps": {
            "vae_plain": 300, "vae_beta": 300, "vae_resize": 300,
            "gan_ns_tconv": 450, "gan_ns_resize": 450, "gan_ls_resize": 450,
            "gan_wgangp_tconv": 200, "gan_hinge_sn_tconv": 450,
            "flow_realnvp": 400, "flow_glow": 600,
            "score_ddim": 450, "score_ncsn": 450,
        },
    },
}

_MIN_SIZE, _MAX_SIZE = 8, 128


# --------------------------------------------------------------------------
# seeds and keys
# --------------------------------------------------------------------------


def _sub_seed(seed, name):
    """A 32-bit seed for one part of the build, stable across registry edits."""
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return int(ss.generate_state(1)[0])


def _config_digest(preset, cfg):
    payload = json.dumps(
        {"version": _ZOO_VERSION, "preset": preset, "config": cfg,
         "models": [(m.name, m.family, m.params) for m in _MODELS]},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:10]


def _cache_path(data_home, preset, image_size, seed, cfg):
    folder = os.path.join(get_data_home(data_home), "model_zoo")
    os.makedirs(folder, exist_ok=True)
    name = f"zoo-{preset}-{image_size}px-seed{seed}-v{_ZOO_VERSION}-{_config_digest(preset, cfg)}.npz"
    return os.path.join(folder, name)


# --------------------------------------------------------------------------
# cache I/O: one .npz per key, written atomically, sha256-verified on load
# --------------------------------------------------------------------------


def _payload_sha256(images, labels, meta_bytes):
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels).tobytes())
    h.update(meta_bytes)
    return h.hexdigest()


def _write_npz(fileobj, arrays):
    np.savez(fileobj, **arrays)


def _save_cache(path, images, labels, meta):
    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    arrays = {
        "images": images,
        "labels": labels,
        "meta": np.frombuffer(meta_bytes, dtype=np.uint8),
        "sha256": np.frombuffer(_payload_sha256(images, labels, meta_bytes).encode(), dtype=np.uint8),
    }
    folder, base = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # atomic: readers see no file or the whole file
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _CorruptCache(Exception):
    pass


def _load_cache(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"]
            meta_bytes = f["meta"].tobytes()
            expected = f["sha256"].tobytes().decode("ascii")
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError,
            zipfile.BadZipFile, zlib.error) as exc:
        raise _CorruptCache(f"{type(exc).__name__}: {exc}") from exc
    if _payload_sha256(images, labels, meta_bytes) != expected:
        raise _CorruptCache("sha256 checksum mismatch")
    try:
        meta = json.loads(meta_bytes)
    except ValueError as exc:
        raise _CorruptCache(f"unreadable metadata: {exc}") from exc
    return images, labels, meta


# --------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------


def _describe(spec, cfg, image_size):
    """Human-readable architecture, loss and sampler of one model."""
    p, w = spec.params, cfg["width"]
    n_up = int(np.log2(image_size)) - 2
    up = {"tconv": "transposed-conv (k4, s2)", "resize": "nearest resize + 3x3 conv"}
    if spec.family == "vae":
        return {
            "architecture": (
                f"VAE: encoder {n_up} stride-2 convs + linear; decoder linear -> 4x4, "
                f"{n_up} {up[p['upsample']]} upsamplings with BatchNorm/ReLU, 3x3 conv to RGB; "
                f"width {w}, z_dim {cfg['vae_z_dim']}"
            ),
            "loss": f"negative ELBO, Gaussian likelihood (sigma=0.1), beta={p['beta']:g}",
            "sampler": "decoder mean at z ~ N(0, I)",
        }
    if spec.family == "gan":
        loss = {"ns": "non-saturating", "ls": "least-squares (LSGAN)",
                "wgan-gp": f"WGAN-GP (lambda=10, {p.get('n_critic', 1)} critic steps per G step)",
                "hinge": "hinge"}[p["loss"]]
        d = ("spectrally normalised " if p.get("spectral_norm")
             else "BatchNorm " if p.get("batch_norm") else "")
        return {
            "architecture": (
                f"GAN: DCGAN generator linear -> 4x4, {n_up} {up[p['upsample']]} upsamplings "
                f"with BatchNorm/ReLU, 3x3 conv, tanh; {d}discriminator of {n_up} stride-2 "
                f"convs + linear; width {w}, z_dim {cfg['gan_z_dim']}"
            ),
            "loss": f"{loss} GAN loss, Adam lr_g={p.get('lr_g', 2e-4):g} lr_d={p.get('lr_d', 2e-4):g} "
                    f"betas={tuple(p.get('betas', (0.5, 0.999)))}",
            "sampler": "generator at z ~ N(0, I) (BatchNorm in inference mode)",
        }
    if spec.family == "flow":
        h = cfg["flow_hidden"]
        if p["kind"] == "realnvp":
            arch = (f"RealNVP: logit pre-transform; 3 checkerboard affine couplings, squeeze, "
                    f"3 channel couplings, half factored out, 4 checkerboard couplings; "
                    f"tanh-bounded scales; coupling nets of width {h}")
        else:
            arch = (f"Glow: 2 levels of [squeeze, {cfg['glow_steps_per_level']} x (actnorm, "
                    f"invertible 1x1 conv, affine coupling)], split with learned prior; "
                    f"sigmoid scales; coupling nets of width {h}")
        return {"architecture": arch,
                "loss": "negative log-likelihood of uniformly dequantized pixels (bits/dim)",
                "sampler": f"exact inverse at z ~ N(0, T^2 I), T={p['temperature']:g}"}
    sw = cfg["score_width"]
    if p["kind"] == "ddpm":
        return {"architecture": f"DDPM: U-Net (2 stages, residual blocks, width {sw}), "
                                "1000 steps, linear betas 1e-4..0.02, EMA weights",
                "loss": "noise-prediction MSE",
                "sampler": f"DDIM (eta=0), {cfg['ddim_steps']} steps"}
    return {"architecture": f"NCSN: U-Net (2 stages, residual blocks, width {sw}), "
                            f"{cfg['ncsn_n_sigmas']} geometric noise levels "
                            f"1.0..{cfg['ncsn_sigma_min']:g}, output / sigma, EMA weights",
            "loss": "denoising score matching (sigma^2-weighted)",
            "sampler": f"annealed Langevin dynamics, {cfg['langevin_steps_each']} steps per level, "
                       f"step_lr={cfg['langevin_step_lr']:g}, final denoising step"}


def _train_and_sample(spec, cfg, image_size, train_images, n_samples, progress):
    """Build, train and sample one model; return (images, training result)."""
    from ._generative import _flow, _gan, _score, _vae
    from ._generative._common import n_parameters

    p, steps, bs = spec.params, cfg["steps"][spec.name], cfg["batch_size"]
    t0 = time.perf_counter()
    if spec.family == "vae":
        model = _vae.VAE(image_size, z_dim=cfg["vae_z_dim"], width=cfg["width"], upsample=p["upsample"])
        res = _vae.train_vae(model, train_images, n_steps=steps, batch_size=bs, beta=p["beta"], progress=progress)
        t1 = time.perf_counter()
        images = _vae.sample_vae(model, n_samples, progress=progress)
    elif spec.family == "gan":
        model = _gan.GAN(image_size, z_dim=cfg["gan_z_dim"], width=cfg["width"],
                         upsample=p["upsample"], spectral_norm=p.get("spectral_norm", False),
                         batch_norm=p.get("batch_norm", False))
        kw = {k: p[k] for k in ("n_critic", "lr_g", "lr_d", "betas") if k in p}
        res = _gan.train_gan(model, train_images, loss=p["loss"], n_steps=steps, batch_size=bs,
                             progress=progress, **kw)
        t1 = time.perf_counter()
        images = _gan.sample_gan(model, n_samples, progress=progress)
    elif spec.family == "flow":
        if p["kind"] == "realnvp":
            model = _flow.RealNVP(image_size, hidden=cfg["flow_hidden"])
        else:
            model = _flow.Glow(image_size, hidden=cfg["flow_hidden"],
                               n_steps_per_level=cfg["glow_steps_per_level"])
        res = _flow.train_flow(model, train_images, n_steps=steps, batch_size=bs, progress=progress)
        t1 = time.perf_counter()
        images = _flow.sample_flow(model, n_samples, temperature=p["temperature"], progress=progress)
    else:
        if p["kind"] == "ddpm":
            model, n_sampling = _score.DDPM(width=cfg["score_width"]), cfg["ddim_steps"]
        else:
            model = _score.NCSN(width=cfg["score_width"], n_sigmas=cfg["ncsn_n_sigmas"],
                                sigma_min=cfg["ncsn_sigma_min"])
            n_sampling = cfg["langevin_steps_each"]
        res = _score.train_score(model, train_images, n_steps=steps, batch_size=bs,
                                 lr=cfg["score_lr"], progress=progress)
        t1 = time.perf_counter()
        images = _score.sample_score(model, n_samples, image_size, n_sampling_steps=n_sampling,
                                     batch_size=_SCORE_SAMPLE_BATCH, step_lr=cfg["langevin_step_lr"],
                                     progress=progress)
    t2 = time.perf_counter()
    meta = {
        "family": spec.family,
        **_describe(spec, cfg, image_size),
        "n_parameters": n_parameters(model),
        "training_steps": steps,
        "batch_size": bs,
        "final_loss": res["final_loss"],
        "loss_name": res["loss_name"],
        "train_seconds": round(t1 - t0, 2),
        "sample_seconds": round(t2 - t1, 2),
        "n_images": int(n_samples),
    }
    if "final_generator_loss" in res:
        meta["final_generator_loss"] = res["final_generator_loss"]
    return images, meta


_SAMPLE_BATCH = 256
_SCORE_SAMPLE_BATCH = 100


def _n_sample_batches(spec, n):
    b = _SCORE_SAMPLE_BATCH if spec.family == "score" else _SAMPLE_BATCH
    return -(-n // b)


def _total_steps(spec, cfg, n):
    return cfg["steps"][spec.name] + _n_sample_batches(spec, n)


@contextlib.contextmanager
def _one_torch_thread():
    """Run torch on one thread (restored afterwards).

    Every model is trained single-threaded, in this process or in a worker:
    the images then depend on the seed only (not on the number of cores,
    which changes the order of floating-point reductions), and a busy
    machine does not stall on thread synchronisation.  Parallelism comes
    from training several models at once (``n_jobs``).
    """
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)


def _run_model(spec, cfg, image_size, train_images, n, seed, progress):
    """Train and sample one model with its own seed; the caller's torch RNG
    is left as it was."""
    import torch

    with _one_torch_thread(), torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(_sub_seed(seed, spec.name))
        return _train_and_sample(spec, cfg, image_size, train_images, n, progress)


def _run_model_in_worker(spec, cfg, image_size, train_images, n, seed, queue):
    from ._generative._common import Progress

    progress = Progress(queue=queue, key=spec.name)
    out = _run_model(spec, cfg, image_size, train_images, n, seed, progress)
    progress.flush()
    return out


def _train_all(cfg, image_size, train_images, n, seed, verbose, n_jobs):
    """Train every model of the registry; return {name: (images, meta)}."""
    from tqdm.auto import tqdm

    from ._generative._common import Progress

    def bar(i, spec):
        return tqdm(total=_total_steps(spec, cfg, n), desc=f"{spec.name:<20s}",
                    disable=not verbose, leave=True, unit="step", position=i,
                    dynamic_ncols=True)

    if n_jobs == 1:
        results = {}
        for spec in _MODELS:
            with bar(0, spec) as b:
                results[spec.name] = _run_model(spec, cfg, image_size, train_images, n,
                                                seed, Progress(b))
        return results

    # Several models at once, one process each.  The bars live here; the
    # workers send their progress through a queue, which a thread drains
    # while joblib runs in the main thread (so that Ctrl-C stops the workers).
    import multiprocessing
    import queue as queue_module
    import threading

    from joblib import Parallel, delayed

    manager = multiprocessing.Manager()
    bars = {}
    try:
        q = manager.Queue()
        bars = {spec.name: bar(i, spec) for i, spec in enumerate(_MODELS)}
        stop = threading.Event()

        def pump():
            started = set()
            while True:
                try:
                    key, k, postfix = q.get(timeout=0.2)
                except queue_module.Empty:
                    if stop.is_set():
                        return
                    continue
                except (EOFError, OSError):  # the manager is gone
                    return
                if key not in started:  # start the bar's clock with the model
                    started.add(key)
                    bars[key].reset()
                if postfix:
                    bars[key].set_postfix(postfix, refresh=False)
                bars[key].update(k)

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        # the longest jobs first, so that the last one does not run alone
        order = sorted(_MODELS, key=lambda m: -_relative_cost(m, cfg))
        try:
            outputs = Parallel(n_jobs=n_jobs)(
                delayed(_run_model_in_worker)(spec, cfg, image_size, train_images, n, seed, q)
                for spec in order
            )
        finally:
            stop.set()
            thread.join(timeout=10)
    finally:
        for b in bars.values():
            b.close()
        manager.shutdown()
    return {spec.name: out for spec, out in zip(order, outputs)}


def _relative_cost(spec, cfg):
    """Rough cost of a model relative to one VAE step, for scheduling."""
    per_step = {"vae": 1.0, "gan": 1.0, "flow": 1.0, "score": 1.0}[spec.family]
    if spec.params.get("loss") == "wgan-gp":
        per_step = 4.0
    sampling = {"score": 60.0}.get(spec.family, 0.0)  # per 100 images
    return cfg["steps"][spec.name] * per_step + sampling * cfg["n_samples"] / 100


def _build(preset, cfg, image_size, seed, verbose, n_jobs=1):
    import torch

    n = cfg["n_samples"]
    train_images = random_crops(cfg["n_train"], image_size, random_state=_sub_seed(seed, "__train__"))
    real = random_crops(n, image_size, random_state=_sub_seed(seed, "__real__"))
    results = _train_all(cfg, image_size, train_images, n, seed, verbose, n_jobs)
    metadata = {
        "real": {
            "family": "real",
            "architecture": "none: held-back photo crops",
            "loss": "",
            "sampler": ("random anti-aliased crops (integer area downscaling, random "
                        "window, random left-right flip) of the photographs shipped with "
                        "scikit-image and scikit-learn, drawn with a seed separate from "
                        "the training crops"),
            "n_images": int(n),
        }
    }
    images = [real]
    for spec in _MODELS:
        imgs, meta = results[spec.name]
        images.append(imgs)
        metadata[spec.name] = meta
    sources = ["real"] + [m.name for m in _MODELS]
    labels = np.repeat(np.array(sources), n)
    meta = {
        "version": _ZOO_VERSION,
        "preset": preset,
        "image_size": int(image_size),
        "random_state": int(seed),
        "n_train": int(cfg["n_train"]),
        "sources": sources,
        "families": {"real": "real", **{m.name: m.family for m in _MODELS}},
        "metadata": metadata,
        "torch_version": torch.__version__,
        "n_jobs": int(n_jobs),
    }
    return np.concatenate(images, axis=0), labels, meta


def _make_descr(meta):
    lines = [
        ".. _model_zoo:",
        "",
        "Model zoo of generative models",
        "------------------------------",
        "",
        f"Preset {meta['preset']!r}, {meta['image_size']}x{meta['image_size']} RGB images, "
        f"random_state={meta['random_state']}, {len(meta['sources'])} sources x "
        f"{meta['metadata']['real']['n_images']} images.",
        "",
        "Small generative models of four classes (VAEs, GANs, normalizing flows, "
        "score-based models), each really trained with its own loss on the same "
        f"{meta['n_train']} crops of the photographs that ship with scikit-image and "
        "scikit-learn (one fixed preprocessing: anti-aliased integer downscaling, "
        "random crop, random flip) and sampled with its own sampler.  The 'real' "
        "source holds crops of the same photographs drawn with a separate seed.  "
        "Sample quality is modest; the point is the artifacts each architecture, "
        "loss and sampler leaves.  Built on CPU with torch "
        f"{meta['torch_version']}, one thread per model, {meta['n_jobs']} model(s) at a time.",
        "",
        "=====================  ======  ========  ==============  =======",
        "source                 family  steps     final loss      seconds",
        "=====================  ======  ========  ==============  =======",
    ]
    for s in meta["sources"]:
        m = meta["metadata"][s]
        steps = str(m.get("training_steps", "-"))
        loss = f"{m['final_loss']:.4g}" if "final_loss" in m else "-"
        secs = (f"{m['train_seconds'] + m['sample_seconds']:.0f}"
                if "train_seconds" in m else "-")
        lines.append(f"{s:<21s}  {m['family']:<6s}  {steps:<8s}  {loss:<14s}  {secs}")
    lines += ["=====================  ======  ========  ==============  =======", ""]
    for s in meta["sources"]:
        m = meta["metadata"][s]
        lines.append(f"- {s}: {m['architecture']}. Loss: {m['loss'] or '-'}. Sampler: {m['sampler']}.")
    return "\n".join(lines) + "\n"


def _check_image_size(image_size):
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral):
        raise ValueError(f"image_size must be an int (a power of two), got {image_size!r}.")
    s = int(image_size)
    if s < _MIN_SIZE or s > _MAX_SIZE or s & (s - 1):
        raise ValueError(
            f"image_size must be a power of two between {_MIN_SIZE} and {_MAX_SIZE} "
            f"(the networks go from 4x4 to the image size by factors of 2), got {s}; "
            "use e.g. 16 or 32."
        )
    return s


def make_model_zoo(preset="small", *, image_size=None, data_home=None,
                   random_state=0, n_jobs=None, build_if_missing=True,
                   return_X_y=False, verbose=True):
    """Build (or load from the cache) a zoo of really trained generative models.

    Twelve small generative models of the four classes studied in the paper
    are trained, each with its own loss, on the same crops of the
    photographs that ship with scikit-image and scikit-learn, and are sampled
    with their own samplers:

    - VAEs: ``vae_plain`` (beta = 1, transposed-convolution decoder),
      ``vae_beta`` (beta = 4), ``vae_resize`` (nearest resize + convolution
      decoder);
    - GANs: ``gan_ns_tconv`` and ``gan_ns_resize`` (non-saturating loss, two
      generator upsamplings), ``gan_ls_resize`` (least squares),
      ``gan_wgangp_tconv`` (WGAN-GP), ``gan_hinge_sn_tconv`` (hinge loss,
      spectral normalisation);
    - flows: ``flow_realnvp`` (RealNVP-style), ``flow_glow`` (Glow-style);
    - score-based: ``score_ddim`` (a DDPM sampled with DDIM), ``score_ncsn``
      (a noise-conditional score network sampled with annealed Langevin
      dynamics).

    A held-back set of crops of the same photographs, drawn with a separate
    seed, is the ``"real"`` source.  Sample quality is modest (the models are
    tiny and trained for minutes on a CPU); the artifacts that their
    architectures, losses and samplers leave are what matters.

    The result is cached under ``data_home`` in one file per
    ``(preset, image_size, random_state)``, written atomically and verified
    with a SHA-256 checksum when loaded; a corrupt cache is rebuilt with a
    warning.  The build shows one progress bar per model.

    Read more in :doc:`the model zoo guide </zoo>`.

    Parameters
    ----------
    preset : {"small", "default"}, default="small"
        ``"small"``: 16x16 images, 256 per source, about 2 minutes on one
        CPU core; for tests and the demo.  ``"default"``: 32x32 images,
        2000 per source, about 14 minutes on one CPU core; for benchmarks.

    image_size : int, default=None
        Side of the square images, a power of two between 8 and 128.  None
        uses the preset's size (16 or 32).  Build time grows roughly with the
        number of pixels.

    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`.

    random_state : int, RandomState instance or None, default=0
        Seed of the whole build (training crops, held-back crops, weights,
        batches, sampling noise); it keys the cache.  An int gives the same
        images on every CPU run with the same number of torch threads.  A
        RandomState instance or None draws the seed from it (None: a fresh
        build every call, each cached).  The global torch and numpy random
        states are left unchanged.

    n_jobs : int, default=None
        Number of models trained at the same time, each in its own process
        on one thread.  ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context; ``-1`` means all CPUs (about
        twice as fast on a 2-core machine).  The images do not depend on it.

    build_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of building when the zoo is
        not cached.

    return_X_y : bool, default=False
        If True, return ``(images, labels)`` instead of a Bunch.

    verbose : bool, default=True
        Show a progress bar per model while building.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        images : ndarray of shape (n_sources * n_per_source, image_size, image_size, 3), dtype uint8
            Channels-last RGB images, grouped by source in ``sources`` order.
        labels : ndarray of shape (n_images,), dtype str
            The source of each image (``"real"``, ``"vae_plain"``, ...).
        sources : list of str
            Source names in order, ``"real"`` first.
        families : dict
            Source name -> ``"real"``, ``"vae"``, ``"gan"``, ``"flow"`` or
            ``"score"``.
        metadata : dict
            Source name -> dict with ``family``, ``architecture``, ``loss``,
            ``sampler``, ``n_parameters``, ``training_steps``,
            ``batch_size``, ``final_loss``, ``loss_name``,
            ``train_seconds``, ``sample_seconds``, ``n_images``.
        preset, image_size, random_state : str, int, int
            The key of the cached build.
        DESCR : str
            Description of the zoo, with a table of the models.

    (images, labels) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        Unknown ``preset`` or an invalid ``image_size``.
    OSError
        ``build_if_missing=False`` and the zoo is not cached.

    See Also
    --------
    make_fingerprinted_images : Fast synthetic data with known artifacts.

    Examples
    --------
    >>> from skfingerprint.datasets import make_model_zoo
    >>> zoo = make_model_zoo("small", random_state=0)  # doctest: +SKIP
    >>> zoo.images.shape, zoo.images.dtype  # doctest: +SKIP
    ((3328, 16, 16, 3), dtype('uint8'))
    >>> zoo.sources[:3], zoo.families["gan_wgangp_tconv"]  # doctest: +SKIP
    (['real', 'vae_plain', 'vae_beta'], 'gan')
    """
    if preset not in _PRESETS:
        raise ValueError(
            f"Unknown preset {preset!r}; choose one of "
            f"{', '.join(repr(p) for p in _PRESETS)}."
        )
    cfg = _PRESETS[preset]
    image_size = cfg["image_size"] if image_size is None else _check_image_size(image_size)
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0
    ):
        raise ValueError(
            f"n_jobs must be None or a non-zero int (-1: all CPUs), got {n_jobs!r}."
        )
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= random_state < 2**32:
            raise ValueError(
                f"random_state must be between 0 and 2**32 - 1, got {random_state}."
            )
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))

    path = _cache_path(data_home, preset, image_size, seed, cfg)
    loaded = None
    if os.path.exists(path):
        try:
            loaded = _load_cache(path)
        except _CorruptCache as exc:
            warnings.warn(
                f"The cached model zoo {path!r} is corrupt ({exc}); rebuilding it.",
                RuntimeWarning,
                stacklevel=2,
            )
            with contextlib.suppress(OSError):
                os.remove(path)
    if loaded is None:
        if not build_if_missing:
            raise OSError(
                f"The model zoo (preset={preset!r}, image_size={image_size}, "
                f"random_state={seed}) is not cached in {os.path.dirname(path)!r}; "
                "call make_model_zoo with build_if_missing=True to build it."
            )
        n_jobs = max(1, min(effective_n_jobs(n_jobs), len(_MODELS)))
        images, labels, meta = _build(preset, cfg, image_size, seed, verbose, n_jobs)
        _save_cache(path, images, labels, meta)
    else:
        images, labels, meta = loaded

    if return_X_y:
        return images, labels
    return Bunch(
        images=images,
        labels=labels,
        sources=list(meta["sources"]),
        families=dict(meta["families"]),
        metadata=meta["metadata"],
        preset=meta["preset"],
        image_size=meta["image_size"],
        random_state=meta["random_state"],
        DESCR=_make_descr(meta),
    )
