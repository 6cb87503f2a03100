"""Training and sampling the zoo's models: one job per trained network, in
this process or in worker processes, one progress bar per build, each
finished job cached so that an interrupted build resumes."""

from __future__ import annotations

import os
import time
import zlib

import numpy as np

from ..._threads import torch_threads
from .._photos import random_crops
from . import _cache
from ._describe import describe
from ._registry import JOBS_BY_NAME, REAL, ZOO_VERSION, preset_jobs

_SAMPLE_BATCH = 256
_DIFFUSION_SAMPLE_BATCH = 100


def sub_seed(seed, name):
    """A 32-bit seed for one part of the build, stable across registry edits."""
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return int(ss.generate_state(1)[0])


def _state_to_numpy(module):
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def _load_numpy_state(module, state):
    import torch

    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})


def _gan_model(params, cfg, image_size):
    from .._generative import _gan

    return _gan.GAN(image_size, z_dim=cfg["gan_z_dim"], width=cfg["width"],
                    upsample=params["upsample"], spectral_norm=params.get("spectral_norm", False),
                    batch_norm=params.get("batch_norm", False))


def _in_batches(fn, n, batch_size):
    out, done = [], 0
    while done < n:
        k = min(batch_size, n - done)
        out.append(fn(k))
        done += k
    return np.concatenate(out, axis=0)


def _train(job, ctx, parent_state, progress):
    """Train one job's network; return (model, training result, state to keep)."""
    from .._generative._common import to_signed_tensor

    cfg, size = ctx["cfg"], ctx["image_size"]
    p, steps, bs = job.params, cfg["steps"][job.name], cfg["batch_size"]
    train = ctx["train_images"]
    if job.kind == "vae":
        from .._generative import _vae

        model = _vae.VAE(size, z_dim=cfg["vae_z_dim"], width=cfg["width"], upsample=p["upsample"])
        return model, _vae.train_vae(model, train, n_steps=steps, batch_size=bs,
                                     beta=p["beta"], progress=progress), None
    if job.kind in ("gan", "gan_finetune"):
        from .._generative import _gan

        base = JOBS_BY_NAME[job.parent].params if job.kind == "gan_finetune" else p
        model = _gan_model(base, cfg, size)
        kw = {k: base[k] for k in ("n_critic", "lr_g", "lr_d", "betas") if k in base}
        if job.kind == "gan_finetune":
            _load_numpy_state(model, parent_state)
            kw.update(lr_g=cfg["finetune_lr"], lr_d=cfg["finetune_lr"])
            train = random_crops(cfg["n_train"] // 2, size, photos=p["photos"],
                                 random_state=sub_seed(ctx["seed"], job.name + "/data"))
        res = _gan.train_gan(model, train, loss=base["loss"], n_steps=steps, batch_size=bs,
                             progress=progress, **kw)
        keep = _state_to_numpy(model) if job.kind == "gan" else None
        return model, res, keep
    if job.kind == "flow":
        from .._generative import _flow

        if p["kind"] == "realnvp":
            model = _flow.RealNVP(size, hidden=cfg["flow_hidden"])
        else:
            model = _flow.Glow(size, hidden=cfg["flow_hidden"],
                               n_steps_per_level=cfg["glow_steps_per_level"])
        return model, _flow.train_flow(model, train, n_steps=steps, batch_size=bs,
                                       progress=progress), None

    from .._generative import _diffusion as D

    x = to_signed_tensor(train)
    if job.kind == "ddpm":
        model = D.make_unet(width=cfg["score_width"], sample_size=size)
        return model, D.train_noise_prediction(model, x, n_steps=steps, batch_size=bs,
                                               lr=cfg["score_lr"], progress=progress), None
    if job.kind == "ncsn":
        model = D.NCSN(D.make_unet(width=cfg["score_width"], sample_size=size),
                       n_sigmas=cfg["ncsn_n_sigmas"], sigma_min=cfg["ncsn_sigma_min"])
        return model, D.train_ncsn(model, (x + 1.0) / 2.0, n_steps=steps, batch_size=bs,
                                   lr=cfg["score_lr"], progress=progress), None
    if job.kind == "autoencoder_kl":
        model = D.make_autoencoder(width=cfg["ae_width"], sample_size=size)
        res = D.train_autoencoder(model, x, n_steps=steps, batch_size=bs, lr=cfg["ae_lr"],
                                  kl_weight=cfg["ae_kl_weight"], progress=progress)
        state = _state_to_numpy(model)
        state["__scaling_factor__"] = np.array(model.config.scaling_factor)
        return model, res, state
    if job.kind == "latent_unet":
        ae = _autoencoder_from_state(parent_state, cfg, size)
        z = D.encode_latents(ae, x)
        model = D.make_unet(channels=z.shape[1], width=cfg["latent_width"],
                            sample_size=z.shape[-1])
        res = D.train_noise_prediction(model, z, n_steps=steps, batch_size=bs,
                                       lr=cfg["score_lr"], progress=progress)
        model.autoencoder = ae  # for sampling
        return model, res, None
    raise AssertionError(job.kind)


