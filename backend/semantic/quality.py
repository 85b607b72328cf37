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
    return evaluate_similarities([(similarity, rows)], h, k, chunk, standardised, copies)[0]


@dataclass
class _Tally:
    """One similarity's running figures over the sweep of `evaluate_similarities`."""

    similarity: SimilarityRows
    wanted: torch.Tensor
    """(N,) bool: the rows this similarity is measured on."""
    per_r: torch.Tensor
    per_p: torch.Tensor
    per_p_apart: torch.Tensor
    sums: torch.Tensor
    pairs: int = 0


def evaluate_similarities(
    similarities: list[tuple[SimilarityRows, torch.Tensor | None]],
    h: torch.Tensor,
    k: int = 10,
    chunk: int | None = None,
    standardised: tuple[torch.Tensor, torch.Tensor] | None = None,
    copies: torch.Tensor | None = None,
) -> list[QualityReport]:
    """`evaluate_similarity` of several (similarity, rows) at once, in one sweep: each
    chunk's held-out correlation rows, their sums and their top-k are made once for all
    (at 15k neurons that product is most of the cost)."""
    n = h.shape[1]
    z, alive = standardised if standardised is not None else standardise(h)
    live = int(alive.sum())
    measured = live >= 2  # else no pair to compare: the report says NO_LIVE_NEURONS
    k = min(k, live - 1) if measured else k
    chunk = chunk or max(1, min(n, 2**24 // max(n, 1)))
    with_copies = copies is not None and bool((copies >= 0).any())
    tallies = []
    for similarity, rows in similarities:
        wanted = torch.ones(n, dtype=torch.bool)
        if rows is not None:
            wanted = torch.zeros(n, dtype=torch.bool).index_fill_(0, rows, True)
        per_p = torch.full((n,), float("nan"))
        per_p_apart = torch.full((n,), float("nan")) if with_copies else per_p
        sums = torch.zeros(5, dtype=torch.float64)  # sum x, y, xy, xx, yy over all pairs
        tallies.append(
            _Tally(similarity, wanted, torch.full((n,), float("nan")), per_p, per_p_apart, sums)
        )
    ids = torch.stack([t.wanted for t in tallies]).any(0).nonzero().flatten()
    if not measured:
        ids = ids[:0]
    for start in range(0, len(ids), chunk):
        rows = ids[start : start + chunk]
        mask = alive[rows, None] & alive[None, :]
        mask[torch.arange(len(rows)), rows] = False
        left_out = ~mask
        copy = copy_mask(copies, rows) if with_copies else None
        # The correlation block is made once: masked in place, summed, then filled with
        # -2 in place for its top-k (no masked copies).
        corr = (z[:, rows].T @ z).masked_fill_(left_out, 0.0)
        corr_sums = (corr.sum(1).double(), _dot(corr, corr))
        counts = mask.sum(1)
        done = [_tally_rows(t, rows, corr, corr_sums, counts, left_out, copy, k) for t in tallies]
        corr.masked_fill_(left_out, -2.0)
        top_c = corr.topk(k, dim=1).indices
        if copy is not None:
            top_c_apart = corr.masked_fill_(copy, -2.0).topk(k, dim=1).indices
        for t, (sel, live_ids, live_sel, top_s, top_s_apart) in zip(tallies, done, strict=True):
            t.per_p[live_ids] = _shared(top_c[sel], top_s, k)[live_sel]
            if copy is not None:
                t.per_p_apart[live_ids] = _shared(top_c_apart[sel], top_s_apart, k)[live_sel]
    return [_report(t, k, live, measured, h.shape[0], copies) for t in tallies]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products (R,) in float64, without an (R, N) product."""
    return torch.bmm(a[:, None, :], b[:, :, None]).flatten().double()


def _tally_rows(t: _Tally, rows, corr, corr_sums, counts, left_out, copy, k: int) -> tuple:
    """Add this chunk's wanted rows to the tally's sums and per-neuron r; return what
    precision@k needs (the rows, their top-k by similarity, apart from copies too)."""
    sel = t.wanted[rows]
    if not bool(sel.all()):
        rows, corr, counts, left_out = rows[sel], corr[sel], counts[sel], left_out[sel]
        copy = None if copy is None else copy[sel]
    sim = t.similarity(rows).float().masked_fill(left_out, 0.0)
    sums = torch.stack(
        [
            corr_sums[0][sel],
            sim.sum(1).double(),
            _dot(corr, sim),
            corr_sums[1][sel],
            _dot(sim, sim),
        ],
        dim=1,
    )
    t.sums += sums.sum(0)
    t.pairs += int(counts.sum())
    live_sel = counts > 0
    live_ids = rows[live_sel]
    t.per_r[live_ids] = _pearson(sums, counts)[live_sel].float()
    sim.masked_fill_(left_out, -2.0)
    top_s = sim.topk(k, dim=1).indices
    top_s_apart = None if copy is None else sim.masked_fill_(copy, -2.0).topk(k, dim=1).indices
    return sel, live_ids, live_sel, top_s, top_s_apart


def _report(t: _Tally, k: int, live: int, measured: bool, images: int, copies) -> QualityReport:
    r = float("nan")
    if t.pairs:
        sx, sy, sxy, sxx, syy = (v / t.pairs for v in t.sums.tolist())
        var = (sxx - sx**2) * (syy - sy**2)
        r = (sxy - sx * sy) / var**0.5 if var > 0 else float("nan")
    return QualityReport(
        r=float(r),
        precision_at_k=float(np.nanmean(t.per_p.numpy())) if measured else float("nan"),
        k=k,
        live_neurons=live,
        num_images=images,
        per_neuron_r=t.per_r.numpy().astype(np.float32),
        per_neuron_precision=t.per_p.numpy().astype(np.float32),
        precision_without_copies=(
            None
            if copies is None
            else float(np.nanmean(t.per_p_apart.numpy()))
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
    return _shared(corr.topk(k, dim=1).indices, sim.topk(k, dim=1).indices, k)


def _shared(top_c: torch.Tensor, top_s: torch.Tensor, k: int) -> torch.Tensor:
    """Per row, the share of the k columns in `top_s` that are also in `top_c` (R, k each)."""
    return (top_s[:, :, None] == top_c[:, None, :]).any(dim=2).sum(1) / k


def reference_figures(
    reference, h: torch.Tensor, k: int = 10, copies: torch.Tensor | None = None
) -> dict:
    """The ceiling and the rank-d bound of `reference` on held-out activations h (with
    precision@k apart from residual `copies` when given, as in `evaluate_similarity`).

    Measured on the reference's rows (all of them up to EXACT_MAX neurons)."""
    ceiling, bound = evaluate_similarities(_references(reference), h, k, copies=copies)
    return _reference_dict(reference, h, ceiling, bound)


def quality_and_references(
    unit_vectors: torch.Tensor,
    reference,
    h: torch.Tensor,
    k: int = 10,
    copies: torch.Tensor | None = None,
    chunk: int | None = None,
) -> tuple[QualityReport, dict]:
    """`evaluate_quality` of the vectors and `reference_figures` of the reference in one
    sweep over the held-out correlation (the same figures, the product made once)."""
    if unit_vectors.shape[0] != h.shape[1]:
        raise ValueError(f"{unit_vectors.shape[0]} vectors for {h.shape[1]} neurons")
    wanted = [(vector_similarity(unit_vectors), None), *_references(reference)]
    report, ceiling, bound = evaluate_similarities(wanted, h, k, chunk, copies=copies)
    return report, _reference_dict(reference, h, ceiling, bound)


def _references(reference) -> list[tuple[SimilarityRows, torch.Tensor | None]]:
    """The ceiling's and the bound's similarities, on the reference's rows."""
    return [
        (reference.correlation_rows, reference.rows),
        (vector_similarity(reference.vectors), reference.rows),
    ]


def _reference_dict(reference, h: torch.Tensor, ceiling, bound) -> dict:
    rows = h.shape[1] if reference.rows is None else len(reference.rows)
    return {
        "ceiling": _figures(ceiling),
        "bound": {**_figures(bound), **reference.summary()},
        "reference_rows": rows,
    }


def _figures(report: QualityReport) -> dict:
    summary = report.summary()
    return {key: value for key, value in summary.items() if key == "r" or "precision" in key}
