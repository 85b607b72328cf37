"""What the training split itself says about the neurons' correlation (docs/method.md).

From passes over a (class-balanced) sample of training images:
- the training correlation C_train, whose match with the held-out correlation is the
  *ceiling* of every quality figure (no embedding can be more faithful), and
- its top-d eigenpairs (V, L): E = V sqrt(L) is the best rank-d fit of C_train, the
  *rank-d bound*, and the alignment's eigen-start.

Up to EXACT_MAX neurons one pass accumulates the whole N x N matrix (float32: 400 MB at
10k) and the eigenpairs are exact. Beyond, memory stays O((R + k) N): a randomised
subspace iteration (one pass for mean and scale, then one per product C Q, k = 2d
columns), and the training correlation rows of R seeded neurons for the ceiling.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import scipy.linalg
import torch
from torch import nn

from backend.semantic.alignment import DEAD_STD
from backend.semantic.neurons import ActivationProbe

EXACT_MAX = 10_240
"""Largest N whose whole training correlation is kept and decomposed exactly."""
CEILING_ROWS = 4096
"""Neurons (rows) on which the ceiling and the bound are measured beyond EXACT_MAX."""
REFERENCE_IMAGES = 16384
"""Default number of (class-balanced) training images the references read."""
ROW_BUDGET = 2**26
"""Most float32 entries of kept correlation rows beyond EXACT_MAX (256 MB)."""

Stream = Callable[[], Iterator[torch.Tensor]]
"""Each call yields the same pooled activation batches H (B, N), in the same order."""


@dataclass
class Reference:
    """The training correlation's references for one model, probed layers and data.

    Attributes:
        vectors: (N, d) top-d eigenvectors scaled by sqrt(eigenvalue); zero for neurons
            dead on the training sample.
        eigenvalues: (d,) descending.
        correlation: training correlation rows (len(rows), N), or all of it (N, N).
        rows: the neuron ids of `correlation`'s rows; None when it holds every row.
        alive: (N,) neurons with variance on the training sample.
        num_images: training images the passes read.
        method: "exact" or "randomised".
    """

    vectors: torch.Tensor
    eigenvalues: torch.Tensor
    correlation: torch.Tensor
    rows: torch.Tensor | None
    alive: torch.Tensor
    num_images: int
    method: str

    def correlation_rows(self, ids: torch.Tensor) -> torch.Tensor:
        """Training correlation rows of neuron ids (which must be among `rows`)."""
        if self.rows is None:
            return self.correlation[ids]
        position = torch.full((self.vectors.shape[0],), -1, dtype=torch.int64)
        position[self.rows] = torch.arange(len(self.rows))
        where = position[ids]
        if bool((where < 0).any()):
            raise ValueError("the training correlation was kept only for the sampled rows")
        return self.correlation[where]

    def summary(self) -> dict:
        return {
            "train_images": self.num_images,
            "method": self.method,
            "dim": int(self.vectors.shape[1]),
        }


def activation_stream(
    model: nn.Module, layers: list[str], batches: Callable[[], Iterator], device: torch.device
) -> Stream:
    """A Stream of the frozen model's pooled activations on `batches()` (float32)."""

    @torch.no_grad()
    def stream() -> Iterator[torch.Tensor]:
        model.eval()
        with ActivationProbe(model, layers) as probe:
            for x, *_ in batches():
                model(x.to(device, non_blocking=True))
                yield probe.pooled()

    return stream


