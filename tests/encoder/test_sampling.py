import numpy as np
import pytest

from skfingerprint.encoder._sampling import EpochBagPlanner, PKBatchSampler


def _batches(y, batch_size, bag_size, given=8, n_bags_per_model=None, seed=0):
    planner = EpochBagPlanner(given, y, bag_size, n_bags_per_model)
    return PKBatchSampler(planner, batch_size, np.random.RandomState(seed))


@pytest.mark.parametrize("batch_size", [4, 8, 16, 64])
@pytest.mark.parametrize("n_classes", [2, 5, 9])
def test_every_batch_has_two_bags_per_source(batch_size, n_classes):
    y = np.repeat(np.arange(n_classes), 7)
    sampler = _batches(y, batch_size, bag_size=8)
    seen = []
    for batch in sampler:
        labels = np.array([spec[0] for spec in batch])
        counts = np.bincount(labels)
        assert counts[counts > 0].min() >= 2
        assert len(np.unique(labels)) >= 2  # negatives too
        seen.extend(spec[1][0] for spec in batch)
    # every given bag is used exactly once per epoch
    assert sorted(seen) == list(range(len(y)))


def test_fresh_random_subsets_each_epoch():
    y = np.repeat([0, 1], 4)
    sampler = _batches(y, 8, bag_size=3, given=10)
    first = {int(s[1][0]): tuple(s[2]) for b in sampler for s in b}
    second = {int(s[1][0]): tuple(s[2]) for b in sampler for s in b}
    assert first.keys() == second.keys()
    assert first != second
    for items in first.values():
        assert len(set(items)) == 3 and max(items) < 10


def test_pooled_bags_per_model():
    y = np.repeat([0, 1, 2], 2)  # 2 given bags of 5 images per source
    planner = EpochBagPlanner(5, y, bag_size=4, n_bags_per_model=6)
    specs = planner.plan(np.random.RandomState(0))
    labels = np.array([s[0] for s in specs])
    assert np.bincount(labels).tolist() == [6, 6, 6]
    for label, bags, items in specs:
        assert len(bags) == 4
        assert (y[bags] == label).all()  # images come from that source only
        assert len(set(zip(bags, items))) == 4  # no image twice in a bag


def test_per_source_counts_regroup_each_sources_images():
    # 3 sources with 2, 3 and 1 given bags of 4 images; as many bags as given
    y = np.array([0, 0, 1, 1, 1, 2])
    planner = EpochBagPlanner(4, y, bag_size=4, n_bags_per_model=np.bincount(y))
    rng = np.random.RandomState(0)
    epochs = [planner.plan(rng) for _ in range(2)]
    for specs in epochs:
        labels = np.array([s[0] for s in specs])
        assert np.bincount(labels).tolist() == [2, 3, 1]
        for source in range(3):
            images = [(b, i) for label, bags, items in specs if label == source
                      for b, i in zip(bags, items)]
            # every image of the source exactly once: a partition into new bags
            expected = [(b, i) for b in np.flatnonzero(y == source) for i in range(4)]
            assert sorted(images) == expected
    regrouped = [{frozenset(zip(s[1], s[2])) for s in specs if s[0] == 1} for specs in epochs]
    assert regrouped[0] != regrouped[1]  # new bags every epoch
    sampler = PKBatchSampler(planner, 2, rng)
    assert len(sampler) == len(list(sampler))  # the steps of the epoch, exactly
    with pytest.raises(ValueError, match="one per source"):
        EpochBagPlanner(4, y, bag_size=4, n_bags_per_model=[2, 3])


def test_deterministic_given_seed():
    y = np.repeat(np.arange(3), 5)
    a = [[(s[0], tuple(s[2])) for s in b] for b in _batches(y, 6, 4, seed=3)]
    b = [[(s[0], tuple(s[2])) for s in b] for b in _batches(y, 6, 4, seed=3)]
    assert a == b


def test_length_is_the_number_of_steps_of_every_epoch():
    """``len`` counts the batches the coming epoch yields (the progress bar
    shows it), and asking for it does not change the draws."""
    y = np.repeat(np.arange(3), [7, 5, 9])
    planner = EpochBagPlanner(4, y, bag_size=4, n_bags_per_model=np.bincount(y))
    asked = PKBatchSampler(planner, 8, np.random.RandomState(0))
    plain = PKBatchSampler(planner, 8, np.random.RandomState(0))
    for _ in range(4):
        n = len(asked)
        batches = list(asked)
        assert n == len(batches)
        assert [[tuple(s[2]) for s in b] for b in batches] == [
            [tuple(s[2]) for s in b] for b in plain]
