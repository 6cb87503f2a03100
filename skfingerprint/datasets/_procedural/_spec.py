"""Plain-data descriptions of procedural generators, and their family tree.

A generator is a small dict of ints, floats and strings (no arrays, no
torch): its architecture, the seeds of its weights, the fine-tuning
perturbations applied to them, its sampler and its post-processing.  The
torch modules are built from it on demand (``_nets``), so thousands of
generators cost nothing to hold.
"""

from __future__ import annotations

import copy

import numpy as np

KINDS = ("tconv", "resize_conv", "pixel_shuffle")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "silu", "tanh", "elu")
NORMS = ("none", "instance", "group")
OUTPUTS = ("conv3x3", "conv1x1", "conv3x3_tanh")
SCHEDULES = ("linear", "cosine", "constant")
POSTPROCESSING = ("jpeg", "blur", "resize")

# How a new generator is related to the ones drawn before it.
RELATIONS = ("new_architecture", "same_architecture", "shared_decoder",
             "finetune", "sampler", "postprocess")
DEFAULT_RELATION_WEIGHTS = {
    "new_architecture": 0.25,
    "same_architecture": 0.2,
    "shared_decoder": 0.15,
    "finetune": 0.2,
    "sampler": 0.1,
    "postprocess": 0.1,
}

_MAX_SEED = 2**31 - 1


def _seed(rng):
    return int(rng.randint(_MAX_SEED))


def _pick(rng, options):
    return options[int(rng.randint(len(options)))]


# Training steps of a trained autoencoder, and of each fine-tune of one.
TRAIN_STEPS = (60, 120, 240)
TUNE_STEPS = (30, 60, 120)


def draw_architecture(rng, trained_share=0.0):
    """A random decoder architecture (and the encoder that feeds it).

    With ``trained_share > 0`` the architecture is, with that probability,
    one whose autoencoders are trained (``train_steps > 0``); with 0 nothing
    more is drawn, so the trees of earlier versions are drawn unchanged.
    """
    kind = _pick(rng, KINDS)
    n_up = int(rng.randint(1, 4))  # the latent is 2, 4 or 8 times smaller
    widths = sorted((int(_pick(rng, (16, 24, 32, 48, 64))) for _ in range(n_up)),
                    reverse=True)
    if kind == "tconv":
        kernel = int(_pick(rng, (2, 3, 4, 5)))
    elif kind == "resize_conv":
        kernel = int(_pick(rng, (3, 5)))
    else:
        kernel = int(_pick(rng, (1, 3)))
    return {
        "kind": kind,
        "n_up": n_up,
        "kernel": kernel,
        "upsample_mode": _pick(rng, ("nearest", "bilinear")) if kind == "resize_conv" else None,
        "widths": widths,
        "latent_channels": int(_pick(rng, (3, 4, 8))),
        "activation": _pick(rng, ACTIVATIONS),
        "norm": _pick(rng, NORMS),
        "output": _pick(rng, OUTPUTS),
        "bias_scale": float(rng.uniform(0.5, 2.0)),
        # share of the real content's fine detail that survives the decoder
        "detail": float(rng.uniform(0.6, 1.0)),
        **_draw_training(rng, trained_share),
    }


def _draw_training(rng, trained_share):
    if not trained_share:
        return {}
    trained = rng.rand() < trained_share
    steps = int(_pick(rng, TRAIN_STEPS))
    return {"train_steps": steps if trained else 0}


def draw_latent(rng):
    """A random latent generator: a small residual network on the latent."""
    return {"seed": _seed(rng), "width": int(_pick(rng, (8, 16, 32))),
            "gain": float(rng.uniform(0.3, 1.0)), "perturbations": []}


def draw_sampler(rng):
    """A sampler: deterministic, or noisy steps with a decreasing schedule."""
    if rng.rand() < 0.4:
        return {"kind": "deterministic", "steps": 1, "noise": 0.0, "schedule": "constant"}
    return {"kind": "ancestral", "steps": int(rng.randint(2, 5)),
            "noise": float(rng.uniform(0.1, 0.6)), "schedule": _pick(rng, SCHEDULES)}


def draw_postprocess(rng):
    """One post-processing step, as an ``(op, value)`` pair."""
    op = _pick(rng, POSTPROCESSING)
    if op == "jpeg":
        return [op, int(rng.randint(70, 96))]
    if op == "blur":
        return [op, round(float(rng.uniform(0.3, 0.8)), 3)]
    return [op, round(float(rng.uniform(0.5, 0.9)), 3)]


def _new_root(rng, tree, architecture, architecture_id, decoder_id, roundtrip=None):
    """A generator at the root of the tree: a decoder with fresh weights, and
    either a round trip (no latent generator) or a latent generator."""
    if roundtrip is None:
        roundtrip = rng.rand() < 0.3
    return {
        "relation": None,
        "parent": None,
        "architecture_id": architecture_id,
        "architecture": architecture,
        "decoder_id": decoder_id,
        "root_decoder_id": decoder_id,
        "decoder": {"seed": _seed(rng), "perturbations": []},
        "latent_id": None if roundtrip else tree.new_latent(),
        "latent": None if roundtrip else draw_latent(rng),
        "sampler": None if roundtrip else draw_sampler(rng),
        "noise_injection": float(rng.uniform(0.05, 0.3)) if rng.rand() < 0.25 else 0.0,
        "strength": float(np.exp(rng.uniform(np.log(0.015), np.log(0.05)))),
        "postprocess": [draw_postprocess(rng)] if rng.rand() < 0.15 else [],
        "noise_seed": _seed(rng),
        "depth": 0,
    }


