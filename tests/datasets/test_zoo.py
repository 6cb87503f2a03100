"""Tests of the model zoo: its cache (hit, corrupt, interrupted write, resumed
build, lock, read-only folder), its determinism, its input validation, its
lineage, and the generative models it trains.

A "tiny" preset (8x8 images, a few steps per model) keeps the default suite
fast; the real "small" preset build is marked slow.
"""

import copy
import glob
import os
import tempfile

import numpy as np
import pytest
import torch

from skfingerprint.datasets import clear_data_home, get_data_home, make_model_zoo
from skfingerprint.datasets._generative import _flow
from skfingerprint.datasets._zoo import _build, _cache, _registry

N_TINY = 6


def _tiny_config():
    cfg = copy.deepcopy(_registry.PRESETS["default"])
    cfg.update(
        image_size=8, n_samples=N_TINY, n_train=32, batch_size=4, width=4,
        vae_z_dim=4, gan_z_dim=4, flow_hidden=4, glow_steps_per_level=1,
        score_width=8, langevin_steps_each=1, ae_width=4, latent_width=8,
        sampling_steps={"ddim": 2, "ddpm": 2, "dpm_solver": 2, "euler_ancestral": 2},
    )
    cfg["steps"] = {name: 2 for name in cfg["steps"]}
    return cfg


def _tiny_sources():
    return [s.name for s in _registry.preset_sources(_tiny_config())]


@pytest.fixture
def tiny(monkeypatch, tmp_path, one_thread):
    """A 'tiny' preset and a private data home; returns the data home.

    The tiny networks run on one torch thread: on a busy machine, thread
    synchronisation would otherwise dominate their microsecond-sized ops.
    """
    monkeypatch.setitem(_registry.PRESETS, "tiny", _tiny_config())
    # in this process: starting worker processes costs more than the tiny build
    monkeypatch.setattr(_build, "default_n_jobs", lambda: 1)
    home = tmp_path / "data_home"
    monkeypatch.setenv("SKFINGERPRINT_DATA", str(home))
    return home


def _cache_files(home):
    return sorted(glob.glob(os.path.join(home, "model_zoo", "*.npz")))


def _leftovers(home):
    return sorted(glob.glob(os.path.join(home, "model_zoo", ".*")))


def _no_build(*args, **kwargs):
    raise AssertionError("the zoo was rebuilt although it is cached")


# --------------------------------------------------------------------------
# the Bunch
# --------------------------------------------------------------------------


def test_tiny_zoo_bunch(tiny):
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    n_sources = len(_tiny_sources())
    assert zoo.images.shape == (n_sources * N_TINY, 8, 8, 3)
    assert zoo.images.dtype == np.uint8
    assert zoo.labels.shape == (n_sources * N_TINY,)
    assert isinstance(zoo.sources, np.ndarray)
    assert zoo.sources[0] == "real" and zoo.sources.tolist() == _tiny_sources()
    assert list(np.unique(zoo.labels, return_counts=True)[1]) == [N_TINY] * n_sources
    assert [str(s) for s in zoo.labels[::N_TINY]] == zoo.sources.tolist()
    assert set(zoo.families) == set(zoo.sources)
    assert set(zoo.families.values()) == {"real", "vae", "gan", "flow", "score",
                                          "latent_diffusion", "autoencoder"}
    counts = {f: sum(v == f for v in zoo.families.values()) for f in ("vae", "gan", "flow", "score")}
    assert counts["vae"] >= 3 and counts["gan"] >= 4 and counts["flow"] >= 2 and counts["score"] >= 2
    # every source of the first zoo is still there
    assert set(_registry.V1_SOURCES) <= set(zoo.sources.tolist())
    assert set(zoo.lineage) == set(zoo.sources)
    assert all(isinstance(v, tuple) and v for v in zoo.lineage.values())
    for source in zoo.sources[1:]:
        meta = zoo.metadata[source]
        for key in ("family", "architecture", "loss", "sampler", "n_parameters",
                    "training_steps", "final_loss", "train_seconds", "sample_seconds"):
            assert key in meta, (source, key)
        assert meta["training_steps"] == 2 and meta["n_parameters"] > 0
        assert np.isfinite(meta["final_loss"])
        assert tuple(meta["lineage"]) == zoo.lineage[source]
    assert zoo.preset == "tiny" and zoo.image_size == 8 and zoo.random_state == 0
    assert zoo.sample_size == 8
    assert "gan_wgangp_tconv" in zoo.DESCR
    X, y = make_model_zoo("tiny", random_state=0, return_X_y=True)
    np.testing.assert_array_equal(X, zoo.images)
    np.testing.assert_array_equal(y, zoo.labels)


