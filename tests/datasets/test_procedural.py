import copy

import numpy as np
import pytest
import torch

from skfingerprint.datasets import (
    lineage_groups,
    make_procedural_generators,
    make_procedural_zoo,
    render_procedural_images,
)
from skfingerprint.datasets._photos import random_crops


@pytest.fixture(scope="module")
def content():
    return random_crops(24, 32, random_state=0)


def _psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def _without_noise(spec):
    """A copy whose images do not depend on the sampling noise."""
    spec = copy.deepcopy(spec)
    spec["noise_injection"] = 0.0
    if spec["sampler"] is not None:
        spec["sampler"] = {"kind": "deterministic", "steps": 1, "noise": 0.0,
                           "schedule": "constant"}
    spec["postprocess"] = []
    return spec


# ------------------------------------------------------------------ the tree


def test_tree_is_deterministic_and_seeded():
    a = make_procedural_generators(30, random_state=5)
    b = make_procedural_generators(30, random_state=5)
    c = make_procedural_generators(30, random_state=6)
    assert a.specs == b.specs
    assert a.specs != c.specs
    assert a.random_state == 5


def test_tree_fields_have_one_entry_per_generator():
    tree = make_procedural_generators(12, random_state=0)
    for field in ("names", "parents", "relations", "architecture_ids", "decoder_ids",
                  "latent_ids", "depth", "kinds"):
        assert len(tree[field]) == 12, field
    assert tree.names.tolist() == [f"pg{i:04d}" for i in range(12)]
    assert set(tree.families) == set(tree.lineage) == set(tree.names.tolist())
    assert set(tree.kinds.tolist()) <= {"tconv", "resize_conv", "pixel_shuffle"}
    assert tree.relations[0] == "new_architecture" and tree.parents[0] == -1


def test_family_tree_is_consistent():
    tree = make_procedural_generators(300, random_state=1)
    specs = tree.specs
    assert set(tree.relations.tolist()) == {"new_architecture", "same_architecture",
                                            "shared_decoder", "finetune", "sampler",
                                            "postprocess"}
    by_decoder, by_architecture = {}, {}
    for i, spec in enumerate(specs):
        p = tree.parents[i]
        if spec["relation"] in ("finetune", "sampler", "postprocess"):
            assert 0 <= p < i
            parent = specs[p]
            assert tree.depth[i] == tree.depth[p] + 1
            assert tree.lineage[spec["name"]] == tree.lineage[parent["name"]] + (spec["name"],)
            assert spec["architecture"] == parent["architecture"]
        else:
            assert p == -1 and tree.depth[i] == 0
            assert tree.lineage[spec["name"]][2:] == (spec["name"],)
        if spec["relation"] == "finetune":
            # the parent's weights plus one more perturbation: a new decoder
            assert spec["decoder"]["perturbations"][:-1] == parent["decoder"]["perturbations"]
            assert spec["decoder"]["seed"] == parent["decoder"]["seed"]
            n_parent = len(parent["decoder"]["perturbations"])
            assert len(spec["decoder"]["perturbations"]) == n_parent + 1
            assert tree.decoder_ids[i] != tree.decoder_ids[p]
        if spec["relation"] in ("sampler", "postprocess"):
            assert spec["decoder"] == parent["decoder"] and spec["latent"] == parent["latent"]
            assert tree.decoder_ids[i] == tree.decoder_ids[p]
            assert tree.latent_ids[i] == tree.latent_ids[p]
        if spec["relation"] == "sampler":
            assert spec["sampler"] != parent["sampler"]
        if spec["relation"] == "postprocess":
            assert spec["postprocess"][:-1] == parent["postprocess"]
        if spec["relation"] == "shared_decoder":
            # another latent generator on a decoder that an earlier one has
            assert tree.latent_ids[i] >= 0
            assert tree.decoder_ids[i] in tree.decoder_ids[:i]
            assert tree.latent_ids[i] not in tree.latent_ids[:i]
        # one decoder id = one set of weights, one architecture id = one architecture
        assert by_decoder.setdefault(int(tree.decoder_ids[i]), spec["decoder"]) == spec["decoder"]
        arch = by_architecture.setdefault(int(tree.architecture_ids[i]), spec["architecture"])
        assert arch == spec["architecture"]
        assert tree.lineage[spec["name"]][0] == f"arch{tree.architecture_ids[i]:04d}"


