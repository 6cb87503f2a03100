import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from skfingerprint.encoder import SetContrastiveLoss, set_contrastive_loss


def _brute_force(z, y, temperature=1.0):
    """Paper Eq. 1-2, literally, in float64 NumPy with plain loops."""
    n = len(z)
    losses = []
    for i in range(n):
        d = np.array([np.sum((z[i] - z[j]) ** 2) for j in range(n)])
        others = [j for j in range(n) if j != i]
        positives = [j for j in others if y[j] == y[i]]
        if not positives:
            losses.append(np.nan)
            continue
        p = np.exp(-d / temperature)
        losses.append(-np.log(p[positives].sum() / p[others].sum()))
    return np.array(losses)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_loss_matches_brute_force(seed, temperature):
    rng = np.random.RandomState(seed)
    z = rng.normal(scale=0.7, size=(12, 5))
    y = rng.randint(0, 3, size=12)
    expected = _brute_force(z, y, temperature)
    per_anchor = set_contrastive_loss(
        torch.tensor(z), torch.tensor(y), temperature=temperature, reduction="none"
    ).double().numpy()
    np.testing.assert_allclose(per_anchor, expected, rtol=1e-4, atol=1e-5)
    mean = float(set_contrastive_loss(torch.tensor(z), torch.tensor(y),
                                      temperature=temperature))
    assert mean == pytest.approx(np.nanmean(expected), rel=1e-4)


def test_loss_is_stable_for_far_apart_embeddings():
    # exp(-d) underflows for d ~ 1e4; logsumexp must keep the loss finite
    z = torch.tensor([[0.0], [100.0], [200.0], [300.5]], requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    loss = set_contrastive_loss(z, y)
    assert torch.isfinite(loss)
    # exact value in log space (float64): anchor 2 has its negative 100 units
    # nearer than its positive in squared distance
    zz = z.detach().double().numpy()[:, 0]
    d = (zz[:, None] - zz[None, :]) ** 2
    expected = []
    for i in range(4):
        others = [j for j in range(4) if j != i]
        pos = [j for j in others if y[j] == y[i]]
        expected.append(logsumexp(-d[i, others]) - logsumexp(-d[i, pos]))
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-4)
    assert float(loss) > 20
    loss.backward()
    assert torch.isfinite(z.grad).all()


def test_anchors_without_positive_are_left_out():
    z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [3.0, 3.0]])
    y = torch.tensor([0, 0, 1])  # source 1 has a single bag: no positive
    per_anchor = set_contrastive_loss(z, y, reduction="none")
    assert torch.isnan(per_anchor[2])
    assert torch.isfinite(per_anchor[:2]).all()
    assert float(set_contrastive_loss(z, y)) == pytest.approx(
        float(per_anchor[:2].mean())
    )


def test_no_positive_at_all_gives_zero_with_gradient():
    z = torch.randn(3, 4, requires_grad=True)
    loss = set_contrastive_loss(z, torch.tensor([0, 1, 2]))
    assert float(loss) == 0.0
    loss.backward()
    assert z.grad is not None


def test_loss_decreases_when_same_source_bags_move_together():
    y = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[0.0], [2.0], [1.0], [3.0]])
    together = torch.tensor([[0.0], [0.1], [3.0], [3.1]])
    assert float(set_contrastive_loss(together, y)) < float(
        set_contrastive_loss(apart, y)
    )


def test_criterion_is_a_plain_callable():
    crit = SetContrastiveLoss(temperature=2.0)
    assert not isinstance(crit, torch.nn.Module)
    z = torch.randn(6, 3)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert float(crit(z, y)) == pytest.approx(
        float(set_contrastive_loss(z, y, temperature=2.0))
    )


def test_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        set_contrastive_loss(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        set_contrastive_loss(torch.zeros(3, 2), torch.zeros(4))


@pytest.mark.parametrize("weight", [0.5, 2.0])
def test_group_term_is_the_same_loss_on_the_groups_of_the_sources(weight):
    rng = np.random.RandomState(0)
    z = rng.normal(scale=0.7, size=(12, 4))
    y = rng.randint(0, 4, size=12)
    source_groups = np.array([0, 0, 1, 1])  # sources 0, 1 in group 0; 2, 3 in group 1
    expected = (np.nanmean(_brute_force(z, y))
                + weight * np.nanmean(_brute_force(z, source_groups[y])))
    loss = SetContrastiveLoss(source_groups=source_groups, group_weight=weight)
    assert float(loss(torch.tensor(z), torch.tensor(y))) == pytest.approx(expected, rel=1e-4)
    # weight 0, or no groups: the paper's loss
    plain = float(SetContrastiveLoss()(torch.tensor(z), torch.tensor(y)))
    off = SetContrastiveLoss(source_groups=source_groups, group_weight=0.0)
    assert float(off(torch.tensor(z), torch.tensor(y))) == pytest.approx(plain)
    assert plain == pytest.approx(np.nanmean(_brute_force(z, y)), rel=1e-4)