def test_one_progress_bar_per_build(tiny, capsys):
    make_model_zoo("tiny", random_state=0, verbose=True, n_jobs=1)
    err = capsys.readouterr().err
    assert "model zoo" in err
    total = sum(_tiny_config()["steps"].values())
    assert f"{total}/{total}" in err


# --------------------------------------------------------------------------
# cache: hit, corrupt, interrupted write
# --------------------------------------------------------------------------


def test_cache_hit(tiny, monkeypatch):
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    (path,) = _cache_files(tiny)
    assert os.path.basename(path).startswith("zoo-tiny-8px-seed0-")
    mtime = os.stat(path).st_mtime_ns
    monkeypatch.setattr(_build, "build", _no_build)
    again = make_model_zoo("tiny", random_state=0)
    np.testing.assert_array_equal(again.images, zoo.images)
    np.testing.assert_array_equal(again.labels, zoo.labels)
    assert again.metadata == zoo.metadata and again.DESCR == zoo.DESCR
    assert os.stat(path).st_mtime_ns == mtime
    # another seed or image size is another key
    with pytest.raises(OSError, match="build_if_missing=True"):
        make_model_zoo("tiny", random_state=1, build_if_missing=False)
    with pytest.raises(OSError, match="not cached"):
        make_model_zoo("tiny", image_size=16, random_state=0, build_if_missing=False)


def test_data_home_argument_overrides_env(tiny, tmp_path):
    other = tmp_path / "elsewhere"
    make_model_zoo("tiny", data_home=other, random_state=0, verbose=False)
    assert len(_cache_files(other)) == 1
    assert _cache_files(tiny) == []


def _flip_byte(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 3)


def _garbage(path):
    with open(path, "wb") as f:
        f.write(b"not a zip file at all")


@pytest.mark.parametrize("damage", [_flip_byte, _truncate, _garbage])
def test_corrupt_cache_is_rebuilt(tiny, damage):
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    (path,) = _cache_files(tiny)
    damage(path)
    with pytest.warns(RuntimeWarning, match="corrupt.*rebuilding"):
        rebuilt = make_model_zoo("tiny", random_state=0, verbose=False)
    np.testing.assert_array_equal(rebuilt.images, zoo.images)  # deterministic
    # the rebuilt cache is valid again: loads without a warning or a build
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = make_model_zoo("tiny", random_state=0, build_if_missing=False)
    np.testing.assert_array_equal(again.images, zoo.images)


def test_checksum_covers_the_content(tiny):
    make_model_zoo("tiny", random_state=0, verbose=False)
    (path,) = _cache_files(tiny)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    assert "images" in arrays
    arrays["images"] = arrays["images"].copy()
    arrays["images"][0, 0, 0, 0] ^= 1  # a valid file with altered pixels
    np.savez(path, **arrays)
    with pytest.warns(RuntimeWarning, match="checksum"):
        make_model_zoo("tiny", random_state=0, verbose=False)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_leaves_no_cache(tiny, monkeypatch, exc):
    real_write = _cache.write_npz

    def interrupted(fileobj, arrays):
        fileobj.write(b"PK\x03\x04 half of a zip file")
        raise exc("interrupted while writing")

    monkeypatch.setattr(_cache, "write_npz", interrupted)
    with pytest.raises(exc, match="interrupted"):
        make_model_zoo("tiny", random_state=0, verbose=False)
    assert _cache_files(tiny) == []
    assert _leftovers(tiny) == []  # the temporary file is gone too

    monkeypatch.setattr(_cache, "write_npz", real_write)
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    assert len(_cache_files(tiny)) == 1 and _leftovers(tiny) == []
    monkeypatch.setattr(_build, "build", _no_build)
    np.testing.assert_array_equal(make_model_zoo("tiny", random_state=0).images, zoo.images)