def _autoencoder_from_state(state, cfg, size):
    from .._generative import _diffusion as D

    state = dict(state)
    scale = float(state.pop("__scaling_factor__"))
    ae = D.make_autoencoder(width=cfg["ae_width"], sample_size=size)
    _load_numpy_state(ae, state)
    ae.register_to_config(scaling_factor=scale)
    return ae.eval()


def _sample(job, source, model, ctx, n, size):
    """``n`` uint8 images ``(n, size, size, 3)`` of one source of a trained job."""
    import torch

    from .._generative._common import Progress, from_signed_tensor, to_signed_tensor

    cfg, none = ctx["cfg"], Progress()
    if job.kind == "vae":
        from .._generative import _vae

        return _vae.sample_vae(model, n, progress=none)
    if job.kind in ("gan", "gan_finetune"):
        from .._generative import _gan

        return _gan.sample_gan(model, n, progress=none)
    if job.kind == "flow":
        from .._generative import _flow

        return _flow.sample_flow(model, n, temperature=job.params["temperature"], progress=none)

    from .._generative import _diffusion as D

    if job.kind == "ncsn":
        def draw(k):
            x = D.sample_langevin(model, (k, 3, size, size),
                                  n_steps_each=cfg["langevin_steps_each"],
                                  step_lr=cfg["langevin_step_lr"])
            return from_signed_tensor(x * 2.0 - 1.0)
    elif job.kind == "autoencoder_kl":
        crops = random_crops(n, size, random_state=sub_seed(ctx["seed"], source.name + "/crops"))
        pos = [0]

        def draw(k):
            i, pos[0] = pos[0], pos[0] + k
            z = D.encode_latents(model, to_signed_tensor(crops[i:i + k]))
            return from_signed_tensor(D.decode_latents(model, z))
    else:
        name = source.sampler["scheduler"]
        sched = D.make_scheduler(name, D.make_train_scheduler())
        n_steps = cfg["sampling_steps"][name]
        if job.kind == "ddpm":
            def draw(k):
                return from_signed_tensor(
                    D.sample_with_scheduler(model, sched, (k, 3, size, size), n_steps,
                                            clip_denoised=True))
        else:
            lat = size // 4

            def draw(k):
                z = D.sample_with_scheduler(model, sched, (k, model.config.in_channels, lat, lat),
                                            n_steps)
                return from_signed_tensor(D.decode_latents(model.autoencoder, z))
    with torch.no_grad():
        return _in_batches(draw, n, _DIFFUSION_SAMPLE_BATCH)


