"""Semantic alignment (docs/method.md): fit the cosine similarity of per-neuron vectors E to
the Pearson correlation of the neurons' pooled activations over a batch.

L_align = mean over off-diagonal live pairs (i, j) of (A_ij - S_ij)^2, with
A = batch correlation of the columns of H (B, N) and S = norm(E) norm(E)^T.
Minimising it over many batches fits S to the expected batch correlation.
"""

import torch
import torch.nn.functional as F
from torch import nn

DEAD_STD = 1e-6
"""A column whose batch standard deviation is at most this is dead for that batch."""


def batch_correlation(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pearson correlation between the columns of h (B, M), and the live-column mask (M,).

    Always computed in float32 (safe under autocast); dead columns get zero rows/columns.
    """
    h = h.float()
    centred = h - h.mean(dim=0, keepdim=True)
    norm = centred.norm(dim=0)
    alive = norm > DEAD_STD * (h.shape[0] ** 0.5)
    unit = centred / torch.where(alive, norm, torch.ones_like(norm))
    unit = unit * alive
    return unit.T @ unit, alive


class SemanticVectors(nn.Module):
    """E (N, d): one learnable vector per neuron.

    `reference` is the training correlation's eigen-solution (backend.semantic.reference)
    the vectors were last aligned against, when there was one: the run's report measures
    its ceiling and bound from it instead of reading the training images again.
    """

    def __init__(self, num_neurons: int, dim: int = 64, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(num_neurons, dim, generator=gen) / dim**0.5)
        self.reference = None

    @property
    def num_neurons(self) -> int:
        return self.weight.shape[0]

    def similarity(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        """S for the neurons `ids` (all when None): cosine similarity, float32."""
        e = self.weight if ids is None else self.weight[ids]
        unit = F.normalize(e.float(), dim=1)
        return unit @ unit.T

    def unit(self) -> torch.Tensor:
        return F.normalize(self.weight.detach().float(), dim=1)


def alignment_loss(
    h: torch.Tensor,
    vectors: SemanticVectors,
    subset: int = 2048,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Off-diagonal MSE between batch correlation of h (B, N) and the vectors' similarity.

    When N > subset, a random subset of `subset` neurons is drawn for this step, so the
    cost per step does not grow with N. Pairs involving a dead column are left out.
    """
    n = h.shape[1]
    if n != vectors.num_neurons:
        raise ValueError(f"activations have {n} neurons, vectors {vectors.num_neurons}")
    ids = None
    if n > subset:
        ids = torch.randperm(n, generator=generator, device="cpu")[:subset].to(h.device)
        h = h[:, ids]
    corr, alive = batch_correlation(h)
    sim = vectors.similarity(ids)
    pair = alive[:, None] & alive[None, :]
    pair.fill_diagonal_(False)
    count = pair.sum()
    if count == 0:
        return sim.sum() * 0.0
    diff = (corr - sim) * pair
    return diff.pow(2).sum() / count