def test_stale_partial_file_is_ignored(tiny):
    folder = os.path.join(get_data_home(), "model_zoo")
    os.makedirs(folder)
    # what a killed process (no chance to clean up) leaves behind
    with open(os.path.join(folder, ".zoo-tiny-8px-seed0-junk.npz.x.part"), "wb") as f:
        f.write(b"PK\x03\x04")
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    assert zoo.images.shape[0] == len(_tiny_sources()) * N_TINY


# --------------------------------------------------------------------------
# randomness
# --------------------------------------------------------------------------


def test_deterministic_and_seed_dependent(tiny, tmp_path):
    a = make_model_zoo("tiny", random_state=3, data_home=tmp_path / "a", verbose=False)
    b = make_model_zoo("tiny", random_state=3, data_home=tmp_path / "b", verbose=False)
    c = make_model_zoo("tiny", random_state=4, data_home=tmp_path / "c", verbose=False)
    np.testing.assert_array_equal(a.images, b.images)
    for source in a.sources:
        assert not np.array_equal(a.images[a.labels == source], c.images[c.labels == source]), source


def test_n_jobs_does_not_change_the_images(tiny, tmp_path, capsys):
    serial = make_model_zoo("tiny", random_state=0, data_home=tmp_path / "a", verbose=False)
    n_threads = torch.get_num_threads()
    parallel = make_model_zoo("tiny", random_state=0, data_home=tmp_path / "b", n_jobs=2)
    assert torch.get_num_threads() == n_threads
    np.testing.assert_array_equal(parallel.images, serial.images)
    assert parallel.sources.tolist() == serial.sources.tolist()
    err = capsys.readouterr().err  # one bar, fed by the workers' results
    assert err.count("model zoo") >= 1


def test_global_random_states_untouched(tiny):
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch = torch.rand(3)
    expected_np = np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    make_model_zoo("tiny", random_state=0, verbose=False)
    torch.testing.assert_close(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_np)


def test_random_state_instance_draws_a_seed(tiny):
    zoo = make_model_zoo("tiny", random_state=np.random.RandomState(0), verbose=False)
    assert isinstance(zoo.random_state, int)
    assert len(_cache_files(tiny)) == 1


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(preset="large"), "'preset' parameter.*'small', 'default'; got 'large'"),
        (dict(image_size=4), "'image_size' parameter.*range \\[8, 128\\]"),
        (dict(image_size=12), "power of two.*got 12; use e.g. 16 or 32"),
        (dict(image_size=256), "'image_size' parameter.*range \\[8, 128\\]"),
        (dict(image_size="32"), "'image_size' parameter.*int"),
        (dict(image_size=16.0), "'image_size' parameter.*int"),
        (dict(random_state=-1), "'random_state' parameter"),
    ],
)
def test_bad_input(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_model_zoo(data_home=tmp_path, **kwargs)
    assert _cache_files(tmp_path) == []


# --------------------------------------------------------------------------
# data home
# --------------------------------------------------------------------------


def test_get_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SKFINGERPRINT_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert os.path.isdir(tmp_path / "from_env")
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")
    monkeypatch.delenv("SKFINGERPRINT_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home" / "skfingerprint_data")
    assert get_data_home("~/x") == str(tmp_path / "home" / "x")
    with pytest.raises(TypeError, match="data_home must be a str or a path-like"):
        get_data_home(3)


def test_clear_data_home(tiny):
    make_model_zoo("tiny", random_state=0, verbose=False)
    assert _cache_files(tiny)
    clear_data_home()
    assert not os.path.exists(tiny)


# --------------------------------------------------------------------------
# the generative models themselves
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [_flow.RealNVP, _flow.Glow])
def test_flows_are_invertible_with_exact_log_det(cls, one_thread):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = cls(8, hidden=8).double()
        with torch.no_grad():  # move off the zero initialisation
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
        x = torch.rand(3, 3, 8, 8, dtype=torch.float64) * 0.9 + 0.05
    model.encode(x)  # data-dependent ActNorm initialisation (Glow)
    (z1, z2), logdet = model.encode(x)
    assert z1.numel() + z2.numel() == x.numel()
    torch.testing.assert_close(model.decode(z1, z2), x)

    def flat(v):
        (a, b), _ = model.encode(v.view(1, 3, 8, 8))
        return torch.cat([a.flatten(), b.flatten()])

    jac = torch.autograd.functional.jacobian(flat, x[:1].flatten())
    torch.testing.assert_close(torch.linalg.slogdet(jac)[1], logdet[0])


