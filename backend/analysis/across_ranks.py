"""The one pass (backend/analysis/one_pass.py) shared by the ranks of a torchrun launch.

Each rank reads and forwards its own share of the images (every `size`-th batch); at the
end the ranks' statistics are merged exactly, on rank 0, which alone writes the run:
- the top and bottom images of each neuron, with their activation maps: the top k of the
  ranks' top k's (each rank's list holds every image of its share that can be in the
  overall list);
- class sums and counts, means and variances (Chan's pairwise update), hence the
  selectivity;
- histograms: the ranks agree on each batch's min and max before a histogram's range
  grows (one all-reduce of 2 N numbers a batch), so every rank keeps the same bins and
  the counts add up;
- the random images: a uniform sample of the union, drawn from the ranks' uniform samples
  in proportion to the images each saw;
- labels and predictions per image, the held-out rows (each filled by the one rank that
  read that image) and the training co-moments (the parallel-axis theorem).
"""

import math

import torch
import torch.distributed as dist

from backend.analysis.result import Analysis, selectivity
from backend.analysis.run import DEAD_STD
from backend.core.errors import SemvecError
from backend.training.distributed import World


def share(num_images: int, batch_size: int, world: World) -> tuple[list[torch.Tensor], int]:
    """This rank's chunks of image indices (every `size`-th batch of the pass in index
    order), and the most batches any rank has (the steps every rank takes)."""
    chunks = [
        torch.arange(start, min(start + batch_size, num_images))
        for start in range(0, num_images, batch_size)
    ]
    if len(chunks) < world.size:
        raise SemvecError(
            f"{num_images:,} images make {len(chunks)} batches of {batch_size}, fewer than "
            f"the {world.size} processes: use fewer processes"
        )
    return chunks[world.rank :: world.size], math.ceil(len(chunks) / world.size)