def test_relation_weights_choose_the_relations():
    tree = make_procedural_generators(10, relation_weights={"finetune": 1.0}, random_state=0)
    assert tree.relations.tolist() == ["new_architecture"] + ["finetune"] * 9
    assert len(set(tree.architecture_ids.tolist())) == 1
    groups = lineage_groups(tree.lineage, 2)
    assert len(set(groups.values())) == 1


def test_specs_are_plain_data():
    import json

    tree = make_procedural_generators(20, random_state=0)
    assert json.loads(json.dumps(tree.specs)) == json.loads(json.dumps(tree.specs))
    text = json.dumps(tree.specs)
    assert "Tensor" not in text and "array" not in text


# ------------------------------------------------------------------ the images


def test_render_shapes_determinism_and_torch_state(content):
    tree = make_procedural_generators(8, random_state=0)
    state = torch.get_rng_state()
    for spec in tree.specs:
        a = render_procedural_images(spec, content, random_state=3)
        b = render_procedural_images(spec, content, random_state=3)
        assert a.shape == content.shape and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
    assert torch.equal(state, torch.get_rng_state())


def test_read_only_content_is_left_unchanged(content):
    import warnings

    spec = make_procedural_generators(1, random_state=0).specs[0]
    frozen = content.copy()
    frozen.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images = render_procedural_images(spec, frozen, random_state=0)
    np.testing.assert_array_equal(frozen, content)
    assert images.flags.writeable


def test_outputs_look_like_their_content(content):
    tree = make_procedural_generators(16, random_state=2)
    for spec in tree.specs:
        images = render_procedural_images(spec, content, random_state=0)
        assert images.std() > 10  # not constant
        assert not np.array_equal(images, content)
        assert 20 < _psnr(images, content) < 50, spec["name"]
        # the content comes through: each image is close to its own crop
        d = np.abs(images[:, None].astype(float) - content[None].astype(float)).mean(axis=(2, 3, 4))
        assert (d.argmin(axis=1) == np.arange(len(content))).all()


def test_different_weights_leave_different_traces(content):
    tree = make_procedural_generators(2, relation_weights={"same_architecture": 1.0},
                                      random_state=0)
    a, b = (_without_noise(s) for s in tree.specs)
    assert a["architecture"] == b["architecture"] and a["decoder"] != b["decoder"]
    b["strength"], b["latent"] = a["strength"], copy.deepcopy(a["latent"])
    b["decoder"]["seed"] = a["decoder"]["seed"] + 1  # only the decoder's seed differs
    ia = render_procedural_images(a, content).astype(float)
    ib = render_procedural_images(b, content).astype(float)
    trace = np.abs(ia - content).mean()
    assert np.abs(ia - ib).mean() > 0.3 * trace


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_finetune_is_closer_to_its_parent_than_an_unrelated_generator(content, seed):
    tree = make_procedural_generators(2, relation_weights={"finetune": 1.0}, random_state=seed)
    parent, child = tree.specs
    assert child["parent"] == 0
    # unrelated: the same architecture and strength, other weights
    unrelated = copy.deepcopy(parent)
    unrelated["decoder"]["seed"] += 1
    if unrelated["latent"] is not None:
        unrelated["latent"]["seed"] += 1
    ip, ic, iu = (render_procedural_images(s, content, random_state=0).astype(float)
                  for s in (parent, child, unrelated))
    assert np.abs(ic - ip).mean() < np.abs(ic - iu).mean()
    assert np.abs(ic - ip).mean() > 0  # but not the same generator


def test_sampler_and_postprocess_variants_differ_from_their_parent(content):
    for relation in ("sampler", "postprocess"):
        tree = make_procedural_generators(2, relation_weights={relation: 1.0}, random_state=0)
        parent, child = tree.specs
        ip = render_procedural_images(parent, content, random_state=0)
        ic = render_procedural_images(child, content, random_state=0)
        assert ic.shape == content.shape and ic.dtype == np.uint8
        assert not np.array_equal(ip, ic), relation


