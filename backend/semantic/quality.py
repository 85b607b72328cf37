"""How well the semantic vectors describe the network, on held-out data (docs/method.md).

Two measures, per run and per neuron, over live neurons (non-zero variance held out):
- r: Pearson correlation between S_ij and the held-out activation correlation C_ij over
  all off-diagonal pairs (per neuron: over its row).
- precision@k: overlap of each neuron's k nearest semantic neighbours with its k most
  correlated neurons, divided by k.
Everything is computed in row chunks, so memory stays O(chunk × N) for large N.

Any source of similarity rows can be measured the same way: the vectors, the training
correlation itself (the ceiling) and its best rank-d fit (the bound); see
backend/semantic/reference.py and docs/method.md.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from backend.semantic.alignment import DEAD_STD
from backend.semantic.neurons import ActivationProbe
from backend.semantic.residual import copy_mask

NO_LIVE_NEURONS = "no live neurons"
"""The result when fewer than two neurons vary on the held-out images: no pair to compare."""


@dataclass
class QualityReport:
    r: float
    precision_at_k: float
    k: int
    live_neurons: int
    num_images: int
    per_neuron_r: np.ndarray
    """(N,) float32; NaN for neurons dead on the held-out data."""
    per_neuron_precision: np.ndarray
    precision_without_copies: float | None = None
    """precision@k with each neuron's residual copies left out of both lists; None when
    no copies were given."""

    def summary(self) -> dict:
        if self.live_neurons < 2:
            return {
                "r": None,
                f"precision_at_{self.k}": None,
                "live_neurons": self.live_neurons,
                "num_images": self.num_images,
                "result": NO_LIVE_NEURONS,
            }
        out = {
            "r": self.r,
            f"precision_at_{self.k}": self.precision_at_k,
            "live_neurons": self.live_neurons,
            "num_images": self.num_images,
        }
        if self.precision_without_copies is not None:
            out[f"precision_at_{self.k}_without_copies"] = self.precision_without_copies
        return out


@torch.no_grad()
def collect_activations(
    model: nn.Module,
    layers: list[str],
    batches: Iterable,
    device: torch.device,
    max_images: int = 4096,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Pooled activations H (images, N) on the CPU, for at most `max_images` images."""
    model.eval()
    rows, seen = [], 0
    with ActivationProbe(model, layers) as probe:
        for x, *_ in batches:
            model(x.to(device, non_blocking=True))
            rows.append(probe.pooled().cpu())
            seen += x.shape[0]
            if progress:
                progress(x.shape[0])
            if seen >= max_images:
                break
    return torch.cat(rows)[:max_images]