@pytest.mark.slow
def test_small_preset_build(monkeypatch, tmp_path):
    """The real 'small' preset: every source gives finite, varied images."""
    monkeypatch.setenv("SKFINGERPRINT_DATA", str(tmp_path))
    zoo = make_model_zoo("small", random_state=0, verbose=False)
    monkeypatch.setattr(_build, "build", _no_build)
    again = make_model_zoo("small", random_state=0, build_if_missing=False)
    np.testing.assert_array_equal(again.images, zoo.images)
    n_sources = len(_registry.preset_sources(_registry.PRESETS["small"]))
    assert n_sources >= 20
    assert zoo.images.shape == (n_sources * 256, 16, 16, 3)
    for source in zoo.sources:
        imgs = zoo.images[zoo.labels == source].astype(np.float64)
        assert imgs.std() > 5, source  # not constant
        assert imgs.std(axis=0).mean() > 5, source  # not one image repeated
        # not saturated (unclipped pixel samplers gave 70-80 % of 0 or 255)
        assert np.mean((imgs == 0) | (imgs == 255)) < 0.3, source


# --------------------------------------------------------------------------
# zoo v2: shared components, lineage, sizes
# --------------------------------------------------------------------------


def test_shared_components_and_lineage(tiny):
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    meta, lin = zoo.metadata, zoo.lineage
    # one pixel U-Net, four schedulers: same job and weights, different samplers
    samplers = ["score_ddim", "score_ddpm", "score_dpm_solver", "score_euler_a"]
    assert {meta[s]["job"] for s in samplers} == {"pixel_unet"}
    assert len({meta[s]["sampler"] for s in samplers}) == 4
    assert len({lin[s][:2] for s in samplers}) == 1
    # two latent U-Nets and the round trip share the autoencoder (lineage prefix)
    latent = ["ae_roundtrip", "ldm_a_ddim", "ldm_a_dpm_solver", "ldm_b_ddim"]
    assert {lin[s][:2] for s in latent} == {("diffusion", "autoencoder_kl")}
    assert lin["ldm_a_dpm_solver"] == ("diffusion", "autoencoder_kl", "unet_a", "dpm_solver")
    assert meta["ldm_a_ddim"]["job"] != meta["ldm_b_ddim"]["job"]
    # fine-tuned siblings descend from their base GAN
    assert lin["gan_ns_tconv_ft_a"][:2] == lin["gan_ns_tconv"] == ("gan", "gan_ns_tconv")
    assert lin["gan_ns_tconv_ft_a"] != lin["gan_ns_tconv_ft_b"]
    # every new source gives distinct images
    for a, b in [("score_ddim", "score_euler_a"), ("ldm_a_ddim", "ldm_b_ddim"),
                 ("gan_ns_tconv_ft_a", "gan_ns_tconv_ft_b"), ("real", "ae_roundtrip")]:
        assert not np.array_equal(zoo.images[zoo.labels == a], zoo.images[zoo.labels == b])
    # the families stay the model classes
    assert zoo.families["ldm_b_ddim"] == "latent_diffusion"
    assert zoo.families["score_euler_a"] == "score"


def test_latent_models_use_the_autoencoder_decoder(tiny, monkeypatch):
    """The round trip and the latent U-Nets go through one decoder: decoding
    with the autoencoder rebuilt from its cached state gives the round trip."""
    from skfingerprint.datasets._zoo import _build as build_module

    cfg = _tiny_config()
    seen = []
    real_run = build_module.run_job

    def spy(job, sources, ctx, parent_state, progress=None):
        out = real_run(job, sources, ctx, parent_state, progress)
        seen.append((job.name, parent_state))
        return out

    monkeypatch.setattr(build_module, "run_job", spy)
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    states = dict(seen)
    assert states["latent_unet_a"] is not None
    assert states["latent_unet_a"] is states["latent_unet_b"]  # the same decoder weights
    ae = build_module._autoencoder_from_state(states["latent_unet_a"], cfg, 8)
    assert isinstance(ae.config.scaling_factor, float) and ae.config.scaling_factor > 0
    from skfingerprint.datasets._generative import _diffusion
    from skfingerprint.datasets._generative._common import from_signed_tensor, to_signed_tensor
    from skfingerprint.datasets._photos import random_crops

    crops = random_crops(N_TINY, 8, random_state=build_module.sub_seed(0, "ae_roundtrip/crops"))
    with torch.no_grad():
        z = _diffusion.encode_latents(ae, to_signed_tensor(crops))
        again = from_signed_tensor(_diffusion.decode_latents(ae, z))
    diff = np.abs(again.astype(int) - zoo.images[zoo.labels == "ae_roundtrip"].astype(int))
    assert diff.max() <= 1