@pytest.mark.parametrize("op", ["jpeg", "blur", "resize"])
def test_each_post_processing_keeps_uint8_images(content, op):
    spec = _without_noise(make_procedural_generators(1, random_state=0).specs[0])
    clean = render_procedural_images(spec, content)
    spec["postprocess"] = [[op, {"jpeg": 75, "blur": 0.6, "resize": 0.5}[op]]]
    processed = render_procedural_images(spec, content)
    assert processed.shape == content.shape and processed.dtype == np.uint8
    assert 0 < np.abs(processed.astype(float) - clean).mean() < 20


def test_shared_decoder_generators_share_the_fixed_part_of_the_trace(content):
    tree = make_procedural_generators(
        2, relation_weights={"shared_decoder": 1.0}, random_state=4)
    a, b = (_without_noise(s) for s in tree.specs)
    assert a["decoder"] == b["decoder"] and tree.decoder_ids[0] == tree.decoder_ids[1]
    assert tree.relations[1] == "shared_decoder"
    ia, ib = (render_procedural_images(s, content).astype(float) for s in (a, b))
    assert not np.array_equal(ia, ib)


# ------------------------------------------------------------------ the data set


def test_zoo_bunch_follows_the_model_zoo():
    data = make_procedural_zoo(5, n_images_per_generator=6, image_size=16, random_state=0)
    assert data.images.shape == (36, 16, 16, 3) and data.images.dtype == np.uint8
    assert data.sources.tolist() == ["real"] + [f"pg{i:04d}" for i in range(5)]
    assert data.labels.tolist() == np.repeat(data.sources, 6).tolist()
    assert data.families["real"] == "real" and data.lineage["real"] == ("real",)
    assert set(data.metadata) == set(data.sources.tolist()) - {"real"}
    assert data.generators.names.tolist() == data.sources.tolist()[1:]
    assert data.image_size == 16 and "SYNTHETIC" in data.DESCR
    groups = lineage_groups(data.lineage, 1, data.labels)
    assert groups.shape == data.labels.shape
    X, y = make_procedural_zoo(2, n_images_per_generator=3, image_size=8,
                               include_real=False, random_state=0, return_X_y=True)
    assert X.shape == (6, 8, 8, 3) and y.tolist() == ["pg0000"] * 3 + ["pg0001"] * 3


def test_zoo_is_deterministic_and_takes_a_tree():
    a = make_procedural_zoo(3, n_images_per_generator=4, image_size=8, random_state=1)
    b = make_procedural_zoo(3, n_images_per_generator=4, image_size=8, random_state=1)
    c = make_procedural_zoo(3, n_images_per_generator=4, image_size=8, random_state=2)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    tree = make_procedural_generators(3, random_state=0)
    d = make_procedural_zoo(tree, n_images_per_generator=2, image_size=8, random_state=0)
    e = make_procedural_zoo(tree.specs[1:], n_images_per_generator=2, image_size=8,
                            include_real=False, random_state=0)
    assert d.generators is tree
    assert e.sources.tolist() == ["pg0001", "pg0002"]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("kwargs, match", [
    ({"image_size": 12}, "multiple of 8"),
    ({"image_size": 4}, "image_size"),
    ({"generators": 0}, "generators"),
    ({"n_images_per_generator": 0}, "n_images_per_generator"),
    ({"relation_weights": {"clone": 1.0}}, "unknown relations"),
    ({"relation_weights": {"finetune": -1.0}}, "non-negative"),
    ({"relation_weights": {"finetune": 0.0}}, "at least one positive"),
    ({"generators": "pg0000"}, "generators"),
    ({"generators": [{"name": "x"}]}, "specs of make_procedural_generators"),
])
def test_zoo_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_procedural_zoo(**{"generators": 2, "n_images_per_generator": 2,
                               "image_size": 8, **kwargs})


def test_zoo_relation_weights_only_with_an_int():
    tree = make_procedural_generators(2, random_state=0)
    with pytest.raises(ValueError, match="only when generators is an int"):
        make_procedural_zoo(tree, relation_weights={"finetune": 1.0})