def standardise(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns centred and scaled to unit norm (dead ones zeroed), and the alive mask:
    `z.T @ z` is then the Pearson correlation between neurons."""
    # The mean in float64, the rest in float32: one copy of h, not three, at large N.
    mean = (h.sum(dim=0, dtype=torch.float64) / h.shape[0]).to(h.dtype)
    centred = (h - mean).float()
    norm = centred.norm(dim=0)
    alive = norm > DEAD_STD * (h.shape[0] ** 0.5)
    centred /= torch.where(alive, norm, torch.ones_like(norm))
    return centred.mul_(alive), alive


def _row_sums(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per row of x and y (R, N each, masked entries zero): sum x, y, xy, xx, yy (R, 5),
    in float64. The products are per-row dot products, so no (R, N) product is made."""
    dot = lambda a, b: torch.bmm(a[:, None, :], b[:, :, None]).flatten().double()  # noqa: E731
    return torch.stack(
        [x.sum(1).double(), y.sum(1).double(), dot(x, y), dot(x, x), dot(y, y)], dim=1
    )


def _pearson(sums: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Pearson correlation from sums of x, y, xy, xx, yy (..., 5) over n entries (...)."""
    n = n.double().clamp(min=1)
    sx, sy, sxy, sxx, syy = (sums[..., i] for i in range(5))
    cov = sxy - sx * sy / n
    var = (sxx - sx * sx / n).clamp(min=0) * (syy - sy * sy / n).clamp(min=0)
    return cov / var.sqrt().clamp(min=1e-12)


SimilarityRows = Callable[[torch.Tensor], torch.Tensor]
"""Given neuron ids (R,), their rows (R, N) of some similarity matrix."""


def vector_similarity(vectors: torch.Tensor) -> SimilarityRows:
    """The cosine similarity of `vectors` (N, d), row by row."""
    u = torch.nn.functional.normalize(vectors.float(), dim=1)
    return lambda ids: u[ids] @ u.T


def evaluate_quality(
    unit_vectors: torch.Tensor,
    h: torch.Tensor,
    k: int = 10,
    chunk: int | None = None,
    rows: torch.Tensor | None = None,
    copies: torch.Tensor | None = None,
) -> QualityReport:
    """Compare the vectors' similarity with the correlation of held-out activations h."""
    if unit_vectors.shape[0] != h.shape[1]:
        raise ValueError(f"{unit_vectors.shape[0]} vectors for {h.shape[1]} neurons")
    return evaluate_similarity(vector_similarity(unit_vectors), h, k, chunk, rows, copies=copies)


def evaluate_similarity(
    similarity: SimilarityRows,
    h: torch.Tensor,
    k: int = 10,
    chunk: int | None = None,
    rows: torch.Tensor | None = None,
    standardised: tuple[torch.Tensor, torch.Tensor] | None = None,
    copies: torch.Tensor | None = None,
) -> QualityReport:
    """Compare any similarity's rows with the correlation of held-out activations h.

    With `rows`, only those neurons' rows are measured (against all N columns): an
    unbiased estimate of the all-rows figures at a fraction of the cost. `standardised`
    is `standardise(h)` when the caller has it already. `copies` (N,) are residual copy
    groups (backend.semantic.residual): precision@k is then also measured with each
    neuron's copies left out of both neighbour lists; with no copies at all, it is the
    raw figure.
    """
    n = h.shape[1]
    z, alive = standardised if standardised is not None else standardise(h)
    live = int(alive.sum())
    measured = live >= 2  # else no pair to compare: the report says NO_LIVE_NEURONS
    k = min(k, live - 1) if measured else k
    chunk = chunk or max(1, min(n, 2**24 // max(n, 1)))
    ids = torch.arange(n) if rows is None else rows
    if not measured:
        ids = ids[:0]
    per_r = torch.full((n,), float("nan"))
    per_p = torch.full((n,), float("nan"))
    with_copies = copies is not None and bool((copies >= 0).any())
    per_p_apart = torch.full((n,), float("nan")) if with_copies else per_p
    sums = torch.zeros(5, dtype=torch.float64)  # sum x, y, xy, xx, yy over all pairs
    pairs = 0
    for start in range(0, len(ids), chunk):
        rows = ids[start : start + chunk]
        mask = alive[rows, None] & alive[None, :]
        mask[torch.arange(len(rows)), rows] = False
        left_out = ~mask
        # Both (R, N) blocks are this loop's own: masked in place, summed, then filled
        # with -2 in place for the top-k (one sweep each, no masked copies).
        corr = (z[:, rows].T @ z).masked_fill_(left_out, 0.0)
        sim = similarity(rows).float().masked_fill(left_out, 0.0)
        row_sums = _row_sums(corr, sim)
        counts = mask.sum(1)
        sums += row_sums.sum(0)
        pairs += int(counts.sum())
        live_rows = alive[rows]
        per_r[rows[live_rows]] = _pearson(row_sums, counts)[live_rows].float()
        corr.masked_fill_(left_out, -2.0)
        sim.masked_fill_(left_out, -2.0)
        per_p[rows[live_rows]] = _overlap(corr, sim, k)[live_rows]
        if with_copies:
            copy = copy_mask(copies, rows)
            corr.masked_fill_(copy, -2.0)
            sim.masked_fill_(copy, -2.0)
            per_p_apart[rows[live_rows]] = _overlap(corr, sim, k)[live_rows]
    r = float("nan")
    if pairs:
        sx, sy, sxy, sxx, syy = (v / pairs for v in sums.tolist())
        var = (sxx - sx**2) * (syy - sy**2)
        r = (sxy - sx * sy) / var**0.5 if var > 0 else float("nan")
    return QualityReport(
        r=float(r),
        precision_at_k=float(np.nanmean(per_p.numpy())) if measured else float("nan"),
        k=k,
        live_neurons=live,
        num_images=h.shape[0],
        per_neuron_r=per_r.numpy().astype(np.float32),
        per_neuron_precision=per_p.numpy().astype(np.float32),
        precision_without_copies=(
            None
            if copies is None
            else float(np.nanmean(per_p_apart.numpy()))
            if measured
            else float("nan")
        ),
    )


def overlap_at_k(corr: torch.Tensor, sim: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Per row, the share of its k most similar columns (`sim`) that are among its k most
    correlated ones (`corr`), over the columns `mask` allows (R, N each)."""
    return _overlap(corr.masked_fill(~mask, -2.0), sim.masked_fill(~mask, -2.0), k)


def _overlap(corr: torch.Tensor, sim: torch.Tensor, k: int) -> torch.Tensor:
    """`overlap_at_k` of rows whose excluded columns already hold -2 (below any value)."""
    top_c = corr.topk(k, dim=1).indices
    top_s = sim.topk(k, dim=1).indices
    return (top_s[:, :, None] == top_c[:, None, :]).any(dim=2).sum(1) / k


def reference_figures(
    reference, h: torch.Tensor, k: int = 10, copies: torch.Tensor | None = None
) -> dict:
    """The ceiling and the rank-d bound of `reference` on held-out activations h (with
    precision@k apart from residual `copies` when given, as in `evaluate_similarity`).

    Measured on the reference's rows (all of them up to EXACT_MAX neurons)."""
    standardised = standardise(h)
    common = {"rows": reference.rows, "standardised": standardised, "copies": copies}
    ceiling = evaluate_similarity(reference.correlation_rows, h, k, **common)
    bound = evaluate_similarity(vector_similarity(reference.vectors), h, k, **common)
    rows = h.shape[1] if reference.rows is None else len(reference.rows)
    return {
        "ceiling": _figures(ceiling),
        "bound": {**_figures(bound), **reference.summary()},
        "reference_rows": rows,
    }


def _figures(report: QualityReport) -> dict:
    summary = report.summary()
    return {key: value for key, value in summary.items() if key == "r" or "precision" in key}
