"""Each distillation loss on tiny inputs: known values, finite, with gradients."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backend.distill import losses
from backend.distill.static import safe_correlation, static_term
from backend.semantic.alignment import batch_correlation


def test_hinton_kd_matches_the_formula_and_is_zero_for_equal_logits():
    s = torch.tensor([[1.0, 2.0, 0.5]])
    t = torch.tensor([[0.0, 3.0, 1.0]])
    p, q = F.softmax(t / 4, 1), F.softmax(s / 4, 1)
    expected = 16 * float((p * (p / q).log()).sum())
    assert losses.hinton_kd(s, t, 4.0).item() == pytest.approx(expected, rel=1e-5)
    assert losses.hinton_kd(t, t, 4.0).item() == pytest.approx(0.0, abs=1e-6)


def test_virtual_teacher_puts_0_9_on_the_true_class():
    probs = losses.virtual_teacher(torch.tensor([2, 0]), 5)
    assert torch.allclose(probs.sum(1), torch.ones(2))
    assert probs[0, 2] == pytest.approx(0.9) and probs[0, 0] == pytest.approx(0.025)
    assert probs[1, 0] == pytest.approx(0.9)


def test_tf_kd_is_lowest_for_logits_that_agree_with_the_label():
    y = torch.tensor([1])
    right, wrong = torch.tensor([[0.0, 5.0, 0.0]]), torch.tensor([[5.0, 0.0, 0.0]])
    assert losses.tf_kd(right, y, 20.0) < losses.tf_kd(wrong, y, 20.0)


def test_rkd_is_zero_for_a_scaled_copy_and_positive_otherwise():
    t = torch.randn(8, 5)
    assert losses.rkd(3.0 * t, t).item() == pytest.approx(0.0, abs=1e-5)
    assert losses.rkd(torch.randn(8, 7), t).item() > 0.01  # other width, other geometry


def test_rkd_distance_known_value():
    # three points on a line: distances 1, 1, 2 (mean 4/3) against an equilateral triangle
    s = torch.tensor([[0.0], [1.0], [2.0]])
    t = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    sd = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]]) / (4 / 3)
    td = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    d = np.abs(sd - td)
    huber = np.where(d < 1, 0.5 * d**2, d - 0.5).mean()
    assert losses.rkd_distance(s, t).item() == pytest.approx(huber, rel=1e-4)


def test_sp_known_value_and_zero_for_scaled_features():
    f = torch.randn(4, 3, 2, 2)
    assert losses.similarity_preserving(5 * f, f).item() == pytest.approx(0.0, abs=1e-7)
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # orthogonal: G_s = I
    t = torch.tensor([[1.0], [1.0]])  # identical: rows of G_t = (1, 1)/sqrt(2)
    expected = ((1 - 2**-0.5) ** 2 * 2 + 0.5 * 2) / 4
    assert losses.similarity_preserving(s, t).item() == pytest.approx(expected, rel=1e-5)


def test_safe_correlation_is_pearson_for_large_columns_and_masks_dead_ones():
    h = 100 * torch.randn(256, 5)
    h[:, 2] = 7.0
    corr, alive = safe_correlation(h)
    pearson, _ = batch_correlation(h)
    assert alive.tolist() == [True, True, False, True, True]
    assert torch.allclose(corr, pearson, atol=1e-3)


def test_static_term_known_value_and_dead_pairs_leave():
    h = torch.tensor([[-10.0, -10.0, 3.0], [10.0, 10.0, 3.0]])  # columns 0, 1 identical
    off = ~torch.eye(3, dtype=torch.bool)
    target = torch.zeros(3, 3)
    # corr(0, 1) = 100 / (100 + eps): the only live off-diagonal pair, counted twice
    assert static_term(h, target, off).item() == pytest.approx((100 / 101) ** 2, rel=1e-5)


def test_static_gradient_stays_bounded_where_pearson_explodes():
    """The stability fix: tiny logits (as at initialisation) get a bounded gradient."""
    target = torch.full((4, 4), -0.3)
    off = ~torch.eye(4, dtype=torch.bool)
    h = (1e-3 * torch.randn(64, 4)).requires_grad_()
    static_term(h, target, off).backward()
    safe = h.grad.norm().item()
    h2 = h.detach().clone().requires_grad_()
    corr, _ = batch_correlation(h2)
    ((corr - target)[off]).pow(2).mean().backward()
    pearson = h2.grad.norm().item()
    assert safe < 0.1 and pearson > 10.0, (safe, pearson)


@pytest.mark.parametrize(
    "fn",
    [
        lambda s, t: losses.hinton_kd(s, t),
        lambda s, t: losses.tf_kd(s, torch.arange(6) % 4, 20.0),
        lambda s, t: losses.rkd(s, t),
        lambda s, t: losses.similarity_preserving(s, t),
        lambda s, t: static_term(s, torch.zeros(4, 4), ~torch.eye(4, dtype=torch.bool)),
    ],
    ids=["kd", "tfkd", "rkd", "sp", "static"],
)
def test_every_loss_is_finite_with_a_gradient(fn):
    s = torch.randn(6, 4, requires_grad=True)
    loss = fn(s, torch.randn(6, 4))
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


def _reference(h, target, off, eps=1.0):
    """The static term by plain autograd through safe_correlation."""
    corr, alive = safe_correlation(h, eps)
    pairs = off & alive[:, None] & alive[None, :]
    return ((corr - target) * pairs).pow(2).sum() / pairs.sum()


def test_static_terms_hand_written_gradient_is_exact():
    torch.manual_seed(0)
    e = F.normalize(torch.randn(6, 4, dtype=torch.float64), dim=1)
    target, off = e @ e.T, ~torch.eye(6, dtype=torch.bool)
    h = 2 * torch.randn(16, 6, dtype=torch.float64)
    h[:, 4] = 1.5  # a dead column
    h.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: static_term(x, target, off), (h,))
    static_term(h, target, off).backward()
    fused = h.grad.clone()
    h.grad = None
    _reference(h, target, off).backward()
    assert torch.allclose(fused, h.grad, atol=1e-10)
    assert torch.all(fused[:, 4] == 0)
    assert static_term(h, target, off).item() == pytest.approx(_reference(h, target, off).item())
