"""SetFingerprintEncoder: a scikit-learn transformer that owns a skorch net."""

from __future__ import annotations

import functools
import inspect
import multiprocessing
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._bags import BagInputMixin, check_bag_labels, check_source_groups
from .._net_state import NetStateMixin
from .._training import check_callbacks, fit_net
from .._validation import (
    NON_NEGATIVE_INT,
    POSITIVE_FINITE,
    POSITIVE_INT,
    check_int_tuple,
    resolve_device,
)
from .._threads import cpu_threads, decode_threads, one_ahead, read_ahead, torch_threads
from .._validation import available_cpus as _available_cpus
from ._loss import ImageCrossEntropyLoss, SetContrastiveLoss
from ..metrics import model_fingerprints
from ._modules import DeepSet, ImageSourceClassifier, ImageSupervisedSet, PooledFeatureSet
from ._weights import load_into, resolve_weights
from ._sampling import (
    BagSpecDataset,
    EpochBagPlanner,
    FeatureBagDataset,
    PKBatchSampler,
    ReadAheadLoader,
    SeededBatches,
    collate_bags,
)

__all__ = ["SetFingerprintEncoder"]

_STATE_VERSION = 1


class SetFingerprintEncoder(
    NetStateMixin,
    BagInputMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Learn fingerprints of generative models from bags of their images.

    A DeepSet ``F(bag) = rho(pool_{x in bag} phi(x))`` (phi: a fully
    convolutional per-image CNN, pool: mean or sum, rho: an MLP, or a linear
    map, of the standardised pooled features) trained with
    the set contrastive loss of the paper: bags of the same source attract,
    bags of other sources repel (softmax over negative squared Euclidean
    distances).  By default phi first learns from every image on its own
    (``phi_training="images"``), then rho from bags.  ``transform`` maps
    each bag to a fingerprint vector, ready for any scikit-learn
    classifier, metric or clustering.

    The estimator owns a skorch ``NeuralNet`` (``net_``) that trains the
    torch module; it is not a subclass of it, so ``get_params`` holds only
    the parameters below and every input passes the library's validation.

    Parameters
    ----------
    embedding_dim : int, default=32
        Length of the fingerprint vectors.
    channels : tuple of int, default=(16, 32, 64)
        Widths of the stages of phi; the first stage runs at full resolution.
    full_res_layers : int, default=1
        Number of 3x3 convolutions of phi at full resolution (no striding, no
        pooling), where high-frequency artifacts are kept.
    convs_per_stage : int, default=1
        3x3 convolutions in each stage of phi after the first, the first of
        them with stride 2 (each stage halves the resolution).  The layers
        use PyTorch's default initialisation, the layout of the per-image CNN
        baseline (``AttributionCNN``).  Models saved before this parameter
        existed had 2 per stage; they load unchanged (and report
        ``convs_per_stage=2``).
    front_end : {"auto", "normalised_residual", "image_and_residual"}, default="auto"
        What the first convolution of phi sees.  ``"normalised_residual"``:
        the high-pass residual (the image minus its 3x3 local mean), centred
        and divided by its root mean square per image and channel, as in
        forensic CNNs (``AttributionCNN``): image content, brightness and
        contrast are removed, the texture that samplers and decoders leave
        is kept.  ``"image_and_residual"``: the image and its (unnormalised)
        residual (the input of models saved before this parameter existed).
        ``"auto"``: ``"normalised_residual"`` for images,
        ``"image_and_residual"`` for bags of scalar items (1x1 images have no
        residual).
    rho_hidden : int, default=128
        Width of the two hidden layers of rho (the paper's MLP); 0 makes rho
        one linear map of the pooled features (standardised over the bags
        of a batch).  The linear rho attributes the zoo's hardest sibling
        samplers better at bags of 32 (it keeps evidence that the MLP loses),
        but its fingerprints are less decorrelated and, at bags of 10, no
        more accurate: the "Benchmarks" page of the documentation has the
        measurements.
    embedding_radius : float or None, default=1.5
        Radius of the sphere onto which the bag embeddings are projected
        before the loss; None leaves them unbounded.  The loss is Eq. 1-2 of
        the paper either way (squared Euclidean distances).  Unbounded
        embeddings can satisfy the loss with all sources strung along one
        line, far apart; their fingerprints then correlate strongly and the
        decorrelation score is poor.  On a small sphere the loss cannot be
        saturated by distance alone and spreads the sources in all
        directions.
    pooling : {"mean", "sum", "mean_std"}, default="mean"
        Permutation-invariant pooling of the image features of a bag.  The
        paper uses the mean.  ``"sum"`` makes the fingerprint depend on the
        number of images, so keep bag sizes fixed with it.  ``"mean_std"``
        pools the mean and the standard deviation of each feature over the
        bag (how much the images of a source vary, besides where they sit).
    bag_size : int or None, default=None
        The number of images the encoder pools into one fingerprint, in
        ``fit`` and in ``transform`` alike.  None pools every image of each
        given bag.  A given bag with more images is subsampled: in ``fit`` a
        fresh random set of ``bag_size`` images is drawn at every epoch (from
        each source's pooled images with the default
        ``n_bags_per_model="auto"``, from each given bag with None); in
        ``transform`` the first ``bag_size`` images are taken (a
        deterministic subset).  A given bag with fewer images is pooled
        whole in ``transform``.  This is the parameter of the paper's study
        of bag sizes (``GridSearchCV`` over ``bag_size``); ``bag_size=1`` is
        the paper's DSF- (no set encoding).  How the data are grouped into
        bags is a separate choice (:func:`~skfingerprint.make_bags`);
        ``transform(X, whole_bags=True)`` pools every image of each bag
        whatever ``bag_size``, e.g. to fingerprint a query bag of any size.

        .. versionchanged:: 0.1
           ``bag_size`` has this one meaning; ``transform`` takes
           ``whole_bags=True`` for fingerprints of whole bags, instead of
           setting ``bag_size=None`` on a fitted encoder.
    n_bags_per_model : int, "auto" or None, default="auto"
        Bags per source per epoch, redrawn every epoch from the pooled
        training images of that source.  ``"auto"``: as many bags as the
        source was given, its images regrouped into new bags every epoch
        (the same images and optimisation steps per epoch as the given
        bags, but new combinations: the network cannot memorise the
        training bags, and the fingerprint must hold for any bag of the
        source).  None keeps the given bags as they are, e.g. when the bags
        of a source are not interchangeable.  An int draws that many bags
        per source, which can make bags larger than the given ones
        (``bag_size``) and balances the sources.
    max_epochs : int, default=10
        Number of passes over the training bags (and, with
        ``phi_training="images"``, also over the training images in phi's
        per-image stage before).  0 trains nothing: with
        ``weights``, ``fit`` only records the sources, their fingerprints and
        the output scaling, and the shipped fingerprint space is used as it
        is (zero-shot); without, the random initial weights are kept.
    lr : float, default=1e-3
        Learning rate of Adam in the training on bags (of rho, or of phi
        and rho together with ``phi_training="bags"``).
    batch_size : int, default=32
        Bags per optimisation step.  Every batch holds at least two bags of
        each source it contains (P sources x K bags), so each anchor has a
        positive.
    temperature : float, default=1.0
        Temperature of the softmax over negative squared distances (the
        paper's loss has 1).
    group_weight : float, default=1.0
        Weight of the group term of the loss when ``fit`` is given
        ``groups`` (ignored otherwise; 0 turns it off): the same contrastive
        loss with the bags' groups as labels, added to the source loss, so
        that related sources sit closer together than unrelated ones (a
        dendrogram of the known sources follows the groups).  See Notes.
    image_loss_weight : float, default=0.0
        Weight of a per-image term of the training loss: a linear head on
        phi's features of every image (every patch in patch mode), before
        pooling, scores the training sources, and the mean cross-entropy of
        those scores against each image's bag source is added to the set
        contrastive loss, times this weight.  Every image then gives a
        training signal of its own, besides its share in its bag's
        embedding.  The head serves training only: the fingerprint is the
        set embedding either way, and the fitted encoder does not keep the
        head.  0 trains on the set contrastive loss alone.  It applies to
        the end-to-end training (``phi_training="bags"``); with
        ``phi_training="images"`` a weight above 0 is a ``ValueError``.  See
        Notes.
    phi_training : {"images", "bags"}, default="images"
        How phi, the per-image network, learns.  ``"images"``: in two
        stages.  First phi learns to tell the source of every training image
        (every patch in patch mode), image by image: a training-only head (a
        hidden layer of 128 units and a linear layer over the training
        sources) scores each image, with the cross-entropy against its bag's
        source as the loss, ``image_batch_size`` images per step at
        ``image_lr``, for ``max_epochs`` passes over the images (the
        recipe of the per-image CNN baseline, ``AttributionCNN``).  Then phi
        is frozen, and rho learns from phi's pooled features with the set
        contrastive loss, on bags as with ``"bags"``; phi's features of
        every training image are computed once for it.  With an
        ``augmentation``, twice: of the images as they are and of the images
        augmented (a ``RandomPostProcessing``, as ``"auto"``, at full
        strength: every one of its operations on every image; another
        callable as it is), and each bag of rho's stage takes the augmented
        features of a share of its images drawn for the bag (uniformly in
        [0, 1]), so that rho meets bags from untouched to all re-encoded and
        gives a source one fingerprint whatever share of its images was
        post-processed.  Every image is a training signal of its own, not
        just a share of its bag's, which is what separates sibling generators
        (the samplers of one network, the models behind one decoder); the
        fingerprint is still rho of the pooled features.  ``"bags"``: the
        paper's training, phi and rho together, end to end, by the set
        contrastive loss alone (with ``image_loss_weight``, plus a per-image
        term).  The "Benchmarks" page of the documentation compares the two.

        .. versionchanged:: 0.1
           ``"images"`` is the default; it was ``"bags"`` before this
           parameter existed (models saved before load as ``"bags"``).
    image_batch_size : int, default=64
        Images per optimisation step of phi's per-image stage
        (``phi_training="images"``; each with its ``patches_per_image``
        patches in patch mode).  A step draws ``K = max(2, image_batch_size
        // n_sources)`` images of each of up to ``image_batch_size // K``
        sources, as the bag batches do (e.g. 2 images of each of 22 sources:
        44 images).
    image_lr : float, default=3e-3
        Learning rate of Adam in phi's per-image stage
        (``phi_training="images"``).
    weights : str or None, default=None
        Start training from shipped pretrained weights instead of random
        ones: ``"pretrained"`` (the newest), or a name of
        :func:`skfingerprint.encoder.available_weights`.  The weights ship
        inside the package (nothing is downloaded) and are read in ``fit``,
        never at import.  They fix the architecture: ``embedding_dim``,
        ``channels``, ``full_res_layers``, ``convs_per_stage``,
        ``front_end``, ``rho_hidden``, ``pooling`` and ``embedding_radius``
        must keep the values they were trained with (the defaults), and the
        images must be RGB; otherwise ``fit`` raises a ``ValueError`` naming
        what differs.  ``"pretrained"`` was trained on thousands of
        procedurally generated generators
        (:func:`skfingerprint.datasets.make_procedural_generators`), to
        separate them and to make distance follow their family tree; with
        ``max_epochs=0`` it is used as it is, with ``max_epochs > 0`` it is
        fine-tuned on the training bags.  The "Pretrained fingerprint space"
        guide says what carries over to real generators and where training
        from scratch is better.  The name of the weights used is
        ``weights_``.
    image_size : int, (int, int) or None, default=None
        For bags of image file paths: resize and centre-crop every decoded
        image to this size.  None requires files of one size (outside patch
        mode).  Resizing resamples the pixels and erases much of the
        high-frequency traces that fingerprints are made of: prefer
        ``patch_size`` for images of mixed or large sizes.
    patch_size : None, "auto", int or (int, int), default=None
        Patch mode: every image contributes ``patches_per_image`` crops of
        this size (height, width) to its bag's set, never resized, so images
        of any size of at least the patch, and of mixed sizes, can be
        fingerprinted.  Crops start at multiples of 8 pixels (the JPEG block
        grid and the period of common upsampling layers stay in phase); in
        ``fit`` they are drawn afresh every epoch, in ``transform`` they are
        a deterministic grid spread over the image.  With ``bag_size=1`` on a
        large image, the fingerprint is the set fingerprint of that one
        image's patches.  ``"auto"`` chooses in ``fit``, from the sizes of
        the training images: whole images when they all have one size of at
        most 64 pixels per side, else square patches of 64 pixels, or of the
        smallest side of any image aligned down to a multiple of 8 when that
        is smaller (an image with a side under 8 pixels is refused); the
        choice is ``patch_size_``.  None (default) uses whole images.
        Excludes ``image_size``.
    patches_per_image : int, default=8
        Crops per image in patch mode (ignored otherwise).  Cost and memory
        per image are bounded by ``patch_size x patches_per_image``, whatever
        the size of the image.
    chunk_size : int, default=1024
        Most images sent through phi at once; larger batches and bags are
        encoded chunk by chunk (gradient-checkpointed in training), which
        bounds memory.
    scale_output : bool, default=True
        Centre the fingerprints on the mean training fingerprint and divide
        them by one global scale (their root-mean-square deviation per
        dimension).  Distances keep their ratios (one factor for all), and
        the classifiers that follow (e.g. ``MLPClassifier()``) need no
        scaler: raw contrastive embeddings can sit far from the origin at a
        scale on which default-initialised networks fail.
    num_workers : int or "auto", default="auto"
        DataLoader worker processes that decode image files (bags of paths)
        in ``fit`` and ``transform`` while the network runs.  ``"auto"``:
        2 for bags of paths of at least 64 images on a machine with at
        least 4 CPUs available to this process (so that decoding large
        files overlaps with the network); 0 for arrays, for fewer images
        (starting workers would cost more than it saves), with fewer than 4
        CPUs (the workers would take a core from the network), and inside a
        child process (a joblib, Dask or multiprocessing worker, where the
        workers would compete for the same CPUs, or may not start at all).
        While workers decode on CPU, ``transform`` runs the network on the
        remaining CPUs' worth of torch threads (at least one; restored
        afterwards).  With no workers, bags of paths are decoded by as many
        threads as torch uses (at most the CPUs available): in ``transform``
        they read the next batches while the network runs, in ``fit`` they
        read the bags of a step together (Pillow decodes without the GIL).
        Results are the same for any number of workers or threads.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Arithmetic of phi.  ``"auto"`` uses bfloat16 autocast on CUDA devices
        that support it and float32 elsewhere (so CPU results stay
        deterministic); pooling, rho and the loss always run in float32.
    compile : bool, default=False
        Compile the network with ``torch.compile`` (through skorch).  Pays
        off on GPUs for long fits; on CPU it mostly adds compile time.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default="auto"
        Where the network runs; ``"auto"`` takes CUDA when available.  The
        resolved device is ``device_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (in a forked torch RNG: the global torch
        RNG is left as it was) and the drawing of bags and batches.  With an
        int, results are identical from run to run on CPU.
    verbose : int, default=0
        0 prints nothing; 1 prints a progress bar of the optimisation steps
        of each epoch and the loss per epoch.
    callbacks : list of skorch callbacks or None, default=None
        Passed to the skorch net of the training on bags (``net_``), e.g.
        ``skorch.callbacks.Checkpoint``; phi's per-image stage of
        ``phi_training="images"`` trains a net of its own without them.
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``),
        e.g. on several GPUs or processes started by ``accelerate launch`` or
        ``torchrun``.  The accelerator places the network (``device`` is then
        ignored and ``device_`` is the accelerator's device) and shards the
        batches: each process trains on its own ``batch_size`` bags per step
        and the loss gathers the embeddings of all processes, so every bag
        meets the negatives of the global batch of ``num_processes *
        batch_size`` bags.  ``transform`` runs whole on every process.  With
        one process the result equals training without it.  The accelerator
        is shared, not copied, by ``clone``.  See the "Scaling out" guide.
    augmentation : "auto", callable or None, default="auto"
        Perturbs the images of every training bag, every epoch, before they
        reach the network (never in ``transform``; with
        ``phi_training="images"``, the images of phi's stage every epoch and
        those of rho's stage once: see ``phi_training``), e.g.
        :class:`skfingerprint.augment.RandomPostProcessing` to learn
        fingerprints that survive JPEG compression, resizing, blur and noise.
        ``"auto"``: for images, whole or in patch mode,
        ``RandomPostProcessing(resize_scale=None, blur_sigma=None)`` (JPEG
        quality 50-100 and noise of up to 2 grey levels, each with
        probability 1/2, image by image), because the images met after
        training are re-encoded more often than not; none for bags of scalar
        items.  (Blur and resizing are left out: they erase the
        high-frequency traces that tell sibling samplers apart.)  None never
        augments: the paper's setting, for fingerprints of clean images that
        are fragile to JPEG; on clean images it attributes small bags
        somewhat better and fits in about 0.6-0.65 of the time.  The benchmarks'
        sections "Robust by default" and "A linear rho, and the defaults on the
        paper's protocol" document the choice.  Called
        as ``augmentation(images, rng)`` with the images of one bag,
        an array of shape ``(bag_size, H, W, C)`` (uint8; float32 in [0, 1]
        for floating input), and a ``numpy.random.Generator`` seeded from
        ``random_state``, the epoch and the bag's place in it (so fits stay
        deterministic, also with ``num_workers > 0``); it must return an
        array of the same shape and dtype.  It must pickle for
        ``num_workers > 0`` with a non-fork start method, and for the model
        to be saved (:func:`skfingerprint.save` trusts
        ``RandomPostProcessing``; your own class needs ``trusted=``).
        ``RandomPostProcessing`` augments the bags of a step in as many
        threads as torch uses (the same result for any number); other
        callables are called in one thread, one bag at a time.  Without
        DataLoader workers, the next batch is read and augmented in a
        thread while the network trains on the current one.

        .. versionchanged:: 0.1
           ``"auto"`` augments whole images too (it used to in patch mode
           only), with JPEG and noise but no blur; pass
           ``augmentation=None`` for the earlier whole-image fits.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sources seen in ``fit``, sorted.
    fingerprints_ : ndarray of shape (n_classes, embedding_dim)
        Mean (transformed) training fingerprint of each source, in the order
        of ``classes_``.
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.history`` holds the loss per epoch.
    device_ : str
        The device the network ran on.
    n_features_in_ : int
        Number of items per bag seen in ``fit`` for 2D input (bags of scalar
        items); not set for image bags.
    input_shape_ : tuple of int
        ``(H, W, C)`` of the items the network saw in ``fit``: the images, or
        the patches in patch mode.  Outside patch mode ``transform`` requires
        images of this size (the fingerprint of a fully convolutional
        network with global pooling depends on the image size).
    patch_size_ : tuple of int or None
        The patch ``(height, width)`` used (``patch_size="auto"`` resolved
        from the training images), or None for whole images.
    embedding_center_ : ndarray of shape (embedding_dim,)
        Subtracted from raw embeddings (zeros when ``scale_output=False``).
    embedding_scale_ : float
        Raw embeddings are divided by it (1 when ``scale_output=False``).
    source_groups_ : ndarray of shape (n_classes,)
        The group of each source of ``classes_``; set only when ``fit`` was
        given ``groups``.
    weights_ : str or None
        The shipped weights training started from (``"pretrained"``
        resolved to its versioned name, e.g. ``"artifacts-v1"``), or None.

    See Also
    --------
    skfingerprint.make_bags : Group single images into bags.
    skfingerprint.metrics.DecorrelationScorer : Score the fingerprints.

    Notes
    -----
    The loss is Eq. 1-2 of the paper: for bag embeddings ``z_i`` with labels
    ``y_i`` and ``d_ij = ||z_i - z_j||^2``,
    ``L_i = -log(sum_{j != i, y_j = y_i} exp(-d_ij) / sum_{k != i} exp(-d_ik))``.

    With ``groups`` (and ``group_weight`` w > 0) the loss is
    ``L_source + w * L_group``, where ``L_group`` is the same loss with the
    group of each bag's source as its label: bags of other sources of the
    same group count as positives there.  It is an extension of the paper,
    for model similarity.

    With ``image_loss_weight`` v > 0 the loss adds ``v * L_image``, the mean
    cross-entropy ``-log softmax(W phi(x) + b)_{y}`` over every image ``x``
    of every bag in the batch (patches in patch mode), with ``y`` the
    source of its bag and ``W, b`` a linear head trained along.

    With ``phi_training="images"`` (the default) that loss trains rho (and
    the standardisation of the pooled features) only: phi was trained before
    by the mean cross-entropy ``-log softmax(h(phi(x)))_{y}`` over the
    training images ``x`` (patches in patch mode), ``h`` a training-only head
    with one hidden layer, ``y`` the source of the image's bag.

    No part of the training bags is held out silently for validation; pass
    your own split through cross-validation.

    Examples
    --------
    >>> from skfingerprint import SetFingerprintEncoder, make_bags
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> data = make_fingerprinted_images(n_models=3, n_images_per_model=48,
    ...                                  image_size=16, random_state=0)
    >>> X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    >>> enc = SetFingerprintEncoder(max_epochs=2, random_state=0).fit(X, y)
    >>> enc.transform(X).shape
    (18, 32)
    >>> enc.classes_.tolist()
    ['A1', 'A2', 'B1']
    """

    def __init__(
        self,
        embedding_dim=32,
        *,
        channels=(16, 32, 64),
        full_res_layers=1,
        convs_per_stage=1,
        front_end="auto",
        rho_hidden=128,
        embedding_radius=1.5,
        pooling="mean",
        bag_size=None,
        n_bags_per_model="auto",
        max_epochs=10,
        lr=1e-3,
        batch_size=32,
        temperature=1.0,
        group_weight=1.0,
        image_loss_weight=0.0,
        phi_training="images",
        image_batch_size=64,
        image_lr=3e-3,
        weights=None,
        image_size=None,
        patch_size=None,
        patches_per_image=8,
        chunk_size=1024,
        scale_output=True,
        num_workers="auto",
        precision="auto",
        compile=False,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
        augmentation="auto",
    ):
        self.embedding_dim = embedding_dim
        self.channels = channels
        self.full_res_layers = full_res_layers
        self.convs_per_stage = convs_per_stage
        self.front_end = front_end
        self.rho_hidden = rho_hidden
        self.embedding_radius = embedding_radius
        self.pooling = pooling
        self.bag_size = bag_size
        self.n_bags_per_model = n_bags_per_model
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.temperature = temperature
        self.group_weight = group_weight
        self.image_loss_weight = image_loss_weight
        self.phi_training = phi_training
        self.image_batch_size = image_batch_size
        self.image_lr = image_lr
        self.weights = weights
        self.image_size = image_size
        self.patch_size = patch_size
        self.patches_per_image = patches_per_image
        self.chunk_size = chunk_size
        self.scale_output = scale_output
        self.num_workers = num_workers
        self.precision = precision
        self.compile = compile
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator
        self.augmentation = augmentation

    _parameter_constraints: dict = {
        "embedding_dim": [POSITIVE_INT],
        "channels": [tuple, list],
        "full_res_layers": [NON_NEGATIVE_INT],
        "convs_per_stage": [POSITIVE_INT],
        "front_end": [StrOptions({"auto", "image_and_residual", "normalised_residual"})],
        "rho_hidden": [NON_NEGATIVE_INT],
        "embedding_radius": [POSITIVE_FINITE, None],
        "pooling": [StrOptions({"mean", "sum", "mean_std"})],
        "bag_size": [POSITIVE_INT, None],
        "n_bags_per_model": [POSITIVE_INT, StrOptions({"auto"}), None],
        "max_epochs": [NON_NEGATIVE_INT],
        "lr": [POSITIVE_FINITE],
        "batch_size": [POSITIVE_INT],
        "temperature": [POSITIVE_FINITE],
        "group_weight": [Interval(Real, 0, None, closed="left")],
        "image_loss_weight": [Interval(Real, 0, None, closed="left")],
        "phi_training": [StrOptions({"images", "bags"})],
        "image_batch_size": [POSITIVE_INT],
        "image_lr": [POSITIVE_FINITE],
        "weights": [str, None],
        **BagInputMixin._bag_input_constraints,
        "chunk_size": [POSITIVE_INT],
        "scale_output": ["boolean"],
        "num_workers": [NON_NEGATIVE_INT, StrOptions({"auto"})],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "compile": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": "no_validation",  # check_callbacks, once per fit
        "accelerator": [HasMethods(["prepare"]), None],
        "augmentation": [callable, None, StrOptions({"auto"})],
    }

    def _resolve_augmentation(self, bags):
        """The augmentation callable (or None) that ``augmentation`` stands for."""
        if not (isinstance(self.augmentation, str) and self.augmentation == "auto"):
            return self.augmentation
        if bags.is_scalar:
            return None
        from ..augment import RandomPostProcessing

        return RandomPostProcessing(resize_scale=None, blur_sigma=None)

    # --------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Train the set encoder on bags ``X`` with sources ``y``.

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
            Bags of images (uint8 or floats in [0, 1]), of image paths, or of
            scalar items (2D numeric input); in patch mode also nested lists
            of images of different sizes.
        y : array-like of shape (n_bags,)
            Source of each bag.
        groups : array-like of shape (n_bags,), default=None
            The group of each bag's source, when related sources are known at
            training time (the samplers of one network, the fine-tunes of one
            model, the models behind one decoder): one group per source.  The
            loss then also draws the bags of one group together, weighted by
            ``group_weight`` (see Notes).  In a
            :class:`~sklearn.pipeline.Pipeline`, pass it as ``fp__groups=``,
            or with metadata routing enabled, request it with
            ``encoder.set_fit_request(groups=True)``.

        Returns
        -------
        self : SetFingerprintEncoder
            The fitted encoder.
        """
        self._fit(X, y, groups)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y, groups=None):
        """Fit, and return the fingerprints of the training bags.

        The same as ``fit(X, y).transform(X)``, but each training bag is
        read (and its files decoded) for the fingerprints only once: ``fit``
        computes them anyway, for ``fingerprints_`` and the output scaling.

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
            Bags, as in ``fit``.
        y : array-like of shape (n_bags,)
            Source of each bag.
        groups : array-like of shape (n_bags,), default=None
            The group of each bag's source, as in ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_bags, embedding_dim), dtype float32
            The fingerprints of the training bags.
        """
        return self._fit(X, y, groups)

    def _fit(self, X, y, groups=None):
        """Fit, and return the fingerprints of the training bags."""
        channels = check_int_tuple("channels", self.channels)
        weights = None if self.weights is None else resolve_weights(self.weights)
        callbacks = check_callbacks(self.callbacks, owner=type(self).__name__)
        device = resolve_device(self.device)
        if self.phi_training == "images" and self.image_loss_weight > 0:
            raise ValueError(
                f"image_loss_weight={self.image_loss_weight!r} adds a per-image term to "
                "the end-to-end training of phi and rho (phi_training='bags'); with "
                "phi_training='images' phi is already trained image by image, then "
                "frozen. Set phi_training='bags' to use image_loss_weight, or "
                "image_loss_weight=0."
            )
        bags = self._validate_bags(X, reset=True)
        data = _FitData.check(self, bags, y, groups)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if self.accelerator is not None:
            device = str(self.accelerator.device)
            # every process must draw the same bags and batches, for the
            # accelerator to hand each process different ones
            seed = _broadcast_seed(self.accelerator, seed)
        self.device_ = device
        sampler = self._batch_sampler(data, seed)
        augmentation = self._resolve_augmentation(bags)
        if augmentation is not None or bags.patch is not None:
            # a seed per bag and epoch (augmentation, random crops):
            # deterministic in any DataLoader worker
            sampler = SeededBatches(sampler, seed ^ 0xA06)
        workers = _resolve_workers(self.num_workers, bags, len(sampler))
        module = self._build_module(
            bags.image_shape[2], channels, seed, self._resolve_front_end(bags)
        )
        if weights is not None:
            load_into(module, self.weights)
        self.weights_ = weights
        dataset = BagSpecDataset(
            bags, augmentation=augmentation,
            threads=decode_threads(bags) if workers == 0 else 1,
            augment_threads=cpu_threads() if workers == 0 else 1,
        )
        if self.max_epochs > 0 and self.phi_training == "images":
            self._train_phi_on_images(module, data, dataset, workers, seed)
            # phi is fixed from here: its features of every training image,
            # once, are all that rho's training on bags needs
            dataset = self._feature_dataset(module, dataset, seed)
            module = PooledFeatureSet(module, bags.items_per_image)
            workers = 0
        elif self.image_loss_weight > 0 and self.max_epochs > 0:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed ^ 0x1A6E)
                module = ImageSupervisedSet(module, data.classes.size)
        self.net_ = self._make_net(module, data, sampler, callbacks, workers, seed)
        # an interrupt (Ctrl-C) keeps the last weights, with a warning
        fit_net(self, dataset)
        if self.accelerator is not None:
            _average_buffers(self._module, self.accelerator)
        return self._finish_fit(data)

    def _batch_sampler(self, data, seed):
        """The P x K sampler of the training bags of every epoch."""
        if self.batch_size < 4:
            warnings.warn(
                f"batch_size={self.batch_size} is smaller than the smallest batch "
                "of the P x K sampler (2 sources x 2 bags, so that every bag has "
                "a positive and a negative); batches of 4 bags are used.",
                UserWarning,
                stacklevel=4,
            )
        per_source = (
            data.counts if self.n_bags_per_model == "auto" else self.n_bags_per_model
        )
        planner = EpochBagPlanner(data.bags.bag_size, data.y_idx, data.k, per_source)
        return PKBatchSampler(planner, self.batch_size, np.random.RandomState(seed ^ 0x5EED))

    def _train_phi_on_images(self, module, data, dataset, workers, seed):
        """First stage of ``phi_training="images"``: phi (in ``module``, a
        DeepSet, trained in place) learns to tell each image's source."""
        n_images = data.counts * data.bags.bag_size  # every image once an epoch
        planner = EpochBagPlanner(data.bags.bag_size, data.y_idx, 1, n_images)
        sampler = PKBatchSampler(planner, self.image_batch_size,
                                 np.random.RandomState(seed ^ 0x1A6E))
        if dataset.augmentation is not None or data.bags.patch is not None:
            sampler = SeededBatches(sampler, seed ^ 0x1A6F)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed ^ 0x1A6E)
            classifier = ImageSourceClassifier(module, data.classes.size)
        callbacks = []
        net = self._make_net(classifier, data, sampler, callbacks, workers, seed,
                             criterion=ImageCrossEntropyLoss,
                             lr=float(self.image_lr))
        try:
            fit_net(self, dataset, net=net, stage="phi's per-image training")
        finally:
            classifier.release()

    def _feature_dataset(self, module, dataset, seed):
        """rho's training data after phi's stage: phi's features of every
        training image, computed once; with an augmentation, those of the
        images as they are and those of the images augmented (a
        ``RandomPostProcessing`` at full strength, every operation applied),
        which each bag mixes in a share of its own (:class:`FeatureBagDataset`)."""
        from ..augment import RandomPostProcessing

        augmentation = dataset.augmentation
        if augmentation is None:
            return FeatureBagDataset(*self._image_features(module, dataset, seed, (None,)))
        if isinstance(augmentation, RandomPostProcessing):
            augmentation = clone(augmentation).set_params(p=1.0)
        augmented, clean = self._image_features(module, dataset, seed, (augmentation, None))
        return FeatureBagDataset(augmented, clean=clean)

    def _image_features(self, module, dataset, seed, augmentations):
        """phi's pooling sums of every training image ``(n_bags, bag_size, F)``
        (with the sums of squares appended for ``pooling="mean_std"``), one
        array for each of ``augmentations`` (None: the images as they are):
        each image read once (and cropped in patch mode, with a seed of its
        own), then augmented by each."""
        bags = dataset.bags
        n_given = bags.bag_size
        specs = [
            (0, np.array([b]), np.array([i]), (seed ^ 0xFEA7, b, i))
            for b in range(bags.n_bags) for i in range(n_given)
        ]
        step = max(1, module.chunk_size // bags.items_per_image)  # images a pass
        module.eval()
        device = self.device_
        rows = [[] for _ in augmentations]
        # the next chunk is read and augmented in a thread (Pillow's codecs
        # release the GIL) while phi encodes the current one
        chunks = one_ahead(
            dataset.variants(specs[start:start + step], augmentations)
            for start in range(0, len(specs), step)
        )
        with torch.inference_mode():
            for variants in chunks:
                for out, images in zip(rows, variants):
                    x = torch.from_numpy(np.stack(images)).to(device)
                    _, total, squares = module.pool_sums(module.image_features(x))
                    if squares is not None:
                        total = torch.cat([total, squares], dim=1)
                    out.append(total.float().cpu().numpy())
        module.train()
        return [np.concatenate(out).reshape(bags.n_bags, n_given, -1) for out in rows]

    def _make_net(self, module, data, sampler, callbacks, workers, seed, *,
                  criterion=None, lr=None):
        """The skorch net that trains ``module`` on the batches of ``sampler``
        (with the set contrastive loss and ``lr`` unless given)."""
        from skorch import NeuralNet

        accelerator = self.accelerator
        if self.verbose and (accelerator is None or accelerator.is_main_process):
            callbacks.append(_step_progress_bar())
        net_class, net_kwargs = NeuralNet, {"device": self.device_}
        if accelerator is not None:
            net_class = _accelerated_net_class()
            net_kwargs = {
                "device": None,
                "accelerator": accelerator,
                # skorch logs through accelerator.print (main process only),
                # which ignores verbose; plain print obeys it
                "callbacks__print_log__sink": "auto" if self.verbose else print,
            }
            sampler = _VariableSizeBatches(sampler)
        groups = data.source_groups
        if criterion is None:
            criterion = functools.partial(
                SetContrastiveLoss, temperature=float(self.temperature),
                source_groups=None if groups is None else groups[1],
                group_weight=float(self.group_weight),
                image_weight=float(self.image_loss_weight),
            )
        return net_class(
            module=module,
            criterion=criterion,
            optimizer=torch.optim.Adam,
            lr=float(self.lr) if lr is None else lr,
            max_epochs=int(self.max_epochs),
            batch_size=1,
            iterator_train=ReadAheadLoader,
            iterator_train__batch_sampler=sampler,
            iterator_train__batch_size=1,
            iterator_train__shuffle=False,
            iterator_train__collate_fn=collate_bags,
            iterator_train__num_workers=workers,
            iterator_train__multiprocessing_context=_worker_context(workers),
            # a private generator: the DataLoader would draw its worker seed
            # from the global torch RNG otherwise
            iterator_train__generator=torch.Generator().manual_seed(seed),
            iterator_train__pin_memory=str(self.device_).startswith("cuda"),
            iterator_train__persistent_workers=workers > 0,
            train_split=None,
            callbacks=callbacks or None,
            compile=bool(self.compile),
            verbose=int(self.verbose),
            **net_kwargs,
        )

    def _finish_fit(self, data):
        """Fitted attributes after training; the training fingerprints."""
        trained = self._module
        if isinstance(trained, ImageSupervisedSet):
            # the per-image head served the loss only: keep the DeepSet
            self.net_.module_ = trained.deepset
        elif isinstance(trained, PooledFeatureSet):
            self.net_.module_ = trained.release()
        self.classes_ = data.classes
        if data.source_groups is not None:
            self.source_groups_ = data.source_groups[0]
        elif hasattr(self, "source_groups_"):
            del self.source_groups_
        self._n_features_out = int(self.embedding_dim)
        raw = self._encode(data.bags, data.k)
        if not np.isfinite(raw).all():
            raise RuntimeError(
                "Training diverged: the embeddings contain NaN or infinity. Lower "
                "lr or check the input images."
            )
        if self.scale_output:
            center = raw.mean(axis=0)
            scale = float(np.sqrt(np.mean((raw - center) ** 2)))
            if not np.isfinite(scale) or scale < 1e-12:
                scale = 1.0
        else:
            center, scale = np.zeros(raw.shape[1], dtype=np.float32), 1.0
        self.embedding_center_ = center.astype(np.float32)
        self.embedding_scale_ = scale
        Z = self._scale(raw)
        self.fingerprints_ = model_fingerprints(Z, data.y_idx)[1].astype(np.float32)
        return Z

    def _resolve_front_end(self, bags):
        """``front_end`` ("auto" resolved), refused where it cannot work."""
        if self.front_end == "auto":
            # scalar items are 1x1 images: no residual to normalise
            return "image_and_residual" if bags.is_scalar else "normalised_residual"
        if self.front_end == "normalised_residual" and bags.is_scalar:
            raise ValueError(
                "front_end='normalised_residual' needs images: bags of scalar items "
                "are 1x1 images, whose high-pass residual is zero. Use "
                "front_end='image_and_residual' (or 'auto', the default)."
            )
        return self.front_end

    def _build_module(self, in_channels, channels, seed, front_end):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = DeepSet(
                in_channels=int(in_channels),
                embedding_dim=int(self.embedding_dim),
                channels=channels,
                n_full_res=int(self.full_res_layers),
                convs_per_stage=int(self.convs_per_stage),
                init="pytorch",
                rho_hidden=int(self.rho_hidden),
                pooling=self.pooling,
                chunk_size=int(self.chunk_size),
                radius=self.embedding_radius,
                precision=self.precision,
                front_end=front_end,
            )
        return module

    # --------------------------------------------------------------- transform
    @property
    def _module(self):
        """The torch module (unwrapped from ``torch.compile``)."""
        module = self.net_.module_
        return getattr(module, "_orig_mod", module)

    def _encode(self, bags, k):
        """Raw embeddings of every bag, streamed batch by batch.

        Memory is bounded by a few batches of ``chunk_size`` images; bags of
        files are decoded by ``num_workers`` DataLoader workers or, with
        none, by threads (:func:`~skfingerprint._threads.decode_threads`)
        that read the next batches while the network runs.
        """
        module = self.net_.module_
        module.eval()
        k = min(k, bags.bag_size)
        per_chunk = max(1, self._module.chunk_size // bags.items_per_image)
        if k > per_chunk:  # a bag larger than a chunk: pooled chunk by chunk
            return self._encode_by_chunks(bags, k, per_chunk)
        step = max(1, self._module.chunk_size // (k * bags.items_per_image))
        workers = (
            _resolve_workers(self.num_workers, bags, bags.n_bags)
            if bags.kind == "paths"
            else 0
        )
        # workers (or threads) decode parts of a batch, several of them the
        # first batch too; the network always sees the same batches of
        # ``step`` bags, so the result does not depend on the number of
        # workers or threads
        threads = decode_threads(bags) if workers == 0 else 1
        parallel = workers > 0 or threads > 1
        batches = _BagBatches(bags, k, step, parts=_PARTS_PER_BATCH if parallel else 1)
        on_cuda = str(self.device_).startswith("cuda")
        if workers:
            loader = torch.utils.data.DataLoader(
                batches,
                batch_size=None,
                num_workers=workers,
                multiprocessing_context=_worker_context(workers),
                # enough parts in flight for the workers to decode the whole
                # next batch while the network runs
                prefetch_factor=_PARTS_PER_BATCH // workers + 1,
                pin_memory=on_cuda,
                generator=torch.Generator(),  # leave the global torch RNG alone
            )
        else:
            # up to two batches read ahead of the network
            loader = read_ahead(
                functools.partial(_read_part, batches, pin=on_cuda),
                len(batches), threads, ahead=2 * _PARTS_PER_BATCH,
            )
        out = np.empty((bags.n_bags, int(self.embedding_dim)), dtype=np.float32)
        pending, first = [], 0
        # the workers decode on the CPUs the network's threads would use:
        # fewer torch threads meanwhile (inference is bit-identical for any
        # number of threads; training is not, so fit keeps them)
        n_threads = (
            max(1, _available_cpus() - workers) if workers and not on_cuda else None
        )
        with torch_threads(n_threads, at_most=True), torch.inference_mode():
            for (start, stop, batch_stop), tensor in loader:
                if not pending:
                    first = start
                pending.append(tensor)
                if stop < batch_stop:
                    continue
                tensor = pending[0] if len(pending) == 1 else torch.cat(pending)
                pending = []
                tensor = tensor.to(self.device_, non_blocking=on_cuda)
                out[first:stop] = module(tensor).float().cpu().numpy()
        return out

    def _encode_by_chunks(self, bags, k, per_chunk):
        """Raw embeddings of bags of more than ``per_chunk`` images (``k``
        each): every bag is read and pooled ``per_chunk`` images at a time, so
        that memory is bounded by a few chunks whatever the size of the bag
        (the pooling is a sum or a mean, which add up chunk by chunk).  Files
        are decoded by threads, each chunk in parts, up to two chunks ahead of
        the network."""
        module = self._module
        threads = decode_threads(bags)
        parts = _PARTS_PER_BATCH if threads > 1 else 1
        # (bag, first image, last image + 1, whether it ends a chunk)
        units = []
        for b in range(bags.n_bags):
            for start in range(0, k, per_chunk):
                stop = min(start + per_chunk, k)
                units += [(b, lo, hi, hi == stop) for lo, hi in _parts(start, stop, parts)]
        on_cuda = str(self.device_).startswith("cuda")

        def read(i):
            b, start, stop, _ = units[i]
            items = bags.take(np.array([b]), np.arange(start, stop)[None, :])
            tensor = torch.from_numpy(np.ascontiguousarray(items))
            return tensor.pin_memory() if on_cuda else tensor

        out = np.empty((bags.n_bags, int(self.embedding_dim)), dtype=np.float32)
        pending, total = [], None
        with torch.inference_mode():
            read_parts = read_ahead(read, len(units), threads, ahead=2 * parts)
            for (b, start, stop, ends_chunk), tensor in zip(units, read_parts):
                pending.append(tensor)
                if not ends_chunk:
                    continue
                tensor = pending[0] if len(pending) == 1 else torch.cat(pending, dim=1)
                pending = []
                sums = module.pool_sums(module.image_features(
                    tensor.to(self.device_, non_blocking=on_cuda)))
                total = sums if total is None else tuple(
                    None if a is None else a + c for a, c in zip(total, sums))
                if stop == k:
                    pooled = module.pooled_from_sums(total)
                    out[b] = module.head(pooled).float().cpu().numpy()[0]
                    total = None
        return out

    def _scale(self, raw):
        return ((raw - self.embedding_center_) / self.embedding_scale_).astype(
            np.float32
        )

    def transform(self, X, *, whole_bags=False):
        """Fingerprint each bag.

        Parameters
        ----------
        X : array-like of shape (n_bags, bag_size, H, W[, C]) or (n_bags, bag_size)
            Bags in any form accepted by ``fit``; images must have the number
            of channels seen in ``fit`` and, outside patch mode, its image
            size.  Bags may hold a different number of images than in
            ``fit``; in patch mode images may have any size of at least
            ``patch_size_``.
        whole_bags : bool, default=False
            Pool every image of each bag, whatever ``bag_size`` (e.g. to
            fingerprint a query bag of any size).  By default a bag of more
            than ``bag_size`` images is fingerprinted from its first
            ``bag_size`` images.

        Returns
        -------
        Z : ndarray of shape (n_bags, embedding_dim), dtype float32
            The fingerprints.
        """
        check_is_fitted(self, ("net_", "fingerprints_"))
        bags = self._validate_bags(X, reset=False)
        k = bags.bag_size if whole_bags or self.bag_size is None else int(self.bag_size)
        return self._scale(self._encode(bags, k))

    # ------------------------------------------------------------- sklearn API
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # ------------------------------------------------------------- persistence
    _net_module_cls = DeepSet
    _net_criterion = SetContrastiveLoss
    _net_state_version = _STATE_VERSION

    # Parameters added after models were first saved, whose default then
    # changed the behaviour: the value that describes a model saved without
    # them (its network is rebuilt from the layout recorded in the file).
    _PARAMS_OF_OLDER_MODELS = {"convs_per_stage": 2, "front_end": "image_and_residual",
                               "phi_training": "bags"}

    def __setstate__(self, state):
        # A model saved before a parameter existed gets the value that
        # describes it (or else the default), so that get_params, repr and
        # clone work on it.
        state = dict(state)
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and name not in state:
                state[name] = self._PARAMS_OF_OLDER_MODELS.get(name, param.default)
        if "classes_" in state:  # fitted before shipped weights existed
            state.setdefault("weights_", None)
        super().__setstate__(state)


class _FitData:
    """The checked training data of one fit: bags, sources and the bag size.

    ``k`` is the number of images pooled per bag (``bag_size``, or the given
    bags' when None); ``counts`` the given bags of each source;
    ``source_groups`` what :func:`~skfingerprint._bags.check_source_groups`
    returned.
    """

    def __init__(self, bags, classes, y_idx, source_groups, k):
        self.bags = bags
        self.classes = classes
        self.y_idx = y_idx
        self.source_groups = source_groups
        self.k = k
        self.counts = np.bincount(y_idx, minlength=classes.size)

    @classmethod
    def check(cls, encoder, bags, y, groups):
        y = check_bag_labels(y, bags.n_bags)
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"{type(encoder).__name__} needs bags of at least 2 sources to "
                f"contrast, got 1 class ({classes.tolist()[0]!r})."
            )
        source_groups = check_source_groups(groups, y_idx, classes)
        k = bags.bag_size if encoder.bag_size is None else int(encoder.bag_size)
        data = cls(bags, classes, y_idx, source_groups, k)
        data.check_bag_size(encoder.n_bags_per_model)
        return data

    def check_bag_size(self, n_bags_per_model):
        """Refuse a ``bag_size`` the training bags cannot give; warn about lone bags."""
        k, given, counts = self.k, self.bags.bag_size, self.counts
        # None and "auto" keep the given number of bags of each source
        # ("auto" regroups their images every epoch); an int draws that many
        if not isinstance(n_bags_per_model, Integral):
            if k > given:
                raise ValueError(
                    f"bag_size={k} is larger than the given bags ({given} "
                    "images). Lower bag_size, give larger bags, or set "
                    "n_bags_per_model to an int to draw bags from each source's "
                    "pooled images."
                )
            if k == given and (counts < 2).any():
                warnings.warn(
                    f"Source {self.classes.tolist()[(counts < 2).argmax()]!r} has a "
                    "single training bag: it serves as a negative only, with no "
                    "positive pair to attract. Give at least 2 bags per source.",
                    UserWarning,
                    stacklevel=6,
                )
            return
        pooled = counts.min() * given
        if k > pooled:
            raise ValueError(
                f"bag_size={k} is larger than the {pooled} images of the smallest "
                f"source ({self.classes.tolist()[counts.argmin()]!r}); lower bag_size."
            )


def _step_progress_bar():
    """A skorch ``ProgressBar`` that counts the optimisation steps of each epoch.

    skorch's own counts the items of the dataset (here: bags), not the
    batches that the P x K sampler makes of them.
    """
    from skorch.callbacks import ProgressBar

    class _StepProgressBar(ProgressBar):
        def _get_batches_per_epoch(self, net, dataset_train, dataset_valid):
            return len(net.iterator_train__batch_sampler)

    return _StepProgressBar()


def _broadcast_seed(accelerator, seed):
    """The seed of the main process, on every process of ``accelerator``."""
    if accelerator.num_processes == 1:
        return seed
    from accelerate.utils import broadcast_object_list

    return int(broadcast_object_list([seed], from_process=0)[0])


def _average_buffers(module, accelerator):
    """Average the running statistics (BatchNorm) of all processes.

    Data-parallel training keeps the parameters equal on every process, but
    each process updates its running statistics on its own batches; without
    this, ``transform`` would differ from process to process.
    """
    if accelerator.num_processes == 1:
        return
    import torch.distributed as dist

    with torch.no_grad():
        for buffer in module.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
                buffer.div_(accelerator.num_processes)


@functools.lru_cache(maxsize=None)
def _accelerated_net_class():
    """``class _AcceleratedNet(AccelerateMixin, NeuralNet)``, imported lazily."""
    from skorch import NeuralNet
    from skorch.hf import AccelerateMixin

    class _AcceleratedNet(AccelerateMixin, NeuralNet):
        """A skorch ``NeuralNet`` trained through an ``accelerate.Accelerator``."""

    return _AcceleratedNet


class _VariableSizeBatches:
    """A batch sampler that tells Accelerate its batches vary in size.

    Accelerate shards a batch sampler over processes (each process takes
    every ``num_processes``-th batch).  With a ``batch_size`` attribute it
    yields only batches of exactly that size; P x K batches vary, and
    ``batch_size = None`` makes it take them all (and, at the end of an
    epoch, repeat the first batches so that every process makes the same
    number of steps).
    """

    batch_size = None
    drop_last = False

    def __init__(self, batch_sampler):
        self.batch_sampler = batch_sampler

    def __iter__(self):
        return iter(self.batch_sampler)

    def __len__(self):
        return len(self.batch_sampler)


# "auto" starts DataLoader workers for at least this many images of files
_AUTO_WORKERS_MIN_IMAGES = 64
_AUTO_WORKERS_MIN_CPUS = 4
# in transform with workers, each batch of bags is decoded in this many parts
_PARTS_PER_BATCH = 8


def _resolve_workers(num_workers, bags, n_items):
    """The number of DataLoader workers that ``num_workers`` stands for.

    ``n_items``: the loader's items (bags in transform, batches in fit); one
    item leaves nothing to decode in parallel.
    """
    if not (isinstance(num_workers, str) and num_workers == "auto"):
        return int(num_workers)
    if (
        bags.kind != "paths"
        or n_items < 2
        or bags.n_bags * bags.bag_size < _AUTO_WORKERS_MIN_IMAGES
        or multiprocessing.parent_process() is not None
    ):
        return 0
    # With fewer than 4 cores worker processes take a core from the network
    # and the decode threads of num_workers=0 do better.
    return 0 if _available_cpus() < _AUTO_WORKERS_MIN_CPUS else 2


def _worker_context(workers):
    """Start DataLoader workers by fork on Linux (also inside loky workers).

    Fork is already the default on Linux, except inside joblib's loky
    workers, where the default context cannot start DataLoader workers.
    """
    if workers > 0 and sys.platform.startswith("linux"):
        return "fork"
    return None


def _parts(start, stop, parts):
    """``[start, stop)`` cut into up to ``parts`` consecutive ``(lo, hi)`` ranges
    of about equal length."""
    bounds = np.round(np.linspace(start, stop, min(parts, stop - start) + 1)).astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _read_part(batches, i, pin=False):
    """Part ``i`` of ``batches``, in pinned memory for a copy to CUDA."""
    where, tensor = batches[i]
    return where, (tensor.pin_memory() if pin else tensor)


class _BagBatches(torch.utils.data.Dataset):
    """Consecutive batches of ``step`` bags (first ``k`` images each), for streaming.

    Each batch is read in up to ``parts`` consecutive parts (items of the
    dataset), ``((start, stop, batch_stop), tensor)``: a batch is complete
    with the part whose ``stop`` is ``batch_stop``.
    """

    def __init__(self, bags, k, step, parts=1):
        self.bags, self.k = bags, k
        self.units = []
        for batch_start in range(0, bags.n_bags, step):
            batch_stop = min(batch_start + step, bags.n_bags)
            self.units += [(a, b, batch_stop)
                           for a, b in _parts(batch_start, batch_stop, parts)]

    def __len__(self):
        return len(self.units)

    def __getitem__(self, i):
        start, stop, batch_stop = self.units[i]
        idx = np.arange(start, stop)
        items = np.broadcast_to(np.arange(self.k), (idx.size, self.k))
        batch = np.ascontiguousarray(self.bags.take(idx, items))
        return (start, stop, batch_stop), torch.from_numpy(batch)


def _expected_failed_checks(estimator):
    """Checks of scikit-learn's suite that fail by design, with the reason."""
    return {
        "check_methods_subset_invariance": (
            "float32 convolution kernels differ in the last bits with the batch "
            "size (relative differences about 1e-4), as in any torch model."
        ),
    }
