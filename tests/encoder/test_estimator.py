import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestCentroid
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

from skfingerprint import SetFingerprintEncoder

FAST = dict(max_epochs=4, random_state=0)


def test_fit_transform_shapes_and_attributes(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(embedding_dim=8, **FAST).fit(X, y)
    Z = enc.transform(X)
    assert Z.shape == (len(X), 8) and Z.dtype == np.float32
    assert list(enc.classes_) == sorted(set(y))
    assert enc.fingerprints_.shape == (4, 8)
    np.testing.assert_allclose(enc.fingerprints_[1], Z[y == enc.classes_[1]].mean(0),
                               rtol=1e-5, atol=1e-6)
    assert enc.device_ == "cpu"
    assert len(enc.net_.history) == 4
    names = enc.get_feature_names_out()
    assert names[0] == "setfingerprintencoder0" and len(names) == 8


def test_training_lowers_the_loss_and_separates_sources(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(max_epochs=12, random_state=0).fit(X[::2], y[::2])
    losses = enc.net_.history[:, "train_loss"]
    assert losses[-1] < 0.5 * losses[0]
    acc = NearestCentroid().fit(enc.transform(X[::2]), y[::2]).score(
        enc.transform(X[1::2]), y[1::2])
    assert acc >= 0.8  # 4 sources: chance is 0.25


def test_scaled_output(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(**FAST).fit(X, y)
    Z = enc.transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-4)
    assert np.sqrt(np.mean(Z ** 2)) == pytest.approx(1.0, rel=1e-3)
    raw = SetFingerprintEncoder(scale_output=False, **FAST).fit(X, y).transform(X)
    # same geometry up to one factor and a shift
    d_scaled = np.linalg.norm(Z[0] - Z[1]) / np.linalg.norm(Z[0] - Z[2])
    d_raw = np.linalg.norm(raw[0] - raw[1]) / np.linalg.norm(raw[0] - raw[2])
    assert d_scaled == pytest.approx(d_raw, rel=1e-3)


def test_deterministic_with_random_state_and_global_rng_untouched(small_bags):
    X, y = small_bags
    torch.manual_seed(123)
    before = torch.get_rng_state()
    np_before = np.random.get_state()[1].copy()
    Z1 = SetFingerprintEncoder(**FAST).fit_transform(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)
    Z2 = SetFingerprintEncoder(**FAST).fit_transform(X, y)
    np.testing.assert_array_equal(Z1, Z2)
    Z3 = SetFingerprintEncoder(max_epochs=4, random_state=1).fit_transform(X, y)
    assert not np.allclose(Z1, Z3)


def test_permutation_invariance_within_a_bag(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(**FAST).fit(X, y)
    perm = np.random.RandomState(0).permutation(X.shape[1])
    np.testing.assert_allclose(enc.transform(X[:, perm]), enc.transform(X),
                               rtol=1e-4, atol=1e-5)


def test_bag_size_one_is_dsf_minus(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(bag_size=1, **FAST).fit(X, y)
    Z = enc.transform(X)
    # transform uses the first image of each bag only
    np.testing.assert_allclose(Z, enc.transform(X[:, :1]), rtol=1e-5, atol=1e-6)


def test_bag_size_subsets_and_pooled_bags(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(bag_size=4, n_bags_per_model=10, **FAST).fit(X, y)
    Z = enc.transform(X)
    np.testing.assert_allclose(Z, enc.transform(X[:, :4]), rtol=1e-5, atol=1e-6)
    # bags larger than any given bag can be drawn from the pooled images
    SetFingerprintEncoder(bag_size=12, n_bags_per_model=4, **FAST).fit(X, y)


def test_sum_pooling_and_grayscale(small_bags):
    X, y = small_bags
    gray = X[..., 0]
    enc = SetFingerprintEncoder(pooling="sum", **FAST).fit(gray, y)
    assert enc.transform(gray).shape == (len(X), 32)
    with pytest.raises(ValueError, match="channel"):
        enc.transform(X)


@pytest.mark.parametrize("size", [1, 5, 33])
def test_any_image_size(size):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(8, 3, size, size, 3)).astype(np.uint8)
    y = np.repeat(["a", "b"], 4)
    Z = SetFingerprintEncoder(max_epochs=1, random_state=0).fit_transform(X, y)
    assert Z.shape == (8, 32) and np.isfinite(Z).all()


@pytest.mark.slow
def test_256_pixel_images_and_large_bags_in_chunks():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(4, 4, 256, 256, 3)).astype(np.uint8)
    y = np.array(["a", "a", "b", "b"])
    enc = SetFingerprintEncoder(max_epochs=1, chunk_size=3, random_state=0).fit(X, y)
    assert enc.transform(X).shape == (4, 32)


def test_chunked_encoding_matches_unchunked(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(**FAST).fit(X, y)
    small = clone(enc).set_params(chunk_size=5)
    small.__setstate__(enc.__getstate__())
    small.net_.module_.chunk_size = 5
    np.testing.assert_allclose(small.transform(X), enc.transform(X), rtol=1e-4,
                               atol=1e-5)


def test_clone_pickle_joblib_round_trip(small_bags, tmp_path):
    X, y = small_bags
    enc = SetFingerprintEncoder(**FAST)
    assert clone(enc).get_params() == enc.get_params()
    enc.fit(X, y)
    Z = enc.transform(X)
    again = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(again.transform(X), Z)
    joblib.dump(enc, tmp_path / "enc.joblib")
    loaded = joblib.load(tmp_path / "enc.joblib")
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(loaded.fingerprints_, enc.fingerprints_)
    assert len(loaded.net_.history) == len(enc.net_.history)
    # the pickled state holds weights as plain arrays, not torch objects
    state = enc.__getstate__()
    assert "net_" not in state
    assert all(isinstance(v, np.ndarray) for v in state["_net_state"]["weights"].values())


def test_incompatible_state_version_is_refused(small_bags):
    X, y = small_bags
    state = SetFingerprintEncoder(**FAST).fit(X, y).__getstate__()
    state["_net_state"]["version"] = 999
    with pytest.raises(ValueError, match="version"):
        SetFingerprintEncoder().__setstate__(state)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(embedding_dim=0), "embedding_dim"),
        (dict(pooling="max"), "pooling"),
        (dict(bag_size=0), "bag_size"),
        (dict(lr=-1.0), "lr"),
        (dict(channels=()), "channels"),
        (dict(device="tpu9"), "device"),
    ],
)
def test_bad_parameters(small_bags, params, match):
    X, y = small_bags
    with pytest.raises(ValueError, match=match):
        SetFingerprintEncoder(**params).fit(X, y)


def test_bad_fit_input(small_bags):
    X, y = small_bags
    with pytest.raises(ValueError, match="1 class"):
        SetFingerprintEncoder(**FAST).fit(X, np.full(len(X), "a"))
    with pytest.raises(ValueError, match="larger than the given bags"):
        SetFingerprintEncoder(bag_size=50, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="one label per bag"):
        SetFingerprintEncoder(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y"):
        SetFingerprintEncoder(**FAST).fit(X, None)


def test_unfitted_transform_raises(small_bags):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SetFingerprintEncoder().transform(small_bags[0])


def test_user_snippet_pipeline_mlp_cross_val_10(attribution_bags):
    """The user's snippet as written: Pipeline + MLPClassifier() + cv=10."""
    X, y, _ = attribution_bags
    pipe = Pipeline([("fp", SetFingerprintEncoder(max_epochs=6, random_state=0)),
                     ("clf", MLPClassifier(random_state=0))])
    scores = cross_val_score(pipe, X, y, cv=10)
    assert scores.shape == (10,)
    assert scores.mean() >= 0.85  # 8 sources: chance is 0.125


def test_grid_search_over_bag_size(small_bags):
    X, y = small_bags
    pipe = Pipeline([("fp", SetFingerprintEncoder(max_epochs=3, random_state=0)),
                     ("clf", NearestCentroid())])
    grid = GridSearchCV(pipe, {"fp__bag_size": [1, 8]},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0))
    grid.fit(X, y)
    means = grid.cv_results_["mean_test_score"]
    assert means.shape == (2,)
    assert grid.best_params_["fp__bag_size"] == 8  # bags beat single images
    assert means[1] > means[0]


def test_set_output_pandas(small_bags):
    pd = pytest.importorskip("pandas")
    X, y = small_bags
    enc = SetFingerprintEncoder(**FAST).set_output(transform="pandas").fit(X, y)
    out = enc.transform(X)
    assert isinstance(out, pd.DataFrame) and out.shape == (len(X), 32)


def test_normalised_residual_front_end_ignores_brightness_and_contrast(small_bags):
    X, y = small_bags
    X = X.astype(np.float32) / 255.0  # uint8 -> [0, 1], room for the copy below
    enc = SetFingerprintEncoder(front_end="normalised_residual", max_epochs=2,
                                random_state=0).fit(X, y)
    assert enc._module.config["front_end"] == "normalised_residual"
    # a darker, flatter copy of every image: the same normalised residual
    np.testing.assert_allclose(enc.transform(0.5 * X + 0.25), enc.transform(X),
                               rtol=1e-3, atol=1e-3)
    # the other front end sees the image itself, so the copy moves it
    other = SetFingerprintEncoder(front_end="image_and_residual", max_epochs=2,
                                  random_state=0).fit(X, y)
    assert not np.allclose(other.transform(0.5 * X + 0.25), other.transform(X),
                           rtol=1e-3, atol=1e-3)


def test_auto_front_end_is_the_normalised_residual_for_images_only(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y)
    assert enc.front_end == "auto"  # the parameter is left as given
    assert enc._module.config["front_end"] == "normalised_residual"
    # scalar items (1x1 images) have no residual: the image and residual front end
    scalars = np.random.RandomState(0).rand(8, 5)
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(scalars, [0] * 4 + [1] * 4)
    assert enc._module.config["front_end"] == "image_and_residual"


def test_auto_bags_regroup_each_sources_images_every_epoch(small_bags):
    X, y = small_bags
    fits = {n: SetFingerprintEncoder(n_bags_per_model=n, **FAST).fit(X, y)
            for n in ("auto", None)}
    # the same number of optimisation steps per epoch as the given bags ...
    steps = {n: len(enc.net_.history[-1, "batches"]) for n, enc in fits.items()}
    assert steps["auto"] == steps[None]
    # ... but other bags: another network
    assert not np.allclose(fits["auto"].transform(X), fits[None].transform(X))
    again = SetFingerprintEncoder(**FAST).fit(X, y)  # "auto" is the default
    np.testing.assert_array_equal(again.transform(X), fits["auto"].transform(X))


def _convs(module):
    return [m for m in module.phi.features if isinstance(m, torch.nn.Conv2d)]


def test_convs_per_stage_sets_the_depth_of_phi(small_bags):
    X, y = small_bags
    enc = SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X, y)
    config = enc._module.config
    assert config["convs_per_stage"] == 1 and config["init"] == "pytorch"
    # full-resolution conv, then one strided conv per later stage
    assert [c.stride for c in _convs(enc._module)] == [(1, 1), (2, 2), (2, 2)]
    deep = SetFingerprintEncoder(convs_per_stage=2, max_epochs=1, random_state=0).fit(X, y)
    assert [c.stride for c in _convs(deep._module)] == [(1, 1), (2, 2), (1, 1), (2, 2), (1, 1)]
    with pytest.raises(ValueError, match="convs_per_stage"):
        SetFingerprintEncoder(convs_per_stage=0).fit(X, y)


