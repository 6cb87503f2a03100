"""Human-readable descriptions of the zoo's models and of a build."""

from __future__ import annotations

import numpy as np

_UP = {"tconv": "transposed-conv (k4, s2)", "resize": "nearest resize + 3x3 conv"}


def describe(job, source, cfg, image_size):
    """Architecture, loss and sampler of one source (a dict of str)."""
    p, w = job.params, cfg["width"]
    n_up = int(np.log2(image_size)) - 2
    if job.kind == "vae":
        return {
            "architecture": (
                f"VAE: encoder {n_up} stride-2 convs + linear; decoder linear -> 4x4, "
                f"{n_up} {_UP[p['upsample']]} upsamplings with BatchNorm/ReLU, 3x3 conv to RGB; "
                f"width {w}, z_dim {cfg['vae_z_dim']}"
            ),
            "loss": f"negative ELBO, Gaussian likelihood (sigma=0.1), beta={p['beta']:g}",
            "sampler": "decoder mean at z ~ N(0, I)",
        }
    if job.kind in ("gan", "gan_finetune"):
        if job.kind == "gan_finetune":
            from ._registry import JOBS_BY_NAME

            base = describe(JOBS_BY_NAME[job.parent], source, cfg, image_size)
            return {
                "architecture": f"{job.parent} fine-tuned: {base['architecture']}",
                "loss": (f"{base['loss']}; then {cfg['steps'][job.name]} fine-tuning steps "
                         f"(Adam lr={cfg['finetune_lr']:g}) on crops of photos {list(p['photos'])} only"),
                "sampler": base["sampler"],
            }
        loss = {"ns": "non-saturating", "ls": "least-squares (LSGAN)",
                "wgan-gp": f"WGAN-GP (lambda=10, {p.get('n_critic', 1)} critic steps per G step)",
                "hinge": "hinge"}[p["loss"]]
        d = ("spectrally normalised " if p.get("spectral_norm")
             else "BatchNorm " if p.get("batch_norm") else "")
        return {
            "architecture": (
                f"GAN: DCGAN generator linear -> 4x4, {n_up} {_UP[p['upsample']]} upsamplings "
                f"with BatchNorm/ReLU, 3x3 conv, tanh; {d}discriminator of {n_up} stride-2 "
                f"convs + linear; width {w}, z_dim {cfg['gan_z_dim']}"
            ),
            "loss": f"{loss} GAN loss, Adam lr_g={p.get('lr_g', 2e-4):g} lr_d={p.get('lr_d', 2e-4):g} "
                    f"betas={tuple(p.get('betas', (0.5, 0.999)))}",
            "sampler": "generator at z ~ N(0, I) (BatchNorm in inference mode)",
        }
    if job.kind == "flow":
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
    sw, steps = cfg["score_width"], cfg["sampling_steps"]
    sched = {"ddim": "DDIMScheduler (eta=0)", "ddpm": "DDPMScheduler (ancestral)",
             "dpm_solver": "DPMSolverMultistepScheduler (DPM-Solver++, order 2)",
             "euler_ancestral": "EulerAncestralDiscreteScheduler (Euler a)"}
    unet = ("diffusers UNet2DModel (2 resolutions, 1 residual block each, no attention, "
            "width {w})")
    schedule = "1000 steps, linear betas 1e-4..0.02 (DDPMScheduler), EMA weights"
    if job.kind == "ddpm":
        s = source.sampler["scheduler"]
        return {"architecture": f"DDPM: {unet.format(w=sw)}, {schedule}",
                "loss": "noise-prediction MSE",
                "sampler": f"{sched[s]}, {steps[s]} steps"}
    if job.kind == "ncsn":
        return {"architecture": f"NCSN: {unet.format(w=sw)} conditioned on -100 log(sigma), "
                                f"{cfg['ncsn_n_sigmas']} geometric noise levels "
                                f"1.0..{cfg['ncsn_sigma_min']:g}, output / sigma, EMA weights",
                "loss": "denoising score matching (sigma^2-weighted)",
                "sampler": f"annealed Langevin dynamics, {cfg['langevin_steps_each']} steps per "
                           f"level, step_lr={cfg['langevin_step_lr']:g}, final denoising step"}
    aw = cfg["ae_width"]
    ae = (f"diffusers AutoencoderKL (3 resolutions, widths {aw}/{2 * aw}/{2 * aw}, 4x "
          f"downsampling, 4 latent channels, no attention)")
    if job.kind == "autoencoder_kl":
        return {"architecture": ae,
                "loss": f"L1 + MSE reconstruction + {cfg['ae_kl_weight']:g} x KL per dimension",
                "sampler": "round trip: held-back real crops (their own seed) encoded "
                           "(posterior mean) and decoded"}
    s = source.sampler["scheduler"]
    return {"architecture": (f"latent diffusion: {unet.format(w=cfg['latent_width'])} on the "
                             f"scaled latents of the shared autoencoder_kl ({ae}), {schedule}"),
            "loss": "noise-prediction MSE on latents",
            "sampler": f"{sched[s]}, {steps[s]} steps, then the shared decoder"}


def make_descr(meta):
    n_img = meta["metadata"]["real"]["n_images"]
    size = meta.get("sample_size", meta["image_size"])
    lines = [
        ".. _model_zoo:",
        "",
        "Model zoo of generative models",
        "------------------------------",
        "",
        f"Preset {meta['preset']!r}, {size}x{size} RGB images"
        + (f" (networks trained at {meta['image_size']}x{meta['image_size']})"
           if size != meta["image_size"] else "")
        + f", random_state={meta['random_state']}, {len(meta['sources'])} sources x {n_img} images.",
        "",
        "Small generative models (VAEs, GANs and their fine-tunes, normalizing flows, "
        "pixel-space diffusion sampled by several schedulers, latent diffusion with a "
        "shared autoencoder), each really trained with its own loss on the same "
        f"{meta['n_train']} crops of the photographs that ship with scikit-image and "
        "scikit-learn (one fixed preprocessing: anti-aliased integer downscaling, "
        "random crop, random flip) and sampled with its own sampler.  The 'real' "
        "source holds crops of the same photographs drawn with a separate seed.  "
        "Sample quality is modest; the point is the artifacts each architecture, "
        "loss, sampler and shared component leaves.  Built on CPU with torch "
        f"{meta['torch_version']}, one thread per model, {meta['n_jobs']} model(s) at a time.",
        "",
        "======================  ================  ========  ==============  =======",
        "source                  family            steps     final loss      seconds",
        "======================  ================  ========  ==============  =======",
    ]
    for s in meta["sources"]:
        m = meta["metadata"][s]
        steps = str(m.get("training_steps", "-"))
        loss = f"{m['final_loss']:.4g}" if "final_loss" in m else "-"
        secs = (f"{m['train_seconds'] + m['sample_seconds']:.0f}"
                if "train_seconds" in m else "-")
        lines.append(f"{s:<22s}  {m['family']:<16s}  {steps:<8s}  {loss:<14s}  {secs}")
    lines += ["======================  ================  ========  ==============  =======", ""]
    for s in meta["sources"]:
        m = meta["metadata"][s]
        lines.append(f"- {s} ({' > '.join(meta['lineage'][s])}): {m['architecture']}. "
                     f"Loss: {m['loss'] or '-'}. Sampler: {m['sampler']}.")
    return "\n".join(lines) + "\n"
