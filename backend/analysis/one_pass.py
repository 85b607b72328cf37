"""One pass over the images for a post-hoc run: each image is read and forwarded once.

The analysis pass over every image of the dataset (backend/analysis/run.py) already sees
each image's pooled activations; beside its own statistics (top images with their maps,
class means, histograms, predictions) the same batches feed:
- the co-moments of the training sample (count, mean, centred N x N sum of products),
  from which come the training correlation, the eigen-start and the rank-d bound
  (backend/semantic/reference.py), merged batch by batch with Chan's update;
- the held-out sample's pooled activations (at most HELD_OUT_IMAGES rows), on which the
  quality, its ceiling and its bound are measured as before (backend/semantic/report.py);
- the test images' predictions, for the accuracy and the near-chance warning.
The vectors are then fitted to the training correlation itself: a step's loss is the
alignment loss with the expected correlation in place of one batch's, so no step needs
another forward pass.

Memory, whatever the number of images: the N x N co-moment (4 N^2 bytes: 4 MB at 1,018
neurons, 0.9 GB at 15,114), the held-out rows (at most 4,096 x N floats) and the
analysis's O(N k) state. Up to EXACT_MAX neurons the eigen-solution is exact; beyond, it is
the randomised one, its products taken on the co-moment in memory. Beyond COMOMENT_MAX
neurons, or when the splits cannot be matched image by image, `plan_pass` returns None and
the run takes the passes of backend/training/align.py (randomised products, one pass each,
and steps over subsets of M neurons).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from backend.analysis import across_ranks
from backend.analysis.result import Analysis
from backend.analysis.run import analyze
from backend.core.progress import Reporter
from backend.semantic.alignment import SemanticVectors, alignment_loss
from backend.semantic.reference import (
    EXACT_MAX,
    Reference,
    eigen_start_weight,
    exact_from_comoment,
    randomised_from_comoment,
)
from backend.semantic.report import HELD_OUT_IMAGES
from backend.semantic.sample import balanced_sample
from backend.training.config import AlignConfig
from backend.training.distributed import World

COMOMENT_MAX = 23_000
"""Most neurons whose N x N co-moment one pass keeps (float32: 2.1 GB at 23,000)."""
CHANCE_IMAGES = 512
"""Test images the near-chance warning is judged on (backend/services/loading.py)."""


def image_keys(split) -> list | None:
    """What identifies each image of `split` across the splits of one dataset (a file
    path, a row of the dataset's pool), in index order; None when the split says not."""
    base = getattr(split, "_base", None)
    if base is not None:  # a subset: its base's keys at its indices
        keys = image_keys(base)
        return None if keys is None else [keys[i] for i in split._indices.tolist()]
    samples = getattr(split, "samples", None)
    if samples is not None:
        return [path for path, _ in samples]
    positions = getattr(split, "_positions", None)
    if positions is not None:
        return positions.tolist()
    return None


def _where(keys_of_all: dict, split) -> torch.Tensor | None:
    """Each image of `split` as an index of the whole dataset, or None if one is missing."""
    keys = image_keys(split)
    if keys is None or any(k not in keys_of_all for k in keys):
        return None
    return torch.tensor([keys_of_all[k] for k in keys], dtype=torch.int64)


@dataclass
class PassPlan:
    """Which images of the whole dataset feed which statistic."""

    everything: object
    """The split of all images (what the analysis reads)."""
    train_sample: object
    held_out: object
    train_ids: torch.Tensor
    """Indices in `everything` of the training sample."""
    held_out_ids: torch.Tensor
    """Indices in `everything` of the held-out sample, in the sample's order."""
    test_ids: torch.Tensor
    chance_ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.everything)


def plan_pass(
    everything, train, test, num_neurons: int, reference_images: int, seed: int = 0
) -> PassPlan | None:
    """The plan of one pass over `everything`, or None when one pass cannot serve (more
    neurons than an exact training correlation holds, or splits not matched image by
    image)."""
    if num_neurons > COMOMENT_MAX:
        return None
    keys = image_keys(everything)
    if keys is None or len(set(keys)) != len(keys):
        return None
    at = {k: i for i, k in enumerate(keys)}
    train_sample = balanced_sample(train, reference_images, seed)
    held_out = balanced_sample(test, HELD_OUT_IMAGES, seed=0)
    from backend.data.subset import stratified_subset

    chance = stratified_subset(test, min(CHANCE_IMAGES, len(test)), seed=0)
    found = [_where(at, s) for s in (train_sample, held_out, test, chance)]
    if any(f is None for f in found):
        return None
    return PassPlan(everything, train_sample, held_out, *found)