def compute_reference(
    stream: Stream,
    num_neurons: int,
    dim: int,
    seed: int = 0,
    exact_max: int = EXACT_MAX,
    power_iterations: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Reference:
    """The Reference from `stream` (see the module's docstring for exact vs randomised)."""
    dim = min(dim, num_neurons)
    if num_neurons <= exact_max:
        return _exact(stream, num_neurons, dim, progress)
    return _randomised(stream, num_neurons, dim, seed, power_iterations, progress)


def _exact(stream: Stream, n: int, dim: int, progress) -> Reference:
    shift, total, gram, count = None, None, None, 0
    for h in stream():
        if shift is None:
            # Products of values shifted by a rough mean keep float32 sums accurate.
            shift = h.mean(dim=0)
            total = torch.zeros(n, dtype=torch.float64, device=h.device)
            gram = torch.zeros(n, n, device=h.device)
        x = h - shift
        total += x.sum(dim=0).double()
        gram.addmm_(x.T, x)
        count += x.shape[0]
    if count < 2:
        raise ValueError("the reference needs at least two training images")
    mean = (total / count).float()
    gram.addr_(mean, mean, alpha=-count)
    return exact_from_comoment(gram, count, dim, progress)


def exact_from_comoment(gram: torch.Tensor, count: int, dim: int, progress=None) -> Reference:
    """The exact Reference from the centred co-moment matrix sum (h - mean)(h - mean)^T
    (N, N) of `count` training images (overwritten: it becomes the correlation)."""
    n = gram.shape[0]
    corr, alive = _correlation(gram, count)
    if progress:
        progress(f"exact eigendecomposition of the {n} x {n} training correlation")
    vals, vecs = scipy.linalg.eigh(
        corr.numpy(), subset_by_index=[n - dim, n - 1], driver="evr", check_finite=False
    )
    vals, vecs = torch.from_numpy(vals[::-1].copy()), torch.from_numpy(vecs[:, ::-1].copy())
    return _finish(vecs, vals, corr, None, alive.cpu(), count, "exact")


def _correlation(gram: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The correlation (in place of the centred co-moment `gram`) and the alive mask."""
    if count < 2:
        raise ValueError("the reference needs at least two training images")
    scale = gram.diagonal().clamp(min=0).sqrt()
    alive = scale > DEAD_STD * count**0.5
    inv = torch.where(alive, 1.0 / scale.clamp(min=1e-30), torch.zeros_like(scale))
    return gram.mul_(inv[:, None]).mul_(inv[None, :]).cpu(), alive


def randomised_from_comoment(
    gram: torch.Tensor, count: int, dim: int, seed: int = 0, iterations: int = 3, progress=None
) -> Reference:
    """The Reference of `_randomised` (the same seeded start, rows and iterations) from the
    centred co-moment matrix held in memory (overwritten): products C Q need no pass."""
    n = gram.shape[0]
    corr, alive = _correlation(gram, count)
    gen = torch.Generator().manual_seed(seed)
    k = min(n, 2 * dim)
    basis = torch.linalg.qr(torch.randn(n, k, generator=gen)).Q
    n_rows = min(n, CEILING_ROWS, max(1, ROW_BUDGET // n))
    rows = torch.randperm(n, generator=gen)[:n_rows].sort().values
    for i in range(iterations + 1):
        if progress:
            progress(f"randomised eigen-solution: product {i + 1} of {iterations + 1}")
        product = corr @ basis
        if i < iterations:
            basis = torch.linalg.qr(product).Q
    small = basis.T @ product
    vals, small_vecs = torch.linalg.eigh(0.5 * (small + small.T).double())
    order = vals.argsort(descending=True)[:dim]
    vecs = (basis.double() @ small_vecs[:, order]).float()
    return _finish(vecs, vals[order].float(), corr[rows].clone(), rows, alive, count, "randomised")


def _standardiser(stream: Stream, n: int) -> tuple[Callable, torch.Tensor, int]:
    """One pass for mean and scale: returns z(h), the alive mask and the image count."""
    shift, s1, s2, count = None, None, None, 0
    for h in stream():
        if shift is None:
            shift = h.mean(dim=0)
            s1 = torch.zeros(n, dtype=torch.float64, device=h.device)
            s2 = torch.zeros(n, dtype=torch.float64, device=h.device)
        x = (h - shift).double()
        s1 += x.sum(dim=0)
        s2 += x.pow(2).sum(dim=0)
        count += x.shape[0]
    if count < 2:
        raise ValueError("the reference needs at least two training images")
    mean = s1 / count
    norm = (s2 - count * mean.pow(2)).clamp(min=0).sqrt()
    alive = norm > DEAD_STD * count**0.5
    centre = (shift.double() + mean).float()
    inv = torch.where(alive, 1.0 / norm.clamp(min=1e-30), torch.zeros_like(norm)).float()
    return (lambda h: (h - centre) * inv), alive, count


def _randomised(stream: Stream, n: int, dim: int, seed: int, iterations: int, progress):
    z_of, alive, count = _standardiser(stream, n)
    device = alive.device
    gen = torch.Generator().manual_seed(seed)
    k = min(n, 2 * dim)
    basis = torch.linalg.qr(torch.randn(n, k, generator=gen).to(device)).Q
    n_rows = min(n, CEILING_ROWS, max(1, ROW_BUDGET // n))
    rows = torch.randperm(n, generator=gen)[:n_rows].sort().values
    rows_dev = rows.to(device)
    corr_rows = None
    for i in range(iterations + 1):
        if progress:
            progress(f"randomised eigen-solution: product {i + 1} of {iterations + 1}")
        last = i == iterations
        product = torch.zeros(n, k, device=device)
        if last:
            corr_rows = torch.zeros(n_rows, n, device=device)
        for h in stream():
            z = z_of(h)
            product.addmm_(z.T, z @ basis)
            if last:
                corr_rows.addmm_(z[:, rows_dev].T, z)
        if not last:
            basis = torch.linalg.qr(product).Q
    small = basis.T @ product  # Rayleigh-Ritz: Q^T C Q
    vals, small_vecs = torch.linalg.eigh(0.5 * (small + small.T).double())
    order = vals.argsort(descending=True)[:dim]
    vecs = (basis.double() @ small_vecs[:, order]).float().cpu()
    return _finish(
        vecs, vals[order].float().cpu(), corr_rows.cpu(), rows, alive.cpu(), count, "randomised"
    )


def _finish(vecs, vals, corr, rows, alive, count, method) -> Reference:
    vals = vals.float().clamp(min=0)
    vectors = (vecs.float() * vals.sqrt()) * alive[:, None]
    return Reference(vectors, vals, corr, rows, alive, count, method)


def reference_for(
    model: nn.Module,
    layers: list[str],
    split,
    device: torch.device,
    num_neurons: int,
    dim: int,
    max_images: int,
    seed: int = 0,
    batch_size: int = 256,
    progress: Callable[[str], None] | None = None,
) -> Reference:
    """The Reference of a frozen model on a class-balanced sample of `split`."""
    from backend.semantic.sample import balanced_sample

    sample = balanced_sample(split, max_images, seed)
    stream = activation_stream(model, layers, lambda: sample.batches(batch_size), device)
    return compute_reference(stream, num_neurons, dim, seed, progress=progress)


def random_unit_vectors(n: int, dim: int, seed: int) -> torch.Tensor:
    """Seeded random directions: what a start from nothing looks like."""
    gen = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, dim, generator=gen), dim=1)


def eigen_start_weight(reference: Reference, seed: int, dim: int | None = None) -> torch.Tensor:
    """Initial E from the eigen-solution; dead or unreached neurons get small random
    directions so that their cosine stays defined and they can still learn. With fewer
    neurons than `dim`, the solution has only N columns: the rest start at zero (the
    cosines are those of the N-column fit)."""
    weight = reference.vectors.clone()
    if dim is not None and weight.shape[1] < dim:
        weight = torch.nn.functional.pad(weight, (0, dim - weight.shape[1]))
    empty = weight.norm(dim=1) < 1e-6
    if bool(empty.any()):
        noise = random_unit_vectors(int(empty.sum()), weight.shape[1], seed) * 1e-2
        weight[empty] = noise
    return weight