def run_job(job, sources, ctx, parent_state, progress=None):
    """Train one job and sample its sources, with its own seeds; the caller's
    torch RNG is left as it was.  Returns a dict with ``images`` and
    ``metadata`` (per source) and ``state`` (for the jobs that need it)."""
    import torch

    from .._generative._common import Progress, n_parameters

    progress = progress or Progress()
    cfg, size, n = ctx["cfg"], ctx["image_size"], ctx["n_samples"]
    out = {"images": {}, "metadata": {}, "state": None}
    # One torch thread per model, in this process or in a worker: the images
    # then depend on the seed only (not on the number of cores, which changes
    # the order of floating-point reductions); parallelism comes from
    # training several models at once (n_jobs).
    with torch_threads(1), torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(sub_seed(ctx["seed"], job.name))
        t0 = time.perf_counter()
        model, res, out["state"] = _train(job, ctx, parent_state, progress)
        model.eval()
        train_seconds = time.perf_counter() - t0
        for source in sources:
            t1 = time.perf_counter()
            torch.manual_seed(sub_seed(ctx["seed"], source.name + "/sample"))
            out["images"][source.name] = _sample(job, source, model, ctx, n, ctx["sample_size"])
            meta = {
                "family": source.family,
                "lineage": list(source.lineage),
                "job": job.name,
                **describe(job, source, cfg, size),
                "n_parameters": n_parameters(model),
                "training_steps": cfg["steps"][job.name],
                "batch_size": cfg["batch_size"],
                "final_loss": res["final_loss"],
                "loss_name": res["loss_name"],
                "train_seconds": round(train_seconds, 2),
                "sample_seconds": round(time.perf_counter() - t1, 2),
                "n_images": int(n),
            }
            if "final_generator_loss" in res:
                meta["final_generator_loss"] = res["final_generator_loss"]
            out["metadata"][source.name] = meta
    return out


def _relative_cost(job, sources, ctx):
    """Rough cost of a job relative to one GAN step, for scheduling."""
    cfg = ctx["cfg"]
    per_step = {"vae": 1.0, "gan": 1.0, "gan_finetune": 1.0, "flow": 1.0, "ddpm": 2.0,
                "ncsn": 2.0, "autoencoder_kl": 3.0, "latent_unet": 0.5}[job.kind]
    if job.params.get("loss") == "wgan-gp":
        per_step = 4.0
    sampling = {"ddpm": 6.0, "ncsn": 80.0, "latent_unet": 1.0}.get(job.kind, 0.0)
    scale = (ctx["sample_size"] / ctx["image_size"]) ** 2
    return (cfg["steps"][job.name] * per_step
            + sampling * len(sources) * ctx["n_samples"] / 100 * scale)


# --------------------------------------------------------------------------
# every job of a preset, resumable
# --------------------------------------------------------------------------


def _part_path(parts, job):
    return os.path.join(parts, f"{job.name}.npz")


def _save_part(parts, job, out):
    arrays = {f"images/{k}": v for k, v in out["images"].items()}
    if out["state"] is not None:
        arrays.update({f"state/{k}": np.asarray(v) for k, v in out["state"].items()})
    _cache.save(_part_path(parts, job), arrays, {"metadata": out["metadata"]})


def _load_part(parts, job, sources):
    path = _part_path(parts, job)
    if not os.path.exists(path):
        return None
    try:
        arrays, meta = _cache.load(path)
    except _cache.CorruptCache:
        return None  # rebuilt (and overwritten)
    images = {k[len("images/"):]: v for k, v in arrays.items() if k.startswith("images/")}
    if set(images) != {s.name for s in sources}:
        return None
    state = {k[len("state/"):]: v for k, v in arrays.items() if k.startswith("state/")}
    return {"images": images, "metadata": meta["metadata"], "state": state or None}


def default_n_jobs():
    """The cores this process may use."""
    from ..._validation import available_cpus

    return available_cpus()