class Comoments:
    """Running count, mean (float64) and centred sum of products (float32, N x N) of pooled
    activations; two of them merge exactly (Chan et al.'s pairwise update)."""

    def __init__(self, n: int, device: torch.device | str = "cpu"):
        self.count = 0
        self.mean = torch.zeros(n, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(n, n, device=device)

    def update(self, h: torch.Tensor) -> None:
        if len(h) == 0:
            return
        mean = h.double().mean(dim=0)
        x = (h.double() - mean).float()
        self._merge(len(h), mean, x.T @ x)

    def merge(self, other: "Comoments") -> None:
        if other.count:
            self._merge(other.count, other.mean, other.m2)

    def _merge(self, count: int, mean: torch.Tensor, m2: torch.Tensor) -> None:
        total = self.count + count
        delta = mean - self.mean
        self.m2 += m2
        self.m2.addr_(delta.float(), delta.float(), alpha=self.count * count / total)
        self.mean += delta * (count / total)
        self.count = total


@dataclass
class PassResult:
    analysis: Analysis
    reference: Reference
    held_out: torch.Tensor
    """(held-out images, N) pooled activations, in the held-out sample's order."""
    test_accuracy: float | None
    chance_accuracy: float | None


class _Feed:
    """The statistics beside the analysis, fed from each batch's pooled activations."""

    def __init__(self, plan: PassPlan):
        n_all = len(plan)
        self.is_train = torch.zeros(n_all, dtype=torch.bool)
        self.is_train[plan.train_ids] = True
        self.held_row = torch.full((n_all,), -1, dtype=torch.int64)
        self.held_row[plan.held_out_ids] = torch.arange(len(plan.held_out_ids))
        self.rows = len(plan.held_out_ids)
        self.moments: Comoments | None = None
        self.held: torch.Tensor | None = None

    def __call__(self, h: torch.Tensor, idx: torch.Tensor) -> None:
        if self.moments is None:
            # Normal tensors (not inference ones): the solve overwrites the co-moment in
            # place, so a 15k-neuron model needs no second 900 MB copy.
            with torch.inference_mode(False):
                self.moments = Comoments(h.shape[1], h.device)
                self.held = torch.zeros(self.rows, h.shape[1], device=h.device)
        idx = idx.cpu()
        self.moments.update(h[self.is_train[idx].to(h.device)])
        row = self.held_row[idx]
        keep = row >= 0
        if bool(keep.any()):
            self.held[row[keep].to(h.device)] = h[keep.to(h.device)].float()


def _accuracy(analysis: Analysis, ids: torch.Tensor, labels: torch.Tensor) -> float | None:
    if analysis.predictions is None or not len(ids):
        return None
    return float((analysis.predictions[ids] == labels[ids]).float().mean())


def run_pass(
    model,
    layers: list[str],
    plan: PassPlan,
    dim: int,
    device: torch.device,
    reporter: Reporter,
    batch_size: int,
    k: int = 9,
    bins: int = 32,
    amp: bool = True,
    world: World | None = None,
) -> PassResult | None:
    """The one pass (see the module's docstring) and the training correlation's
    eigen-solution from its co-moments.

    On CUDA the GPU is kept fed: the model runs in channels_last under bf16 autocast
    (`amp`), and image files are decoded in one worker process per CPU core (per GPU
    under torchrun). Under torchrun (`world` of several ranks) each rank reads its share
    of the batches and rank 0 gets the statistics of all of them
    (backend/analysis/across_ranks.py); the other ranks return None."""
    world = world or World()
    everything = plan.everything
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
        if hasattr(everything, "num_workers"):
            cores = (os.cpu_count() or 2) // max(1, world.size)
            everything.num_workers = max(1, cores - 1)
    batches, agree = everything.batches(batch_size), None
    total = -(-len(everything) // batch_size)
    if world.distributed:
        chunks, steps = across_ranks.share(len(everything), batch_size, world)
        batches, agree, total = (
            everything.batches_of(chunks),
            across_ranks.RangeAgreement(steps),
            len(chunks),
        )
    reporter.stage("one pass", total)
    done = [0]

    def progress(step: int, _total: int) -> None:
        reporter.advance(step - done[0])
        done[0] = step

    feed = _Feed(plan)
    analysis = analyze(
        model,
        layers,
        batches,
        num_classes=len(everything.classes),
        k=k,
        bins=bins,
        device=device,
        progress=progress,
        class_names=everything.classes,
        total=total,
        also=feed,
        amp=amp,
        agree_range=agree,
    )
    if device.type == "cuda":  # back: the run's weights are saved as contiguous tensors
        model.to(memory_format=torch.contiguous_format)
    if world.distributed:
        across_ranks.reduce_comoments(feed.moments, world)
        across_ranks.reduce_rows(feed.held, world)
        parts = across_ranks.gather_to_main(analysis, world)
        if not world.is_main:
            return None
        analysis = across_ranks.merge_analyses(parts)
    reporter.stage("reference", 0)
    moments = feed.moments
    n = moments.m2.shape[0]
    solve = exact_from_comoment if n <= EXACT_MAX else randomised_from_comoment
    progress = lambda t: reporter.advance(0, t)  # noqa: E731
    reference = solve(moments.m2, moments.count, min(dim, n), progress=progress)
    labels = everything.labels()
    return PassResult(
        analysis=analysis,
        reference=reference,
        held_out=feed.held.cpu(),
        test_accuracy=_accuracy(analysis, plan.test_ids, labels),
        chance_accuracy=_accuracy(analysis, plan.chance_ids, labels),
    )


def align_to_reference(
    vectors: SemanticVectors,
    reference: Reference,
    cfg: AlignConfig,
    reporter: Reporter,
    on_step: Callable[[int, SemanticVectors], bool | None] | None = None,
) -> list[float]:
    """Fit `vectors` to the training correlation of `reference`; returns the loss per step.

    As backend/training/align.py's `align_frozen` does, with the expected correlation in
    place of each batch's: the eigen-start (cfg.init == "eigen"), then cfg.steps Adam steps
    at a tenth of cfg.lr, on all neurons or on cfg.subset of them a step; after an
    eigen-start with more neurons than cfg.subset the start is kept unless
    cfg.refine_sampled."""
    from backend.training.align import EIGEN_LR_SCALE, cosine_lr

    vectors.reference = reference
    n, dim = vectors.num_neurons, vectors.weight.shape[1]
    device = vectors.weight.device
    eigen = cfg.init == "eigen"
    if eigen:
        with torch.no_grad():
            vectors.weight.copy_(eigen_start_weight(reference, cfg.seed, dim).to(device))
    vectors.train()
    if on_step and on_step(0, vectors):
        return []
    steps = cfg.steps
    if eigen and n > cfg.subset and not cfg.refine_sampled:
        reporter.message(
            f"kept the eigen-start (the best rank-{dim} fit): with {n:,} neurons each step "
            f"would sample {cfg.subset:,} of them and move away from it"
        )
        steps = 0
    lr = cfg.lr * (EIGEN_LR_SCALE if eigen else 1.0)
    optimizer = torch.optim.Adam(vectors.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    corr, alive = reference.correlation.to(device), reference.alive.to(device)
    losses: list[float] = []
    reporter.stage("align", steps)
    factor = _factor(corr, alive) if steps else None
    batch = min(cfg.batch_size, reference.num_images)
    for step in range(steps):
        h = torch.randn(batch, n, generator=gen).to(device) @ factor.T
        loss = alignment_loss(h, vectors, cfg.subset, gen)
        cosine_lr(optimizer, lr, step, steps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        reporter.advance(1, f"align loss {losses[-1]:.4f}")
        if on_step and on_step(step + 1, vectors):
            break
    return losses


def _factor(corr: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """F (N, N) with F F^T = the training correlation (dead neurons' rows zero)."""
    eye = torch.eye(len(corr), device=corr.device) * 1e-6
    chol, _ = torch.linalg.cholesky_ex(corr + eye)
    return chol * alive[:, None]
