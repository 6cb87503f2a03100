"""Per-epoch bag drawing and the P-models x K-bags batch sampler."""

from __future__ import annotations

import numpy as np
import torch

from .._threads import map_in_threads, one_ahead

__all__ = ["EpochBagPlanner", "PKBatchSampler", "SeededBatches", "BagSpecDataset"]


class EpochBagPlanner:
    """Draws the training bags of one epoch.

    Each planned bag is ``(label, bag_indices, item_indices)``: the flat
    coordinates of its images in the training :class:`~skfingerprint._bags.BagSource`.

    * ``n_bags_per_model is None``: the given bags are kept; when
      ``bag_size`` is smaller than the given bags, each epoch uses a fresh
      random subset of ``bag_size`` images of each bag.
    * ``n_bags_per_model`` is an int: the images of all training bags of one
      source are pooled and ``n_bags_per_model`` bags of ``bag_size`` images
      are drawn from the pool every epoch (disjoint as long as the pool lasts).
    * ``n_bags_per_model`` is a sequence of ints, one per source (by integer
      label): the same, with that many bags for each source (e.g. as many as
      it was given: new combinations of its images every epoch).
    """

    def __init__(self, n_given, y_idx, bag_size, n_bags_per_model=None):
        self.n_given = int(n_given)  # images per given bag
        self.y_idx = np.asarray(y_idx)
        self.bag_size = int(bag_size)
        self.n_classes = int(self.y_idx.max()) + 1
        if n_bags_per_model is not None:
            # one count per source (an int: the same for every source)
            counts = np.asarray(n_bags_per_model, dtype=int)
            if counts.ndim == 0:
                counts = np.full(self.n_classes, counts)
            if counts.shape != (self.n_classes,):
                raise ValueError(
                    f"n_bags_per_model has {counts.size} counts for "
                    f"{self.n_classes} sources; give one per source."
                )
            n_bags_per_model = counts
        self.n_bags_per_model = n_bags_per_model

    @property
    def n_planned(self):
        """Bags in one epoch's plan."""
        if self.n_bags_per_model is None:
            return len(self.y_idx)
        return int(self.n_bags_per_model.sum())

    def plan(self, rng):
        k, n_given = self.bag_size, self.n_given
        specs = []
        if self.n_bags_per_model is None:
            for b, label in enumerate(self.y_idx):
                if k == n_given:
                    items = np.arange(n_given)
                else:
                    items = np.sort(rng.choice(n_given, size=k, replace=False))
                specs.append((int(label), np.full(k, b), items))
            return specs
        for label in range(self.n_classes):
            bag_ids = np.flatnonzero(self.y_idx == label)
            pool_b = np.repeat(bag_ids, n_given)
            pool_i = np.tile(np.arange(n_given), bag_ids.size)
            order = rng.permutation(pool_b.size)
            pos = 0
            for _ in range(int(self.n_bags_per_model[label])):
                if pos + k > order.size:
                    order, pos = rng.permutation(pool_b.size), 0
                take = order[pos : pos + k]
                pos += k
                specs.append((label, pool_b[take], pool_i[take]))
        return specs


