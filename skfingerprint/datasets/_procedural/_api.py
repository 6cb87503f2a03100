"""Public functions of the procedural generator simulator."""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._base import make_dataset_bunch
from .._photos import random_crops
from . import _spec

__all__ = ["make_procedural_generators", "render_procedural_images", "make_procedural_zoo"]

_MAX_SIZE = 256
_MAX_SEED = 2**31 - 1

_DESCR = """\
Procedural generators (skfingerprint.datasets.make_procedural_zoo)
==================================================================

SYNTHETIC GENERATORS. Untrained networks of random architecture applied to
real content: crops of the photographs that ship with scikit-image and
scikit-learn.  Each generator encodes a crop into a latent 2, 4 or 8 times
smaller (a random encoder), optionally moves it with a random latent
generator and a noisy sampler, decodes it with a random upsampling decoder
(transposed convolutions, resize + convolution or pixel shuffle), and adds
the decoder's output, normalised, as a residual of a few percent of the
pixel range to the crop (whose finest detail is partly replaced by its
upsampled latent-size version).  Post-processing (JPEG, blur, resizing)
follows for some.  Generators form a family tree: same architecture, shared
decoder (two latent generators, one decoder), fine-tune (weights of a parent
plus a small perturbation), sampler and post-processing variants.  With
trained_share > 0, that share of the architectures are autoencoders trained
briefly to reconstruct the photographs, whose images are the decoder's
output (their fine-tunes are trained further on half the photographs).
"""


def _check_image_size(image_size, name="image_size"):
    if int(image_size) % 8:
        raise ValueError(
            f"{name} must be a multiple of 8 (latents are up to 8 times smaller), "
            f"got {image_size}; use e.g. 32 or 64."
        )


def _check_relation_weights(relation_weights):
    if relation_weights is None:
        return dict(_spec.DEFAULT_RELATION_WEIGHTS)
    unknown = sorted(set(relation_weights) - set(_spec.RELATIONS), key=str)
    if unknown:
        raise ValueError(
            f"relation_weights has unknown relations {unknown}; the relations are "
            f"{list(_spec.RELATIONS)}."
        )
    weights = {r: relation_weights.get(r, 0.0) for r in _spec.RELATIONS}
    for r, w in weights.items():
        if not isinstance(w, numbers.Real) or isinstance(w, bool) or not np.isfinite(w) or w < 0:
            raise ValueError(
                f"relation_weights[{r!r}] must be a non-negative finite number, got {w!r}."
            )
    if sum(weights.values()) <= 0:
        raise ValueError("relation_weights must have at least one positive weight.")
    return {r: float(w) for r, w in weights.items()}


def _tree_bunch(specs, seed):
    """The Bunch of :func:`make_procedural_generators` from drawn specs."""
    names = np.array([s["name"] for s in specs], dtype=str)
    return Bunch(
        specs=specs,
        names=names,
        parents=np.array([-1 if s["parent"] is None else s["parent"] for s in specs]),
        relations=np.array([s["relation"] for s in specs], dtype=str),
        architecture_ids=np.array([s["architecture_id"] for s in specs]),
        decoder_ids=np.array([s["decoder_id"] for s in specs]),
        latent_ids=np.array([-1 if s["latent_id"] is None else s["latent_id"] for s in specs]),
        depth=np.array([s["depth"] for s in specs]),
        kinds=np.array([s["architecture"]["kind"] for s in specs], dtype=str),
        families={s["name"]: s["architecture"]["kind"] for s in specs},
        lineage={s["name"]: tuple(s["lineage"]) for s in specs},
        random_state=seed,
    )


