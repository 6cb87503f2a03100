"""Tests of the model zoo: its cache (hit, corrupt, interrupted write), its
determinism, its input validation, and the generative models it trains.

A "tiny" preset (8x8 images, a few steps per model) keeps the default suite
fast; the real "small" preset build is marked slow.
"""

import copy
import glob
import os
import time

import numpy as np
import pytest
import torch

from skfingerprint.datasets import _zoo, clear_data_home, get_data_home, make_model_zoo
from skfingerprint.datasets._generative import _flow

N_TINY = 6


def _tiny_config():
    cfg = copy.deepcopy(_zoo._PRESETS["small"])
    cfg.update(
        image_size=8, n_samples=N_TINY, n_train=32, batch_size=4, width=4,
        vae_z_dim=4, gan_z_dim=4, flow_hidden=4, glow_steps_per_level=1,
        score_width=8, ddim_steps=2, langevin_steps_each=1,
    )
    cfg["steps"] = {name: 2 for name in cfg["steps"]}
    return cfg


@pytest.fixture
def tiny(monkeypatch, tmp_path, one_thread):
    """A 'tiny' preset and a private data home; returns the data home.

    The tiny networks run on one torch thread: on a busy machine, thread
    synchronisation would otherwise dominate their microsecond-sized ops.
    """
    monkeypatch.setitem(_zoo._PRESETS, "tiny", _tiny_config())
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
    n_sources = 1 + len(_zoo._MODELS)
    assert zoo.images.shape == (n_sources * N_TINY, 8, 8, 3)
    assert zoo.images.dtype == np.uint8
    assert zoo.labels.shape == (n_sources * N_TINY,)
    assert zoo.sources[0] == "real" and len(zoo.sources) == n_sources
    assert list(np.unique(zoo.labels, return_counts=True)[1]) == [N_TINY] * n_sources
    assert [str(s) for s in zoo.labels[::N_TINY]] == zoo.sources
    assert set(zoo.families) == set(zoo.sources)
    assert set(zoo.families.values()) == {"real", "vae", "gan", "flow", "score"}
    counts = {f: sum(v == f for v in zoo.families.values()) for f in ("vae", "gan", "flow", "score")}
    assert counts["vae"] >= 3 and counts["gan"] >= 4 and counts["flow"] >= 2 and counts["score"] >= 2
    assert len(_zoo._MODELS) >= 12
    for source in zoo.sources[1:]:
        meta = zoo.metadata[source]
        for key in ("family", "architecture", "loss", "sampler", "n_parameters",
                    "training_steps", "final_loss", "train_seconds", "sample_seconds"):
            assert key in meta, (source, key)
        assert meta["training_steps"] == 2 and meta["n_parameters"] > 0
        assert np.isfinite(meta["final_loss"])
    assert zoo.preset == "tiny" and zoo.image_size == 8 and zoo.random_state == 0
    assert "gan_wgangp_tconv" in zoo.DESCR
    X, y = make_model_zoo("tiny", random_state=0, return_X_y=True)
    np.testing.assert_array_equal(X, zoo.images)
    np.testing.assert_array_equal(y, zoo.labels)


def test_progress_bar_per_model(tiny, capsys):
    make_model_zoo("tiny", random_state=0, verbose=True)
    err = capsys.readouterr().err
    for spec in _zoo._MODELS:
        assert spec.name in err


# --------------------------------------------------------------------------
# cache: hit, corrupt, interrupted write
# --------------------------------------------------------------------------


def test_cache_hit(tiny, monkeypatch):
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    (path,) = _cache_files(tiny)
    assert os.path.basename(path).startswith("zoo-tiny-8px-seed0-")
    mtime = os.stat(path).st_mtime_ns
    monkeypatch.setattr(_zoo, "_build", _no_build)
    t0 = time.perf_counter()
    again = make_model_zoo("tiny", random_state=0)
    assert time.perf_counter() - t0 < 5
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
    arrays["images"] = arrays["images"].copy()
    arrays["images"][0, 0, 0, 0] ^= 1  # a valid file with altered pixels
    np.savez(path, **arrays)
    with pytest.warns(RuntimeWarning, match="checksum"):
        make_model_zoo("tiny", random_state=0, verbose=False)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_leaves_no_cache(tiny, monkeypatch, exc):
    real_write = _zoo._write_npz

    def interrupted(fileobj, arrays):
        fileobj.write(b"PK\x03\x04 half of a zip file")
        raise exc("interrupted while writing")

    monkeypatch.setattr(_zoo, "_write_npz", interrupted)
    with pytest.raises(exc, match="interrupted"):
        make_model_zoo("tiny", random_state=0, verbose=False)
    assert _cache_files(tiny) == []
    assert _leftovers(tiny) == []  # the temporary file is gone too

    monkeypatch.setattr(_zoo, "_write_npz", real_write)
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    assert len(_cache_files(tiny)) == 1 and _leftovers(tiny) == []
    monkeypatch.setattr(_zoo, "_build", _no_build)
    np.testing.assert_array_equal(make_model_zoo("tiny", random_state=0).images, zoo.images)


def test_stale_partial_file_is_ignored(tiny):
    folder = os.path.join(get_data_home(), "model_zoo")
    os.makedirs(folder)
    # what a killed process (no chance to clean up) leaves behind
    with open(os.path.join(folder, ".zoo-tiny-8px-seed0-junk.npz.x.part"), "wb") as f:
        f.write(b"PK\x03\x04")
    zoo = make_model_zoo("tiny", random_state=0, verbose=False)
    assert zoo.images.shape[0] == (1 + len(_zoo._MODELS)) * N_TINY


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
    assert parallel.sources == serial.sources
    err = capsys.readouterr().err  # the workers' progress reached this process
    assert all(spec.name in err for spec in _zoo._MODELS)


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
        (dict(preset="large"), "Unknown preset 'large'; choose one of 'small', 'default'"),
        (dict(image_size=4), "power of two between 8 and 128.*got 4"),
        (dict(image_size=12), "power of two.*got 12; use e.g. 16 or 32"),
        (dict(image_size=256), "power of two between 8 and 128"),
        (dict(image_size="32"), "image_size must be an int"),
        (dict(image_size=16.0), "image_size must be an int"),
        (dict(random_state=-1), "random_state must be between 0 and 2\\*\\*32 - 1"),
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
    t0 = time.perf_counter()
    zoo = make_model_zoo("small", random_state=0, verbose=False)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    make_model_zoo("small", random_state=0, build_if_missing=False)
    assert time.perf_counter() - t0 < 10
    assert zoo.images.shape == (13 * 256, 16, 16, 3)
    for source in zoo.sources:
        imgs = zoo.images[zoo.labels == source].astype(np.float64)
        assert imgs.std() > 5, source  # not constant
        assert imgs.std(axis=0).mean() > 5, source  # not one image repeated
    print(f"small preset built in {build:.0f} s")