class RangeAgreement:
    """Each batch's per-neuron min and max, agreed over the ranks (all-reduce), so that
    every rank's histograms grow through the same ranges. A rank with fewer batches
    takes part in the remaining steps with nothing (`finish`)."""

    def __init__(self, steps: int):
        self.steps, self.done = steps, 0

    def __call__(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low, high = low.clone(), high.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        self.done += 1
        return low, high

    def finish(self, histogram) -> None:
        """The steps this rank had no batch for: only the other ranks' ranges count."""
        while self.done < self.steps:
            inf = torch.full_like(histogram.lo, math.inf)
            histogram.grow(*self(inf, -inf))


def gather_to_main(value, world: World) -> list | None:
    """`value` of every rank, in rank order, on rank 0 (None on the others)."""
    out = [None] * world.size if world.is_main else None
    dist.gather_object(value, out, dst=0)
    return out


def reduce_comoments(moments, world: World) -> None:
    """Merge every rank's co-moments into rank 0's (in place): the sum of each rank's
    centred products, each moved to the overall mean (parallel-axis theorem)."""
    count = torch.tensor([float(moments.count)], dtype=torch.float64, device=moments.mean.device)
    weighted = moments.mean * moments.count
    dist.all_reduce(count)
    dist.all_reduce(weighted)
    total = int(count.item())
    mean = weighted / max(total, 1)
    if moments.count:
        shift = (moments.mean - mean).float()
        moments.m2.addr_(shift, shift, alpha=float(moments.count))
    dist.reduce(moments.m2, dst=0)
    moments.count, moments.mean = total, mean


def reduce_rows(rows: torch.Tensor, world: World) -> None:
    """Rows each filled by one rank (zeros elsewhere), summed into rank 0's (in place)."""
    dist.reduce(rows, dst=0)


def _top(values: list[torch.Tensor], ids: list[torch.Tensor], k: int):
    """The k largest of the ranks' lists, their images and where each came from."""
    values, positions = torch.cat(values, dim=1).topk(k, dim=1)
    return values, torch.cat(ids, dim=1).gather(1, positions), positions


def _maps(parts: list[Analysis], positions: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each layer's top maps, following the merged lists (`positions` into the ranks'
    lists laid side by side)."""
    out = {}
    for layer in parts[0].index.layers:
        if layer.path not in parts[0].top_maps:
            continue
        side_by_side = torch.cat([p.top_maps[layer.path] for p in parts], dim=1)
        rows = positions[layer.offset : layer.offset + layer.width]
        out[layer.path] = side_by_side[torch.arange(layer.width).unsqueeze(1), rows]
    return out


def _per_image(tensors: list[torch.Tensor | None], fill) -> torch.Tensor | None:
    """Labels or predictions per image: each image's value from the rank that saw it."""
    if tensors[0] is None:
        return None
    size = max(len(t) for t in tensors)
    out = tensors[0].new_full((size,), fill)
    for t in tensors:
        seen = ~torch.isnan(t) if t.is_floating_point() else t != fill
        out[: len(t)] = torch.where(seen, t, out[: len(t)])
    return out


def _random(parts: list[Analysis], size: int, seed: int = 0):
    """A uniform sample of `size` images of the union of the ranks' images, from each
    rank's uniform sample (shuffled, so that its first images are uniform too)."""
    gen = torch.Generator().manual_seed(seed)
    pools = []
    for p in parts:
        order = torch.randperm(p.random_indices.shape[0], generator=gen)
        pools.append((p.random_values[:, order], p.random_indices[order]))
    left = [p.num_images for p in parts]
    taken = [0] * len(parts)
    values, ids = [], []
    for _ in range(min(size, sum(left))):
        weights = torch.tensor(left, dtype=torch.float64)
        r = int(torch.multinomial(weights, 1, generator=gen))
        values.append(pools[r][0][:, taken[r]])
        ids.append(pools[r][1][taken[r]])
        taken[r] += 1
        left[r] -= 1
    if not ids:
        return parts[0].random_values, parts[0].random_indices
    return torch.stack(values, dim=1), torch.stack(ids)


def merge_analyses(parts: list[Analysis]) -> Analysis:
    """One `Analysis` of all the images the ranks' analyses saw between them."""
    first = parts[0]
    counts = [p.num_images for p in parts]
    n = sum(counts)
    top_values, top_indices, positions = _top(
        [p.top_values for p in parts], [p.top_indices for p in parts], first.k
    )
    # Class sums from means x counts (float64), then the overall means.
    class_counts = sum(p.class_counts for p in parts)
    sums = sum(torch.nan_to_num(p.class_means.double()) * p.class_counts for p in parts)
    class_means = torch.where(class_counts > 0, sums / class_counts.clamp(min=1), math.nan)
    mean = sum(p.mean * c for p, c in zip(parts, counts, strict=True)) / n
    m2 = sum(
        c * (p.std.square() + (p.mean - mean).square()) for p, c in zip(parts, counts, strict=True)
    )
    std = (m2 / n).sqrt()
    class_means = class_means.float()
    dominant, select = selectivity(class_means, class_counts, mean, std)
    for p in parts[1:]:
        if not (torch.equal(p.hist_lo, first.hist_lo) and torch.equal(p.hist_hi, first.hist_hi)):
            raise ValueError("the ranks' histograms have different ranges: they cannot add up")
    bottom = (first.bottom_values, first.bottom_indices)
    random = (first.random_values, first.random_indices)
    if first.bottom_values is not None:
        size = first.bottom_values.shape[1]
        low, ids, _ = _top(
            [-p.bottom_values for p in parts], [p.bottom_indices for p in parts], size
        )
        bottom = (-low, ids)
        random = _random(parts, size)
    return Analysis(
        index=first.index,
        num_images=n,
        k=first.k,
        bins=first.bins,
        top_values=top_values,
        top_indices=top_indices,
        top_maps=_maps(parts, positions),
        class_means=class_means,
        class_counts=class_counts,
        dominant_class=dominant,
        selectivity=select,
        hist_counts=sum(p.hist_counts for p in parts),
        hist_lo=first.hist_lo,
        hist_hi=first.hist_hi,
        mean=mean,
        std=std,
        dead=std <= DEAD_STD,
        class_names=first.class_names,
        bottom_values=bottom[0],
        bottom_indices=bottom[1],
        random_values=random[0],
        random_indices=random[1],
        image_labels=_per_image([p.image_labels for p in parts], -1),
        predictions=_per_image([p.predictions for p in parts], -1),
        confidence=_per_image([p.confidence for p in parts], math.nan),
        num_outputs=first.num_outputs,
    )