def test_module_config_without_the_phi_layout_keys_builds_the_old_layout(small_bags):
    from skfingerprint.encoder._modules import DeepSet

    # models saved before convs_per_stage and init were recorded: two
    # convolutions per stage, and their weights must load into that layout
    X, y = small_bags
    deep = SetFingerprintEncoder(convs_per_stage=2, max_epochs=1, random_state=0).fit(X, y)
    config = dict(deep._module.config)
    del config["convs_per_stage"], config["init"]
    old = DeepSet(**config)
    old.load_state_dict(deep._module.state_dict())  # strict: same names and shapes
    assert len(_convs(old)) == 5


def test_model_saved_before_the_phi_layout_parameters_loads_and_describes_itself(
        small_bags, tmp_path):
    import pickle

    from sklearn.base import clone

    from skfingerprint import load, save

    # what a file of 2026-12-04 holds: phi v1 (two convolutions per stage),
    # no convs_per_stage / front_end parameters, no layout keys in the config
    X, y = small_bags
    enc = SetFingerprintEncoder(convs_per_stage=2, front_end="image_and_residual",
                                max_epochs=1, random_state=0).fit(X, y)
    expected = enc.transform(X)
    state = enc.__getstate__()
    del state["convs_per_stage"], state["front_end"]
    for key in ("convs_per_stage", "init", "front_end"):
        del state["_net_state"]["module_config"][key]
    old = SetFingerprintEncoder.__new__(SetFingerprintEncoder)
    old.__setstate__(state)
    params = old.get_params()
    assert params["convs_per_stage"] == 2 and params["front_end"] == "image_and_residual"
    assert "convs_per_stage=2" in repr(old)
    np.testing.assert_array_equal(old.transform(X), expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(old)).transform(X), expected)
    save(old, tmp_path / "old.skfp")
    np.testing.assert_array_equal(load(tmp_path / "old.skfp").transform(X), expected)
    assert clone(old).get_params() == params


