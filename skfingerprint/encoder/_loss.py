"""The set contrastive loss of the paper (Eq. 1-2)."""

from __future__ import annotations

import torch

__all__ = ["set_contrastive_loss", "SetContrastiveLoss", "image_cross_entropy",
           "ImageCrossEntropyLoss"]


def set_contrastive_loss(z, y, *, temperature=1.0, reduction="mean"):
    """Contrastive loss over bag embeddings (paper Eq. 1-2).

    For embeddings ``z_i`` with labels ``y_i``, ``d_ij = ||z_i - z_j||^2`` and

    ``L_i = -log( sum_{j != i, y_j = y_i} exp(-d_ij / T) / sum_{k != i} exp(-d_ik / T) )``

    computed with ``logsumexp``.  Anchors without any positive in the batch
    (no other bag of their source) have no defined loss and are left out of
    the average; if no anchor has a positive the loss is 0 (with a gradient
    graph, so ``backward`` works).

    Parameters
    ----------
    z : torch.Tensor of shape (n, d)
        Bag embeddings.
    y : torch.Tensor of shape (n,)
        Integer source labels.
    temperature : float, default=1.0
        ``T`` above; the paper uses 1.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns the per-anchor losses, NaN for anchors without a
        positive.

    Returns
    -------
    loss : torch.Tensor
        A scalar, or shape ``(n,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from skfingerprint.encoder import set_contrastive_loss
    >>> z = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> float(set_contrastive_loss(z, y)) < 1e-3
    True
    """
    if z.ndim != 2:
        raise ValueError(f"z must have shape (n, d), got {tuple(z.shape)}.")
    y = y.reshape(-1).to(z.device)
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"z has {z.shape[0]} rows but y has {y.shape[0]} labels.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    z = z.float()
    n = z.shape[0]
    sq = (z * z).sum(dim=1)
    d = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)).clamp_min(0.0)
    logits = -d / temperature
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    neg_inf = torch.finfo(logits.dtype).min
    logits = logits.masked_fill(eye, neg_inf)
    positive = (y[:, None] == y[None, :]) & ~eye
    log_denominator = torch.logsumexp(logits, dim=1)
    log_numerator = torch.logsumexp(logits.masked_fill(~positive, neg_inf), dim=1)
    per_anchor = log_denominator - log_numerator
    has_positive = positive.any(dim=1)
    if reduction == "none":
        return per_anchor.masked_fill(~has_positive, float("nan"))
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}.")
    if not bool(has_positive.any()):
        return (z * 0.0).sum()
    return per_anchor[has_positive].mean()


class SetContrastiveLoss:
    """Callable criterion wrapping :func:`set_contrastive_loss` for skorch.

    A plain callable, not a parameter-free ``nn.Module`` (one of those
    breaks Accelerate's data-parallel CPU path).  When
    ``torch.distributed`` is initialised with more than one process, the
    embeddings and labels of all processes are gathered (with gradient for
    the local part) so that negatives are global; processes may hold
    different numbers of bags.  The loss value is the global-batch loss on
    every process, and its gradient is scaled so that the gradient average
    of data-parallel training (DDP) equals the gradient of the global-batch
    loss.

    Parameters
    ----------
    temperature : float, default=1.0
        Temperature of the softmax over negative squared distances.
    source_groups : sequence of int or None, default=None
        The group of each source (indexed by the integer source label):
        with ``group_weight > 0``, the loss adds ``group_weight`` times the
        same contrastive loss with the bags' groups as labels, so that bags
        of related sources (a group) sit closer to each other than to bags
        of other groups, while each source stays its own cluster.
    group_weight : float, default=0.0
        Weight of that group term; 0 is the paper's loss.
    image_weight : float, default=0.0
        Weight of the per-image term: when the network returns ``(z,
        logits)`` (:class:`ImageSupervisedSet` in training), the mean
        cross-entropy of the scores of every image (or patch) of every bag
        against its bag's source is added, times ``image_weight``.  With a
        plain embedding ``z`` there is no such term.

    Examples
    --------
    >>> import torch
    >>> from skfingerprint.encoder import SetContrastiveLoss
    >>> loss = SetContrastiveLoss()
    >>> z = torch.zeros(4, 2, requires_grad=True)
    >>> round(float(loss(z, torch.tensor([0, 0, 1, 1]))), 4)  # log(3): all equal
    1.0986
    """

    def __init__(self, temperature=1.0, source_groups=None, group_weight=0.0,
                 image_weight=0.0):
        self.temperature = temperature
        self.source_groups = source_groups
        self.group_weight = group_weight
        self.image_weight = image_weight

    def __call__(self, z, y):
        image_loss = None
        if isinstance(z, (tuple, list)):
            z, logits = z
            if self.image_weight > 0:
                image_loss = image_cross_entropy(logits, y)
        z, y, world = _gather_for_loss(z, y)
        loss = set_contrastive_loss(z, y, temperature=self.temperature)
        if self.source_groups is not None and self.group_weight > 0:
            # the same loss one level up: bags of sources of one group are
            # positives of each other (the group of each bag's source)
            table = torch.as_tensor(self.source_groups, dtype=torch.long, device=z.device)
            groups = table[y.reshape(-1).to(z.device).long()]
            loss = loss + self.group_weight * set_contrastive_loss(
                z, groups, temperature=self.temperature)
        if world > 1:
            # Each process back-propagates through its own embeddings only,
            # and data-parallel training averages the gradients of the
            # processes.  Scaling the gradient (not the value) by the world
            # size makes that average the gradient of the global-batch loss.
            loss = loss * world - loss.detach() * (world - 1)
        if image_loss is not None:
            # local to each process: data-parallel training averages its
            # gradient over the processes
            loss = loss + self.image_weight * image_loss
        return loss

    def __repr__(self):
        args = [f"temperature={self.temperature!r}"]
        if self.source_groups is not None and self.group_weight:
            args.append(f"group_weight={self.group_weight!r}")
        if self.image_weight:
            args.append(f"image_weight={self.image_weight!r}")
        return f"SetContrastiveLoss({', '.join(args)})"