def train_all(jobs, ctx, *, parts, verbose, n_jobs):
    """Run every job (parents first); return {job name: output}.

    Finished jobs are written to ``parts`` at once and loaded from there by
    a later call (after an interruption).  One progress bar counts the
    training steps of the whole build.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from .._generative._common import Progress

    cfg = ctx["cfg"]
    done = {}
    for job, sources in jobs:
        part = _load_part(parts, job, sources)
        if part is not None:
            done[job.name] = part
    total = sum(cfg["steps"][j.name] for j, _ in jobs)
    finished = sum(cfg["steps"][name] for name in done)
    with tqdm(total=total, initial=finished, desc="model zoo", unit="step",
              disable=not verbose, dynamic_ncols=True) as bar:
        while len(done) < len(jobs):
            ready = [(j, s) for j, s in jobs if j.name not in done
                     and (j.parent is None or j.parent in done)]
            if not ready:
                raise AssertionError("a job's parent is not in the preset")
            # the longest jobs first, so that the last one does not run alone
            ready.sort(key=lambda js: -_relative_cost(js[0], js[1], ctx))

            def parent_state(job):
                return done[job.parent]["state"] if job.parent else None

            if n_jobs == 1:
                results = (
                    (job.name, run_job(job, srcs, ctx, parent_state(job), Progress(bar)))
                    for job, srcs in ready
                )
            else:
                results = Parallel(n_jobs=min(n_jobs, len(ready)),
                                   return_as="generator_unordered")(
                    delayed(_named_run)(job, srcs, ctx, parent_state(job)) for job, srcs in ready
                )
            for name, out in results:
                job = JOBS_BY_NAME[name]
                _save_part(parts, job, out)
                done[name] = out
                if n_jobs != 1:
                    bar.update(cfg["steps"][name])
                bar.set_postfix_str(name, refresh=True)
    return done


def _named_run(job, sources, ctx, parent_state):
    return job.name, run_job(job, sources, ctx, parent_state)


def build(preset, cfg, image_size, seed, verbose, n_jobs, *, sample_size, parts):
    """Build a zoo: ``(images, labels, meta)``."""
    import torch

    n = cfg["n_samples"]
    jobs = preset_jobs(cfg, fully_convolutional_only=sample_size != image_size)
    ctx = {
        "cfg": cfg, "image_size": image_size, "sample_size": sample_size, "n_samples": n,
        "seed": seed,
        "train_images": random_crops(cfg["n_train"], image_size,
                                     random_state=sub_seed(seed, "__train__")),
    }
    results = train_all(jobs, ctx, parts=parts, verbose=verbose, n_jobs=n_jobs)
    real = random_crops(n, sample_size, random_state=sub_seed(seed, "__real__"))
    metadata = {
        "real": {
            "family": "real",
            "lineage": list(REAL.lineage),
            "architecture": "none: held-back photo crops",
            "loss": "",
            "sampler": ("random anti-aliased crops (integer area downscaling, random "
                        "window, random left-right flip) of the photographs shipped with "
                        "scikit-image and scikit-learn, drawn with a seed separate from "
                        "the training crops"),
            "n_images": int(n),
        }
    }
    images, sources = [real], [REAL]
    for job, srcs in jobs:
        for s in srcs:
            images.append(results[job.name]["images"][s.name])
            metadata[s.name] = results[job.name]["metadata"][s.name]
            sources.append(s)
    names = [s.name for s in sources]
    meta = {
        "version": ZOO_VERSION,
        "preset": preset,
        "image_size": int(image_size),
        "sample_size": int(sample_size),
        "random_state": int(seed),
        "n_train": int(cfg["n_train"]),
        "sources": names,
        "families": {s.name: s.family for s in sources},
        "lineage": {s.name: list(s.lineage) for s in sources},
        "metadata": metadata,
        "torch_version": torch.__version__,
        "n_jobs": int(n_jobs),
    }
    return np.concatenate(images, axis=0), np.repeat(np.array(names), n), meta