def _finetune(rng, parent):
    """Parent's weights, each tensor moved by a small random perturbation;
    a trained autoencoder is trained further, on a random subset of the
    photographs (as a model is fine-tuned on other data)."""
    child = copy.deepcopy(parent)
    if child["architecture"].get("train_steps"):
        tuning = child["decoder"].setdefault("tuning", [])
        tuning.append([_seed(rng), int(_pick(rng, TUNE_STEPS))])
        if child["latent"] is not None:
            child["latent"]["perturbations"].append([_seed(rng), float(rng.uniform(0.05, 0.2))])
        return child
    scale = float(rng.uniform(0.05, 0.2))
    child["decoder"]["perturbations"].append([_seed(rng), scale])
    if child["latent"] is not None:
        child["latent"]["perturbations"].append([_seed(rng), scale])
    return child


class _Tree:
    """Running counters of the drawing: architectures, decoders, latents."""

    def __init__(self):
        self.specs, self.architectures = [], []
        self.members = {}  # architecture id -> indices of its generators
        self.n_decoders = self.n_latents = 0

    def add(self, spec):
        self.members.setdefault(spec["architecture_id"], []).append(len(self.specs))
        self.specs.append(spec)

    def new_decoder(self):
        self.n_decoders += 1
        return self.n_decoders - 1

    def new_latent(self):
        self.n_latents += 1
        return self.n_latents - 1


def _derive(rng, tree, relation):
    """A new generator of the given relation to a random earlier one (a random
    architecture first, so that the first trees do not take everything)."""
    architecture_id = int(rng.randint(len(tree.architectures)))
    members = tree.members[architecture_id]
    parent_index = members[int(rng.randint(len(members)))]
    parent = tree.specs[parent_index]
    if relation == "same_architecture":
        return _new_root(rng, tree, parent["architecture"], parent["architecture_id"],
                         tree.new_decoder())
    if relation == "shared_decoder":  # another latent generator on that decoder
        spec = _new_root(rng, tree, parent["architecture"], parent["architecture_id"],
                         parent["decoder_id"], roundtrip=False)
        spec["decoder"] = copy.deepcopy(parent["decoder"])
        spec["root_decoder_id"] = parent["root_decoder_id"]
        return spec
    if relation == "finetune":
        spec = _finetune(rng, parent)
        spec["decoder_id"] = tree.new_decoder()
        if spec["latent"] is not None:
            spec["latent_id"] = tree.new_latent()
    else:
        spec = copy.deepcopy(parent)
        if relation == "sampler":
            if spec["latent"] is None:  # a round trip has no sampler: noise its latent
                spec["sampler"] = {"kind": "ancestral", "steps": 1,
                                   "noise": float(rng.uniform(0.1, 0.4)),
                                   "schedule": "constant"}
            else:
                old = spec["sampler"]
                while spec["sampler"] == old:
                    spec["sampler"] = draw_sampler(rng)
        else:  # postprocess
            spec["postprocess"] = spec["postprocess"] + [draw_postprocess(rng)]
    spec["parent"] = parent_index
    spec["depth"] = parent["depth"] + 1
    spec["noise_seed"] = _seed(rng)
    return spec


def draw_generators(n_generators, relation_weights, rng, trained_share=0.0):
    """``n_generators`` specs, each related to an earlier one (or new).

    Returns the list of specs with ``name``, ``relation``, ``parent`` (an
    index, None for roots), ``depth`` and ``lineage`` filled in.
    """
    names = list(RELATIONS)
    p = np.array([relation_weights.get(r, 0.0) for r in names], dtype=float)
    tree = _Tree()
    for i in range(n_generators):
        relation = "new_architecture"
        if tree.specs:
            relation = names[int(rng.choice(len(names), p=p / p.sum()))]
        if relation == "new_architecture" or (relation == "same_architecture" and not tree.specs):
            tree.architectures.append(draw_architecture(rng, trained_share))
            spec = _new_root(rng, tree, tree.architectures[-1], len(tree.architectures) - 1,
                             tree.new_decoder())
        else:
            spec = _derive(rng, tree, relation)
        spec["relation"] = relation
        spec["name"] = f"pg{i:04d}"
        spec["lineage"] = _lineage(spec, tree.specs)
        tree.add(spec)
    return tree.specs


def _lineage(spec, earlier):
    """Ancestry from the root: architecture, root decoder, then the chain of
    parents, ending with the generator itself."""
    chain, node = [spec["name"]], spec
    while node["parent"] is not None:
        node = earlier[node["parent"]]
        chain.append(node["name"])
    return (f"arch{spec['architecture_id']:04d}",
            f"decoder{spec['root_decoder_id']:04d}", *reversed(chain))