def test_normalised_residual_front_end_refuses_scalar_items():
    X = np.random.RandomState(0).rand(8, 5)
    with pytest.raises(ValueError, match="bags of scalar items"):
        SetFingerprintEncoder(front_end="normalised_residual", max_epochs=1).fit(
            X, [0, 0, 0, 0, 1, 1, 1, 1])


def test_bag_size_pools_that_many_images_and_whole_bags_pools_all(small_bags):
    """One meaning: bag_size images per fingerprint, in fit and transform;
    ``whole_bags=True`` pools every image of a bag without changing the model."""
    X, y = small_bags
    enc = SetFingerprintEncoder(bag_size=2, max_epochs=1, random_state=0).fit(X, y)
    Z = enc.transform(X[:6])
    np.testing.assert_array_equal(Z, enc.transform(X[:6, :2]))  # the first 2 images
    whole = enc.transform(X[:6], whole_bags=True)
    assert enc.bag_size == 2  # the model is not changed
    assert not np.allclose(whole, Z)
    enc.set_params(bag_size=None)
    np.testing.assert_array_equal(whole, enc.transform(X[:6]))
    enc.set_params(bag_size=2)
    # bags smaller than bag_size are pooled whole either way
    np.testing.assert_array_equal(enc.transform(X[:6, :1]),
                                  enc.transform(X[:6, :1], whole_bags=True))


