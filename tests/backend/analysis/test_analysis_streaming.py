"""The streaming accumulators on synthetic data whose range keeps growing."""

import numpy as np
import pytest
import torch

from backend.analysis.streaming import RunningMoments, RunningTopK, StreamingHistogram

CPU = torch.device("cpu")


def edges_of(hist: StreamingHistogram) -> np.ndarray:
    steps = np.linspace(0.0, 1.0, hist.bins + 1)
    return hist.lo.numpy()[:, None] + (hist.hi - hist.lo).numpy()[:, None] * steps


def growing_batches(seed: int = 0) -> list[torch.Tensor]:
    """Batches (B, 3): the first is narrow, later ones reach far past it on both sides;
    column 2 is constant at first, column 1 jumps by orders of magnitude."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for step, scale in enumerate([0.01, 0.1, 1.0, 5.0, 100.0, 0.5]):
        b = torch.randn(50, 3, generator=gen, dtype=torch.float64) * scale
        b[:, 1] = b[:, 1].abs() * 10**step
        if step == 0:
            b[:, 2] = 0.25
        out.append(b)
    return out


def test_histogram_grows_without_losing_or_misplacing_values():
    batches = growing_batches()
    hist = StreamingHistogram(3, 32, CPU)
    for b in batches:
        hist.update(b)
    data = torch.cat(batches).numpy()
    assert (hist.counts.sum(dim=1) == len(data)).all()
    edges = edges_of(hist)
    for j in range(3):
        expected, _ = np.histogram(data[:, j], edges[j])
        # Pairwise merging keeps each value in a bin that still contains it, so only
        # values sitting on an edge (up to rounding) may differ from numpy.
        assert np.abs(expected - hist.counts[j].numpy()).sum() <= 2
        nonempty = np.flatnonzero(hist.counts[j].numpy())
        assert edges[j, nonempty[0]] <= data[:, j].min() < edges[j, nonempty[0] + 1]
        assert edges[j, nonempty[-1]] <= data[:, j].max() < edges[j, nonempty[-1] + 1]
    # Doubling from a range of ~0.05 to ~1e5 took many rounds, yet the range stays tight.
    width = (hist.hi - hist.lo).numpy()
    span = data.max(axis=0) - data.min(axis=0)
    assert np.all(width < 4.2 * span) and np.all(width > span)


def test_histogram_of_one_batch_matches_numpy_exactly():
    values = torch.randn(1000, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hist = StreamingHistogram(4, 32, CPU)
    hist.update(values)
    edges = edges_of(hist)
    for j in range(4):
        expected, _ = np.histogram(values[:, j].numpy(), edges[j])
        assert np.array_equal(expected, hist.counts[j].numpy())


def test_histogram_refuses_nan_and_odd_bins():
    with pytest.raises(ValueError, match="even"):
        StreamingHistogram(2, 31, CPU)
    hist = StreamingHistogram(2, 8, CPU)
    with pytest.raises(ValueError, match="NaN"):
        hist.update(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))


def test_moments_merge_like_one_pass():
    batches = growing_batches()
    moments = RunningMoments(3, CPU)
    for b in batches:
        moments.update(b)
    data = torch.cat(batches)
    torch.testing.assert_close(moments.mean(), data.mean(dim=0))
    torch.testing.assert_close(moments.std(), data.std(dim=0, correction=0))


def test_running_top_k_keeps_ties_consistent_with_indices():
    top = RunningTopK(2, 3, CPU)
    top.update(torch.tensor([[1.0, 5.0], [3.0, 5.0]]), torch.tensor([10, 11]))
    top.update(torch.tensor([[2.0, 0.0], [7.0, -1.0]]), torch.tensor([12, 13]))
    assert top.values[0].tolist() == [7.0, 3.0, 2.0]
    assert top.indices[0].tolist() == [13, 11, 12]
    assert top.values[1].tolist() == [5.0, 5.0, 0.0]
    assert sorted(top.indices[1, :2].tolist()) == [10, 11] and top.indices[1, 2] == 12


def test_running_top_k_with_fewer_values_than_k():
    top = RunningTopK(3, 5, CPU)
    positions = top.update(torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]]), torch.tensor([7, 8]))
    assert top.values[:, :2].tolist() == [[4.0, 1.0], [2.0, 0.0], [6.0, 3.0]]
    assert top.indices.tolist() == [[8, 7, -1, -1, -1], [7, 8, -1, -1, -1], [8, 7, -1, -1, -1]]
    assert torch.isinf(top.values[:, 2:]).all()
    # Every position points into the old list (< k) or the batch (k + row), never past it;
    # empty slots come from the old list's empty slots.
    assert int(positions.max()) < 5 + 2
    assert torch.all(positions[:, 2:] < 5) and torch.all(positions[:, :2] >= 5)


def test_moments_of_a_constant_are_exactly_flat():
    moments = RunningMoments(2, CPU)
    for _ in range(5):
        moments.update(torch.tensor([[1234.5678, 0.1]] * 7, dtype=torch.float64))
    assert torch.all(moments.std() <= 1e-9)
    torch.testing.assert_close(moments.mean(), torch.tensor([1234.5678, 0.1], dtype=torch.float64))