def image_cross_entropy(logits, y):
    """Mean cross-entropy of per-image scores against their bags' sources.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_bags, bag_size, n_classes)
        Scores of every image of every bag.
    y : torch.Tensor of shape (n_bags,)
        Integer source of each bag, given to each of its images.

    Returns
    -------
    loss : torch.Tensor
        A scalar: the mean over all ``n_bags * bag_size`` images.
    """
    if logits.ndim != 3:
        raise ValueError(
            f"logits must have shape (n_bags, bag_size, n_classes), got {tuple(logits.shape)}.")
    y = y.reshape(-1).to(logits.device).long()
    if y.shape[0] != logits.shape[0]:
        raise ValueError(f"logits has {logits.shape[0]} bags but y has {y.shape[0]} labels.")
    targets = y.repeat_interleave(logits.shape[1])
    return torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), targets)


class ImageCrossEntropyLoss:
    """The criterion of phi's per-image training (:func:`image_cross_entropy`).

    The loss of the first stage of
    ``SetFingerprintEncoder(phi_training="images")``: called with the scores
    of every image of every bag ``(n_bags, k, n_classes)``
    (:class:`ImageSourceClassifier`) and the integer source of each bag, it
    returns the mean cross-entropy over all images.  Under data-parallel
    training each process's loss is local (the gradients are averaged).

    Examples
    --------
    >>> import torch
    >>> from skfingerprint.encoder import ImageCrossEntropyLoss
    >>> logits = torch.zeros(2, 3, 4)  # 2 bags of 3 images, 4 sources
    >>> round(float(ImageCrossEntropyLoss()(logits, torch.tensor([0, 3]))), 4)  # log(4)
    1.3863
    """

    def __call__(self, logits, y):
        return image_cross_entropy(logits, y)

    def __repr__(self):
        return "ImageCrossEntropyLoss()"


def _gather_for_loss(z, y):
    """Gather the embeddings and labels of all processes, in rank order.

    Returns ``(z, y, world_size)``.  Only the local rows carry a gradient.
    Processes may hold different numbers of bags (the all-gather itself
    needs equal shapes, so the rows are padded to the largest count and the
    padding is cut off again).
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return z, y, 1
    world = dist.get_world_size()
    if world == 1:
        return z, y, 1
    rank = dist.get_rank()
    y = y.reshape(-1).to(z.device)
    count = torch.tensor([z.shape[0]], dtype=torch.int64, device=z.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    counts = [int(c) for c in counts]
    rows = max(counts)
    z_pad = z.detach().new_zeros((rows,) + tuple(z.shape[1:]))
    z_pad[: z.shape[0]] = z.detach()
    y_pad = y.new_full((rows,), -1)
    y_pad[: y.shape[0]] = y
    zs = [torch.empty_like(z_pad) for _ in range(world)]
    ys = [torch.empty_like(y_pad) for _ in range(world)]
    dist.all_gather(zs, z_pad)
    dist.all_gather(ys, y_pad)
    zs = [part[:c] for part, c in zip(zs, counts)]
    ys = [part[:c] for part, c in zip(ys, counts)]
    zs[rank], ys[rank] = z, y  # keep the gradient of the local part
    return torch.cat(zs, dim=0), torch.cat(ys, dim=0), world