def test_lineage_groups():
    from skfingerprint.datasets import lineage_groups

    lineage = {"real": ("real",), "a": ("diffusion", "ae", "unet_a", "ddim"),
               "b": ("diffusion", "ae", "unet_b", "ddim"), "c": ("diffusion", "pixel", "ddim"),
               "g": ("gan", "g")}
    assert lineage_groups(lineage, 1) == {"real": "real", "a": "diffusion", "b": "diffusion",
                                          "c": "diffusion", "g": "gan"}
    g2 = lineage_groups(lineage, 2)
    assert g2["a"] == g2["b"] == "diffusion/ae" != g2["c"]
    g3 = lineage_groups(lineage, 3)
    assert g3["a"] != g3["b"] and g3["real"] == "real" and g3["g"] == "gan/g"
    assert len(set(lineage_groups(lineage, 10).values())) == len(lineage)  # the leaves
    np.testing.assert_array_equal(lineage_groups(lineage, 2, ["a", "c", "a"], sep=":"),
                                  ["diffusion:ae", "diffusion:pixel", "diffusion:ae"])
    with pytest.raises(ValueError, match="no lineage"):
        lineage_groups(lineage, 1, ["a", "zzz"])
    with pytest.raises(ValueError, match="non-empty tuple of str"):
        lineage_groups({"x": ()}, 1)
    with pytest.raises(ValueError, match="non-empty tuple of str"):
        lineage_groups({"x": "diffusion"}, 1)
    with pytest.raises(ValueError, match="depth"):
        lineage_groups(lineage, 0)


def test_zoo_lineage_groups_of_the_labels(tiny):
    from skfingerprint.datasets import lineage_groups

    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    groups = lineage_groups(zoo.lineage, 2, zoo.labels)
    assert groups.shape == zoo.labels.shape
    assert set(groups[zoo.labels == "ldm_b_ddim"]) == {"diffusion/autoencoder_kl"}
    assert set(groups[zoo.labels == "real"]) == {"real"}


def test_sample_size_samples_the_fully_convolutional_sources(tiny):
    zoo = make_model_zoo("tiny", random_state=0, sample_size=24, verbose=False)
    assert zoo.images.shape[1:] == (24, 24, 3)
    assert zoo.sample_size == 24 and zoo.image_size == 8
    kept = set(zoo.sources.tolist())
    assert {"real", "score_ddim", "score_euler_a", "score_ncsn", "ae_roundtrip",
            "ldm_a_ddim", "ldm_b_ddim"} <= kept
    assert not kept & {"vae_plain", "gan_ns_tconv", "flow_glow", "gan_ns_tconv_ft_a"}
    assert len(_cache_files(tiny)) == 1
    with pytest.raises(ValueError, match="sample_size must be a multiple of 8"):
        make_model_zoo("tiny", sample_size=20)


def test_n_samples_sets_images_per_source_and_keys_the_cache(tiny):
    zoo = make_model_zoo("tiny", random_state=0, n_samples=3, verbose=False)
    counts = {s: int((zoo.labels == s).sum()) for s in zoo.sources}
    assert set(counts.values()) == {3}
    assert all(zoo.metadata[s]["n_images"] == 3 for s in zoo.sources)
    # the preset's own count is the same zoo as None (one cache), another count another
    default = make_model_zoo("tiny", random_state=0, verbose=False)
    assert (default.labels == "real").sum() == N_TINY
    same = make_model_zoo("tiny", random_state=0, n_samples=N_TINY, verbose=False)
    np.testing.assert_array_equal(same.images, default.images)
    assert len(_cache_files(tiny)) == 2
    with pytest.raises(ValueError, match="n_samples"):
        make_model_zoo("tiny", n_samples=0)


# --------------------------------------------------------------------------
# resumable, locked, read-only
# --------------------------------------------------------------------------