@validate_params(
    {
        "n_generators": [Interval(numbers.Integral, 1, None, closed="left")],
        "relation_weights": [Mapping, None],
        "trained_share": [Interval(numbers.Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_procedural_generators(n_generators=16, *, relation_weights=None, trained_share=0.0,
                               random_state=None):
    """Draw a family tree of procedural generators (descriptions only).

    Each generator is described by a small dict of plain data (numbers,
    strings, lists): the architecture of its decoder, the seeds of its
    random weights (untrained, or trained briefly: ``trained_share``), the
    fine-tuning applied to them, its latent generator and sampler, its
    post-processing.  Nothing is
    built: :func:`render_procedural_images` builds the torch modules of one
    generator on demand, so thousands of generators cost nothing to hold.

    Generators are drawn one after the other; each is a new root or is
    related to an earlier generator (of an architecture drawn uniformly,
    then a generator of it drawn uniformly) by one of these relations:

    - ``"new_architecture"``: a new random decoder architecture (upsampling
      by transposed convolutions of kernel 2 to 5, nearest or bilinear
      resizing + convolution, or pixel shuffle; 1 to 3 stages of random
      widths; activation, normalisation, output layer), with fresh weights;
      a round trip through the autoencoder, or a latent generator and a
      sampler on top of it;
    - ``"same_architecture"``: the architecture of an earlier generator,
      fresh weights;
    - ``"shared_decoder"``: the encoder and decoder (same weights) of an
      earlier generator with a new latent generator and sampler (the latent
      diffusion case: two latent generators, one decoder);
    - ``"finetune"``: the weights of an earlier generator (autoencoder and
      latent generator), each tensor moved by a small random perturbation;
    - ``"sampler"``: an earlier generator with another sampler (number of
      noisy steps, noise level and schedule);
    - ``"postprocess"``: an earlier generator followed by one more
      post-processing step (JPEG, Gaussian blur or resizing).

    The last three have a ``parent``; the first three are roots (a shared
    decoder shows in ``decoder_ids``).

    Read more in the :doc:`procedural generators guide </guide/procedural>`.

    Parameters
    ----------
    n_generators : int, default=16
        Number of generators.
    relation_weights : mapping of str to float, default=None
        Relative frequency of each relation (the keys above; missing keys
        weigh 0).  None uses ``{"new_architecture": 0.25,
        "same_architecture": 0.2, "shared_decoder": 0.15, "finetune": 0.2,
        "sampler": 0.1, "postprocess": 0.1}``.  The first generator is
        always a new architecture.
    trained_share : float in [0, 1], default=0.0
        Share of the architectures whose autoencoders are **trained**: the
        encoder and decoder of each generator of such an architecture learn
        to reconstruct crops of the photographs (60, 120 or 240 steps of
        Adam), and the image is the decoder's output, not a residual added
        to the content, as with a trained autoencoder or latent model.  A
        fine-tune of a trained generator is trained further (30 to 120
        steps) on a random half of the photographs, as a model is
        fine-tuned on other data.  Training is most of the cost: 1,000
        generators with ``trained_share=0.3`` render in about 4 minutes on
        2 CPU cores, against 16 s without.  0 draws the trees of earlier
        versions unchanged.
    random_state : int, RandomState instance or None, default=None
        Seed of the drawing.  An int gives the same tree every call.

    Returns
    -------
    generators : :class:`~sklearn.utils.Bunch`
        With attributes:

        specs : list of dict
            One description per generator, the argument of
            :func:`render_procedural_images`.
        names : ndarray of str of shape (n_generators,)
            ``"pg0000"``, ``"pg0001"``, ...
        parents : ndarray of int of shape (n_generators,)
            Index of the parent, -1 for a root.
        relations : ndarray of str of shape (n_generators,)
            The relation of each generator to its parent or origin.
        architecture_ids, decoder_ids : ndarray of int of shape (n_generators,)
            Generators with the same architecture id share the architecture;
            those with the same decoder id share the weights of the encoder
            and decoder (a fine-tune has its own).
        latent_ids : ndarray of int of shape (n_generators,)
            Id of the latent generator's weights, -1 for an autoencoder
            round trip.
        depth : ndarray of int of shape (n_generators,)
            Number of ancestors (0 for a root).
        kinds : ndarray of str of shape (n_generators,)
            Upsampling kind: ``"tconv"``, ``"resize_conv"`` or
            ``"pixel_shuffle"``.
        families : dict
            Name -> upsampling kind.
        lineage : dict
            Name -> tuple of str, ``("arch0003", "decoder0007", root, ...,
            name)``: the architecture, the decoder of the root of its tree,
            then its ancestors; see :func:`lineage_groups`.
        random_state : int
            The seed the tree was drawn with.

    See Also
    --------
    make_procedural_zoo : Images of procedural generators, as a data set.
    render_procedural_images : Images of one generator on given content.

    Examples
    --------
    >>> from skfingerprint.datasets import make_procedural_generators
    >>> tree = make_procedural_generators(6, random_state=0)
    >>> tree.names.tolist()
    ['pg0000', 'pg0001', 'pg0002', 'pg0003', 'pg0004', 'pg0005']
    >>> int(tree.parents[0]), str(tree.relations[0])
    (-1, 'new_architecture')
    """
    weights = _check_relation_weights(relation_weights)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(_MAX_SEED))
    specs = _spec.draw_generators(int(n_generators), weights, np.random.RandomState(seed),
                                  float(trained_share))
    return _tree_bunch(specs, seed)


_SPEC_KEYS = ("architecture", "decoder", "latent", "sampler", "noise_injection",
              "strength", "postprocess")


def _check_spec(generator):
    if not isinstance(generator, Mapping) or any(k not in generator for k in _SPEC_KEYS):
        raise ValueError(
            "generator must be one of the dicts in the specs of "
            "make_procedural_generators(...) (keys "
            f"{list(_SPEC_KEYS)}), got {type(generator).__name__}."
        )
    return generator


def _check_content(content):
    content = np.asarray(content)
    if content.ndim != 4 or content.shape[-1] != 3:
        raise ValueError(
            "content must be an array of RGB images of shape (n, H, W, 3), got shape "
            f"{content.shape}."
        )
    if content.dtype != np.uint8:
        raise ValueError(
            f"content must be uint8 images in [0, 255], got dtype {content.dtype}; "
            "convert with np.clip(x, 0, 255).astype(np.uint8)."
        )
    if content.shape[1] % 8 or content.shape[2] % 8 or content.shape[1] == 0:
        raise ValueError(
            "the height and width of content must be multiples of 8 (latents are up "
            f"to 8 times smaller), got {content.shape[1]}x{content.shape[2]}."
        )
    return content


def _postprocess(images, steps):
    from ...augment import gaussian_blur, jpeg, resize

    for op, value in steps:
        if op == "jpeg":
            images = jpeg(images, int(value))
        elif op == "blur":
            images = gaussian_blur(images, float(value))
        else:
            images = resize(images, float(value))
    return images


@validate_params(
    {
        "generator": [Mapping],
        "content": ["array-like"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def render_procedural_images(generator, content, *, random_state=None):
    """Images of one procedural generator on the given real content.

    The generator's torch modules are built from its description (random
    weights from its seeds, then its fine-tuning perturbations) and applied
    to every image of ``content``: the content is encoded into a smaller
    latent, moved by the latent generator and the sampler (if any), and
    decoded; the decoder's output, normalised per image, is added to the
    content as a residual of the generator's strength, after the content's
    finest detail is partly replaced by its upsampled latent-size version.
    The generator's post-processing comes last.  The same content through
    two generators gives images that differ only by their traces.

    Read more in the :doc:`procedural generators guide </guide/procedural>`.

    Parameters
    ----------
    generator : dict
        One of the ``specs`` of :func:`make_procedural_generators`.
    content : array-like of shape (n, H, W, 3), dtype uint8
        Real images; H and W multiples of 8.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampling noise (samplers and noise injection); the
        weights depend on the description only.

    Returns
    -------
    images : ndarray of shape (n, H, W, 3), dtype uint8

    Raises
    ------
    ValueError
        ``generator`` is not a description, or ``content`` is not uint8 RGB
        images whose sides are multiples of 8.

    See Also
    --------
    make_procedural_zoo : Images of many generators on random crops.

    Examples
    --------
    >>> from skfingerprint.datasets import (make_procedural_generators,
    ...                                     render_procedural_images)
    >>> from skfingerprint.datasets._photos import random_crops
    >>> tree = make_procedural_generators(2, random_state=0)
    >>> content = random_crops(4, 32, random_state=0)
    >>> images = render_procedural_images(tree.specs[0], content, random_state=0)
    >>> images.shape, images.dtype.name
    ((4, 32, 32, 3), 'uint8')
    """
    from . import _nets  # torch is imported only when images are made

    spec = _check_spec(generator)
    content = _check_content(content)
    seed = check_random_state(random_state).randint(_MAX_SEED)
    images = _nets.render(spec, content, seed ^ int(spec.get("noise_seed", 0)))
    return _postprocess(images, spec["postprocess"]) if spec["postprocess"] else images


def _as_tree(generators, relation_weights, trained_share, rng):
    if isinstance(generators, numbers.Integral):
        if generators < 1:
            raise ValueError(f"generators must be at least 1, got {generators}.")
        return make_procedural_generators(int(generators), relation_weights=relation_weights,
                                          trained_share=trained_share,
                                          random_state=rng.randint(_MAX_SEED))
    if relation_weights is not None:
        raise ValueError("relation_weights is used only when generators is an int; "
                         "leave it None with a drawn tree.")
    if trained_share:
        raise ValueError("trained_share is used only when generators is an int; "
                         "leave it 0 with a drawn tree (draw the tree with it).")
    if isinstance(generators, Mapping) and "specs" in generators:
        return generators
    if isinstance(generators, Sequence) and not isinstance(generators, str) and generators:
        specs = [dict(_check_spec(g)) for g in generators]
        names = [s.get("name") for s in specs]
        if None in names or len(set(names)) != len(names):
            raise ValueError("the generators' descriptions must have distinct 'name's.")
        return Bunch(specs=specs, names=np.array(names, dtype=str),
                     families={s["name"]: s["architecture"]["kind"] for s in specs},
                     lineage={s["name"]: tuple(s["lineage"]) for s in specs})
    raise ValueError(
        "generators must be an int, the Bunch of make_procedural_generators, or a "
        f"non-empty list of its specs; got {type(generators).__name__}."
    )


@validate_params(
    {
        "generators": [Interval(numbers.Integral, 1, None, closed="left"), Mapping, list, tuple],
        "n_images_per_generator": [Interval(numbers.Integral, 1, None, closed="left")],
        "image_size": [Interval(numbers.Integral, 8, _MAX_SIZE, closed="both")],
        "include_real": ["boolean"],
        "relation_weights": [Mapping, None],
        "trained_share": [Interval(numbers.Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_procedural_zoo(generators=16, *, n_images_per_generator=200, image_size=32,
                        include_real=True, relation_weights=None, trained_share=0.0,
                        random_state=None, return_X_y=False):
    """Make a data set of images of procedural generators, on real content.

    An unlimited, cheap supply of generators for pretraining a fingerprint
    space without downloading anything: each generator (see
    :func:`make_procedural_generators`) renders its own random crops of the
    photographs that ship with scikit-image and scikit-learn (drawn
    independently for every generator, from the same distribution), with
    :func:`render_procedural_images`.  The Bunch has the fields of
    :func:`make_model_zoo`'s, so that the encoders, the bag functions and
    :func:`lineage_groups` take it as they take the zoo.

    Read more in the :doc:`procedural generators guide </guide/procedural>`.

    Parameters
    ----------
    generators : int, Bunch or list of dict, default=16
        Number of generators to draw, or a tree from
        :func:`make_procedural_generators` (or a list of its ``specs``).
    n_images_per_generator : int, default=200
        Images per generator (and of ``"real"`` crops when included).
    image_size : int, default=32
        Side of the square images, a multiple of 8 between 8 and 256.
    include_real : bool, default=True
        Add a ``"real"`` source: crops of the same photographs, untouched.
    relation_weights : mapping of str to float, default=None
        Passed to :func:`make_procedural_generators` when ``generators`` is
        an int; must be None otherwise.
    trained_share : float in [0, 1], default=0.0
        Passed to :func:`make_procedural_generators` when ``generators`` is
        an int; must be 0 otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of the tree (when drawn), the crops and the sampling noise.  An
        int gives the same images every call on CPU with the same torch
        version (with ``trained_share > 0``, also the same number of torch
        threads: the training's sums depend on it).
    return_X_y : bool, default=False
        If True, return ``(images, labels)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes:

        images : ndarray of shape (n_sources * n_images_per_generator, size, size, 3), dtype uint8
            Channels-last RGB images, grouped by source in ``sources`` order.
        labels : ndarray of str of shape (n_images,)
            The source of each image (``"real"``, ``"pg0000"``, ...).
        sources : ndarray of str
            Source names in order, ``"real"`` first when included.
        families : dict
            Source -> upsampling kind of its decoder (``"tconv"``,
            ``"resize_conv"``, ``"pixel_shuffle"``), or ``"real"``.
        lineage : dict
            Source -> tuple of str, its ancestry (architecture, root
            decoder, ancestors, itself); ``("real",)`` for the real crops.
        metadata : dict
            Source -> its description (a dict of plain data).
        generators : Bunch
            The tree of :func:`make_procedural_generators` (with only
            ``specs``, ``names``, ``families`` and ``lineage`` when a list
            of specs was given).
        image_size : int
        DESCR : str

    (images, labels) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        An ``image_size`` that is not a multiple of 8, unknown or negative
        ``relation_weights``, or ``relation_weights`` or ``trained_share`` with a
        given tree.

    See Also
    --------
    make_model_zoo : Images of really trained generative models.
    make_fingerprinted_images : Fixed additive artifacts, no networks.

    Examples
    --------
    >>> from skfingerprint.datasets import make_procedural_zoo
    >>> data = make_procedural_zoo(4, n_images_per_generator=8, image_size=16,
    ...                            random_state=0)
    >>> data.images.shape, data.sources.tolist()
    ((40, 16, 16, 3), ['real', 'pg0000', 'pg0001', 'pg0002', 'pg0003'])
    """
    _check_image_size(image_size)
    rng = check_random_state(random_state)
    tree = _as_tree(generators, relation_weights, trained_share, rng)
    n, size = int(n_images_per_generator), int(image_size)
    sources, blocks = [], []
    if include_real:
        sources.append("real")
        blocks.append(random_crops(n, size, random_state=rng.randint(_MAX_SEED)))
    for spec in tree.specs:
        content = random_crops(n, size, random_state=rng.randint(_MAX_SEED))
        blocks.append(render_procedural_images(spec, content,
                                               random_state=rng.randint(_MAX_SEED)))
        sources.append(spec["name"])
    images = np.concatenate(blocks)
    labels = np.repeat(np.array(sources, dtype=str), n)
    if return_X_y:
        return images, labels
    families = {**({"real": "real"} if include_real else {}), **tree.families}
    lineage = {**({"real": ("real",)} if include_real else {}), **tree.lineage}
    return make_dataset_bunch(
        images=images, labels=labels, sources=sources, families=families,
        lineage=lineage, DESCR=_DESCR,
        metadata={s["name"]: copy.deepcopy(s) for s in tree.specs},
        generators=tree, image_size=size,
    )