def test_callbacks_are_checked_once_per_fit(small_bags, monkeypatch):
    from skfingerprint.encoder import _estimator

    calls = []
    check = _estimator.check_callbacks
    monkeypatch.setattr(_estimator, "check_callbacks",
                        lambda *a, **k: calls.append(1) or check(*a, **k))
    X, y = small_bags
    SetFingerprintEncoder(max_epochs=1, random_state=0).fit(X[:16], y[:16])
    assert len(calls) == 1


def test_the_progress_bar_counts_the_steps_of_an_epoch(small_bags, capsys):
    """Issue 40: the bar counted the bags (72) of an epoch of 3-4 steps."""
    import re

    X, y = small_bags
    enc = SetFingerprintEncoder(max_epochs=3, batch_size=16, verbose=1,
                                phi_training="bags", random_state=0).fit(X, y)
    err = capsys.readouterr().err
    totals = {int(t) for t in re.findall(r"\d+/(\d+) \[", err)}
    steps = {len(enc.net_.history[e, "batches"]) for e in range(3)}
    assert totals == steps and len(X) not in totals  # steps, not bags
    # phi's per-image stage has a bar of its own: 384 images, 64 a step
    enc = SetFingerprintEncoder(max_epochs=3, batch_size=16, verbose=1,
                                random_state=0).fit(X, y)
    err = capsys.readouterr().err
    totals = {int(t) for t in re.findall(r"\d+/(\d+) \[", err)}
    steps = {len(enc.net_.history[e, "batches"]) for e in range(3)}
    assert totals == steps | {X.shape[0] * X.shape[1] // 64}


def test_rho_hidden_0_is_a_linear_rho_and_the_default_the_mlp(small_bags, tmp_path):
    import pickle

    from torch import nn

    from skfingerprint import load, save

    X, y = small_bags

    def widths(enc):
        return [tuple(m.weight.shape) for m in enc._module.rho if isinstance(m, nn.Linear)]

    mlp = SetFingerprintEncoder(rho_hidden=16, max_epochs=1, random_state=0).fit(X, y)
    assert [w[0] for w in widths(mlp)] == [16, 16, 32]
    assert SetFingerprintEncoder().rho_hidden == 128  # the paper's MLP by default
    linear = SetFingerprintEncoder(rho_hidden=0, max_epochs=1, random_state=0).fit(X, y)
    assert widths(linear) == [(32, linear._module.pooled_features)]
    assert linear._module.config["rho_hidden"] == 0
    Z = linear.transform(X)
    assert Z.shape == (len(X), 32) and np.isfinite(Z).all()
    # the linear rho round-trips like the MLP (its config rebuilds it)
    save(linear, tmp_path / "linear.skfp")
    np.testing.assert_array_equal(load(tmp_path / "linear.skfp").transform(X), Z)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(linear)).transform(X), Z)