def test_interrupted_build_resumes_per_model(tiny, monkeypatch):
    from skfingerprint.datasets._zoo import _build as build_module

    real_run = build_module.run_job
    ran = []

    def crash_on_the_sixth(job, sources, ctx, parent_state, progress=None):
        if len(ran) == 5:
            ran.append(job.name)
            raise KeyboardInterrupt(f"interrupted during {job.name}")
        ran.append(job.name)
        return real_run(job, sources, ctx, parent_state, progress)

    monkeypatch.setattr(build_module, "run_job", crash_on_the_sixth)
    with pytest.raises(KeyboardInterrupt):
        make_model_zoo("tiny", random_state=0, verbose=False)
    assert _cache_files(tiny) == []
    *finished, crashed = ran
    assert len(finished) == 5
    ran.clear()
    monkeypatch.setattr(build_module, "run_job", lambda *a, **k: (ran.append(a[0].name),
                                                                   real_run(*a, **k))[1])
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    assert crashed in ran and not set(ran) & set(finished)  # finished models are kept
    assert len(ran) == len(_registry.preset_jobs(_tiny_config())) - 5
    assert len(_cache_files(tiny)) == 1
    assert not glob.glob(os.path.join(tiny, "model_zoo", "*-parts"))  # cleaned up
    fresh = make_model_zoo("tiny", random_state=0, verbose=False, data_home=tiny / "fresh")
    np.testing.assert_array_equal(zoo.images, fresh.images)  # same as an uninterrupted build


def test_read_only_data_home_refused_before_building(tiny, monkeypatch):
    folder = tiny / "model_zoo"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        monkeypatch.setattr(_build, "build", _no_build)
        with pytest.raises(PermissionError, match="not writable.*data_home"):
            make_model_zoo("tiny", random_state=0, verbose=False)
    finally:
        folder.chmod(0o755)


def test_unwritable_cache_folder_refused_before_building(tiny, monkeypatch):
    """The same check where the test runs as root (chmod does not stop root)."""
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_build, "build", _no_build)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="not writable.*data_home"):
        make_model_zoo("tiny", random_state=0, verbose=False)


def test_read_only_data_home_with_a_cache_loads(tiny):
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    folder = tiny / "model_zoo"
    folder.chmod(0o555)
    try:
        again = make_model_zoo("tiny", random_state=0, verbose=False)
    finally:
        folder.chmod(0o755)
    np.testing.assert_array_equal(again.images, zoo.images)


def test_query_never_deletes_a_corrupt_cache(tiny):
    make_model_zoo("tiny", random_state=0, verbose=False)
    (path,) = _cache_files(tiny)
    _truncate(path)
    size = os.path.getsize(path)
    with pytest.raises(OSError, match="corrupt.*left as it is"):
        make_model_zoo("tiny", random_state=0, build_if_missing=False)
    assert os.path.getsize(path) == size  # untouched


def test_cli_zoo_info_does_not_delete_a_corrupt_cache(tmp_path, capsys):
    from skfingerprint.cli import main
    from skfingerprint.datasets._zoo import _api

    key = _api._cache_key("small", _registry.PRESETS["small"], 16, 16, 0)
    path = _cache.cache_path(tmp_path, key)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"not a zip file at all")
    main(["zoo", "info", "--data-home", str(tmp_path)])
    assert open(path, "rb").read() == b"not a zip file at all"  # untouched
    assert "rebuilding" not in capsys.readouterr().err


def test_second_builder_waits_for_the_lock_and_loads(tiny, monkeypatch):
    import threading

    calls = []
    real_build = _build.build
    started = threading.Event()

    def slow_build(*args, **kwargs):
        calls.append(threading.current_thread().name)
        started.set()
        return real_build(*args, **kwargs)

    monkeypatch.setattr(_build, "build", slow_build)
    results = {}

    def worker(name):
        results[name] = make_model_zoo("tiny", random_state=0, verbose=False)

    first = threading.Thread(target=worker, args=("first",), name="first")
    first.start()
    assert started.wait(timeout=600)
    second = threading.Thread(target=worker, args=("second",), name="second")
    second.start()
    first.join()
    second.join()
    assert calls == ["first"]  # the second waited on the lock, then loaded
    np.testing.assert_array_equal(results["first"].images, results["second"].images)