class PKBatchSampler:
    """Yields batches of planned bags, at least two bags of each source present.

    With ``n_classes`` sources and ``batch_size`` bags per step, each batch
    holds ``P`` sources x ``K`` bags with ``K = max(2, batch_size // n_classes)``
    and ``P = max(2, batch_size // K)`` (at most ``n_classes``): every anchor
    has a positive and the batch holds negatives.  A new plan is drawn from
    the planner at every epoch (every ``__iter__``); ``len`` is the number
    of batches of the coming epoch.

    Iterating yields lists of bag specs, used as indices of
    :class:`BagSpecDataset`.
    """

    def __init__(self, planner, batch_size, random_state):
        self.planner = planner
        self.batch_size = int(batch_size)
        self.rng = random_state
        self._drawn = None

    def _batches(self, specs):
        rng = self.rng
        n_classes = self.planner.n_classes
        K = max(2, self.batch_size // n_classes)
        P = min(n_classes, max(2, self.batch_size // K))
        groups = {}
        for idx in rng.permutation(len(specs)):
            groups.setdefault(specs[idx][0], []).append(specs[idx])
        queues = {}
        for label, members in groups.items():
            chunks = [members[i : i + K] for i in range(0, len(members), K)]
            if len(chunks) > 1 and len(chunks[-1]) < 2:
                chunks[-2].extend(chunks.pop())
            queues[label] = chunks
        batches = []
        while True:
            live = [c for c in queues if queues[c]]
            if not live:
                break
            if len(live) == 1 and batches:
                # a lone source left: spread its groups over earlier batches
                for chunk in queues[live[0]]:
                    batches[rng.randint(len(batches))].extend(chunk)
                break
            remaining = np.array([len(queues[c]) for c in live], dtype=float)
            noise = rng.random_sample(len(live))
            order = np.lexsort((noise, -remaining))
            chosen = [live[i] for i in order[:P]]
            batch = []
            for c in chosen:
                batch.extend(queues[c].pop(0))
            batches.append(batch)
        return batches

    def _next_batches(self):
        """The batches of the next epoch, drawn once (by ``len`` or ``iter``)."""
        if self._drawn is None:
            self._drawn = self._batches(self.planner.plan(self.rng))
        return self._drawn

    def __iter__(self):
        batches = self._next_batches()
        self._drawn = None
        yield from batches

    def __len__(self):
        # the exact number of steps of the next epoch: its batches are drawn
        # now, and the next iteration yields them (the draws follow the same
        # sequence whether or not the length was asked for)
        return len(self._next_batches())


class SeededBatches:
    """Wraps a batch sampler; gives every planned bag its own random seed.

    The ``i``-th bag of the ``b``-th batch of the ``e``-th epoch (the
    ``e``-th iteration) gets the entropy ``(seed, e, b, i)``, appended to its
    spec: the augmentation of a bag is then drawn from
    ``numpy.random.default_rng((seed, e, b, i))``, the same in the main
    process and in any DataLoader worker, whatever the order in which the
    workers load the batches.
    """

    def __init__(self, batch_sampler, seed):
        self.batch_sampler = batch_sampler
        self.seed = int(seed)
        self.epoch = 0

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        for b, batch in enumerate(self.batch_sampler):
            yield [
                tuple(spec[:3]) + ((self.seed, epoch, b, i),)
                for i, spec in enumerate(batch)
            ]

    def __len__(self):
        return len(self.batch_sampler)


class BagSpecDataset(torch.utils.data.Dataset):
    """Dataset indexed by planned bags; loads their images from a BagSource.

    ``augmentation``, when given, is called as ``augmentation(images, rng)``
    on the items of each bag (``(k, H, W, C)``, or ``(k * patches_per_image,
    h, w, C)`` in patch mode; uint8, or float32 for floating input) with
    ``rng = numpy.random.default_rng(spec[3])`` (the seed that
    :class:`SeededBatches` attaches; in patch mode the random crops are drawn
    from it first), and must return an array of the same shape and dtype.
    In patch mode or with bags of varying size, the bags of a batch are read
    by up to ``threads`` threads.  The bags of a batch are augmented by up to
    ``augment_threads`` threads when the augmentation says it is thread-safe
    (a true ``_thread_safe`` attribute, as the library's
    :class:`~skfingerprint.augment.RandomPostProcessing`: Pillow's JPEG codec
    releases the GIL), else in the calling thread; each bag draws from its
    own generator, so the result does not depend on the number of threads.
    """

    def __init__(self, bags, augmentation=None, threads=1, augment_threads=1):
        self.bags = bags
        self.augmentation = augmentation
        self.threads = threads
        self._augment_threads = augment_threads

    @property
    def augment_threads(self):
        """Threads that augment the bags of a batch with ``augmentation``."""
        return self._threads_for(self.augmentation)

    def _threads_for(self, augmentation):
        """``augment_threads`` for a thread-safe augmentation, else 1."""
        return self._augment_threads if getattr(augmentation, "_thread_safe", False) else 1

    def __len__(self):
        return self.bags.n_bags

    def __getitem__(self, spec):
        return self.__getitems__([spec])[0]

    def __getitems__(self, specs):
        (images,) = self.variants(specs, (self.augmentation,))
        return [(images[i], specs[i][0]) for i in range(len(specs))]

    def variants(self, specs, augmentations):
        """The items of the planned bags ``specs``, read once, then under each
        of ``augmentations`` (None: as read): one list of arrays per
        augmentation.  Each augmentation draws from its own copy of a bag's
        generator after the crops, so ``variants(specs, (a,))`` gives the
        images of ``__getitems__`` with ``augmentation=a``."""
        # one generator per planned bag: random crops (patch mode), then the
        # augmentation, draw from it in this order
        rngs = [np.random.default_rng(s[3]) if len(s) > 3 else None for s in specs]
        shape = self.bags.image_shape
        if self.bags.patch is None and len({len(s[1]) for s in specs}) == 1:
            bag_idx = np.stack([s[1] for s in specs])
            item_idx = np.stack([s[2] for s in specs])
            images = self.bags.take(
                bag_idx.reshape(-1), item_idx.reshape(-1, 1)
            ).reshape((len(specs), -1) + shape)
        else:
            # each bag draws from its own generator: the same images for any
            # number of threads
            def take(spec_rng):
                spec, rng = spec_rng
                items = self.bags.take(spec[1], spec[2].reshape(-1, 1), rng=rng)
                return items.reshape((-1,) + shape)

            images = map_in_threads(take, zip(specs, rngs), self.threads)
        out = []
        # every augmentation draws from the generators as the crops left them:
        # those before the last that draws take copies (the images as read
        # draw nothing)
        drawing = sum(a is not None for a in augmentations)
        for augmentation in augmentations:
            if augmentation is None:
                out.append(images)
                continue
            drawing -= 1
            own = [_copy_generator(rng) for rng in rngs] if drawing else rngs
            out.append(map_in_threads(
                lambda i, aug=augmentation, own=own: self._augment(aug, images[i], own[i]),
                range(len(specs)), self._threads_for(augmentation)))
        return out

    @staticmethod
    def _augment(augmentation, images, rng):
        out = np.asarray(augmentation(images, rng or np.random.default_rng()))
        if out.shape != images.shape or out.dtype != images.dtype:
            raise ValueError(
                f"augmentation must return an array of the shape and dtype of the "
                f"images of a bag ({images.shape}, {images.dtype}), got "
                f"{out.shape}, {out.dtype}."
            )
        return out


def _copy_generator(rng):
    """An independent copy of a ``numpy.random.Generator`` in its current
    state (None stays None); cheaper than ``copy.deepcopy``."""
    if rng is None:
        return None
    bit_generator = type(rng.bit_generator)()
    bit_generator.state = rng.bit_generator.state
    return np.random.Generator(bit_generator)


class FeatureBagDataset(torch.utils.data.Dataset):
    """Dataset indexed by planned bags over precomputed per-image features.

    ``features`` has shape ``(n_bags, bag_size, F)``: a row per training
    image, at the image's place in the training bags.  A planned bag
    ``(label, bag_indices, item_indices, ...)`` gives its images' rows
    ``(k, F)`` and its label, as :class:`BagSpecDataset` gives its images.

    With ``clean`` (the features of the images as they are, of the shape of
    ``features``, which then hold the features of the augmented images), a
    bag with a seed (``spec[3]``, see :class:`SeededBatches`) draws a share
    ``w`` uniformly in [0, 1], then takes each image's augmented row with
    probability ``w`` and its clean row otherwise: the bags range from
    untouched to all augmented.  A bag without a seed takes the augmented rows.
    """

    def __init__(self, features, clean=None):
        self.features = features
        self.clean = clean

    def __len__(self):
        return self.features.shape[0]

    def __getitem__(self, spec):
        return self.__getitems__([spec])[0]

    def __getitems__(self, specs):
        return [(self._rows(s), s[0]) for s in specs]

    def _rows(self, spec):
        rows = self.features[spec[1], spec[2]]
        if self.clean is None or len(spec) < 4:
            return rows
        rng = np.random.default_rng(spec[3])
        share = rng.random()
        augmented = rng.random(rows.shape[0]) < share
        return np.where(augmented[:, None], rows, self.clean[spec[1], spec[2]])


class ReadAheadLoader(torch.utils.data.DataLoader):
    """A ``DataLoader`` that, without worker processes, prepares the next
    batch in a thread while the network trains on the current one.

    Reading, cropping and augmenting a batch is NumPy and Pillow work that
    releases the GIL in its codecs and copies, and the network's step is
    torch work that releases it too, so the two overlap.  The batches and
    their order are those of the plain ``DataLoader``: the sampler and every
    bag's generator decide them, not the thread.  An error raised while a
    batch is prepared is raised where the batch is taken.
    """

    def __iter__(self):
        batches = super().__iter__()
        if self.num_workers > 0:  # the workers read ahead already
            return batches
        return one_ahead(batches)


def collate_bags(samples):
    """Stack ``(images, label)`` pairs into ``(uint8/float tensor, long tensor)``."""
    images = np.stack([s[0] for s in samples])
    labels = np.array([s[1] for s in samples], dtype=np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)