def test_render_bad_input(content):
    spec = make_procedural_generators(1, random_state=0).specs[0]
    with pytest.raises(ValueError, match="uint8"):
        render_procedural_images(spec, content.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(n, H, W, 3\)"):
        render_procedural_images(spec, content[0])
    with pytest.raises(ValueError, match="multiples of 8"):
        render_procedural_images(spec, content[:, :12, :12])
    with pytest.raises(ValueError, match="specs of make_procedural_generators"):
        render_procedural_images({"architecture": {}}, content)
    with pytest.raises(ValueError, match="n_generators"):
        make_procedural_generators(0)
    with pytest.raises(ValueError, match="random_state"):
        make_procedural_generators(2, random_state=-1)


# ------------------------------------------------- trained autoencoders


def test_no_trained_share_draws_the_trees_of_earlier_versions():
    before = make_procedural_generators(40, random_state=3)
    assert make_procedural_generators(40, trained_share=0.0, random_state=3).specs == before.specs
    assert all("train_steps" not in s["architecture"] for s in before.specs)
    some = make_procedural_generators(40, trained_share=0.5, random_state=3)
    steps = [s["architecture"]["train_steps"] for s in some.specs]
    assert 0 in steps and any(steps)


def _trained_pair(relation, seed=0):
    tree = make_procedural_generators(2, relation_weights={relation: 1.0}, trained_share=1.0,
                                      random_state=seed)
    return [_without_noise(s) for s in tree.specs]


def test_a_trained_autoencoder_outputs_its_reconstruction(content):
    spec = _trained_pair("same_architecture")[0]
    assert spec["architecture"]["train_steps"] > 0
    spec["latent"] = spec["sampler"] = None  # a round trip through the autoencoder
    images = render_procedural_images(spec, content, random_state=0)
    assert images.dtype == np.uint8 and images.shape == content.shape
    untrained = copy.deepcopy(spec)
    untrained["architecture"]["train_steps"] = 0
    residual = render_procedural_images(untrained, content, random_state=0)
    # the decoder's output, not the content plus a residual: further from it
    assert _psnr(images, content) < _psnr(residual, content)
    # ... but a reconstruction: most images are closest to their own crop
    # (flat crops of one photo can be closer to each other than to theirs)
    d = np.abs(images[:, None].astype(float) - content[None].astype(float)).mean(axis=(2, 3, 4))
    assert np.mean(d.argmin(axis=1) == np.arange(len(content))) >= 0.75
    assert np.array_equal(images, render_procedural_images(spec, content, random_state=0))


def test_a_trained_finetune_is_trained_further_and_stays_close_to_its_parent(content):
    parent, child = _trained_pair("finetune", seed=1)
    assert child["decoder"]["perturbations"] == parent["decoder"]["perturbations"]
    assert len(child["decoder"]["tuning"]) == len(parent["decoder"].get("tuning", [])) + 1
    unrelated = copy.deepcopy(parent)
    unrelated["decoder"]["seed"] += 1
    ip, ic, iu = (render_procedural_images(s, content, random_state=0).astype(float)
                  for s in (parent, child, unrelated))
    assert 0 < np.abs(ic - ip).mean() < np.abs(ic - iu).mean()


def test_trained_share_only_with_an_int_and_in_range():
    tree = make_procedural_generators(2, random_state=0)
    with pytest.raises(ValueError, match="trained_share is used only"):
        make_procedural_zoo(tree, trained_share=0.5)
    with pytest.raises(ValueError, match="trained_share"):
        make_procedural_generators(2, trained_share=1.5)


def test_a_trained_finetune_gives_the_same_images_from_its_parents_state(content):
    from skfingerprint.datasets._procedural import _nets

    parent, child = _trained_pair("finetune", seed=1)
    _nets._TRAINED_CACHE.clear()
    alone = render_procedural_images(child, content, random_state=0)  # trained from scratch
    _nets._TRAINED_CACHE.clear()
    render_procedural_images(parent, content, random_state=0)
    assert len(_nets._TRAINED_CACHE) == 1 + len(parent["decoder"].get("tuning", []))
    np.testing.assert_array_equal(render_procedural_images(child, content, random_state=0),
                                  alone)
