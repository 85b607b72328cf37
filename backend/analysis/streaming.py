"""Per-neuron statistics that update batch by batch in memory independent of dataset size.

Each accumulator takes pooled activations `h` of shape (B, N) (one column per neuron) and
keeps only O(N) or O(N x k) state. All updates are vectorised over neurons; the only
Python loop is over histogram range doublings, which stop after the first few batches.
"""

import torch


class RunningTopK:
    """The k largest values seen per neuron, with the dataset index that produced each.

    Merging a batch is one `topk` over cat([running (N, k), batch (N, B)]). `positions`
    of the last merge say where each winner came from (< k: kept, >= k: batch row
    position - k), so callers can gather per-winner data such as activation maps.
    """

    def __init__(self, num_neurons: int, k: int, device: torch.device):
        self.k = k
        self.values = torch.full((num_neurons, k), float("-inf"), device=device)
        self.indices = torch.full((num_neurons, k), -1, dtype=torch.int64, device=device)

    def update(self, h: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Merge a batch; returns the winners' positions (N, k) in the concatenation."""
        n, batch = self.values.shape[0], h.shape[0]
        pool = torch.cat([self.values, h.t().float()], dim=1)
        self.values, positions = pool.topk(self.k, dim=1)
        ids = torch.cat([self.indices, idx.view(1, batch).expand(n, batch)], dim=1)
        self.indices = ids.gather(1, positions)
        return positions


class RunningMoments:
    """Mean and population variance per neuron in float64 (Chan et al.'s pairwise merge,
    which stays accurate where sum-of-squares minus squared-sum would cancel)."""

    def __init__(self, num_neurons: int, device: torch.device):
        self.count = 0
        self.mean = torch.zeros(num_neurons, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(num_neurons, dtype=torch.float64, device=device)

    def update(self, h: torch.Tensor) -> None:
        """`h` (B, N) pooled activations, ideally already float64."""
        batch = h.shape[0]
        batch_var, batch_mean = torch.var_mean(h.double(), dim=0, correction=0)
        total = self.count + batch
        delta = batch_mean - self.mean
        self.mean += delta * (batch / total)
        self.m2 += batch_var * batch + delta.square() * (self.count * batch / total)
        self.count = total

    def std(self) -> torch.Tensor:
        return (self.m2 / max(self.count, 1)).sqrt()


class ClassMeans:
    """Sum and count of pooled activations per (class, neuron), in float64."""

    def __init__(self, num_neurons: int, num_classes: int, device: torch.device):
        self.num_classes = num_classes
        self.sums = torch.zeros(num_classes, num_neurons, dtype=torch.float64, device=device)
        self.counts = torch.zeros(num_classes, dtype=torch.int64, device=device)

    def update(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """`h` (B, N) pooled activations, `y` (B,) int64 labels in 0..C-1."""
        if y.numel() and bool(y.min() < 0):
            raise ValueError(f"labels must be in 0..{self.num_classes - 1}, got a negative one")
        counts = torch.bincount(y, minlength=self.num_classes)
        if counts.numel() > self.num_classes:
            raise ValueError(
                f"labels must be in 0..{self.num_classes - 1}, got {counts.numel() - 1}"
            )
        self.counts += counts
        self.sums.index_add_(0, y, h.double())

    def means(self) -> torch.Tensor:
        """(N, C) float32; NaN for a class with no images."""
        counts = self.counts.to(torch.float64).unsqueeze(1)
        means = torch.where(counts > 0, self.sums / counts.clamp(min=1), float("nan"))
        return means.t().float()


class StreamingHistogram:
    """A `bins`-bin histogram per neuron whose range grows as data arrives.

    Each neuron keeps equal-width bins over [lo, hi). The first batch sets the range to
    just past its min and max. When a later value falls outside, the range doubles toward
    that side and adjacent bins merge pairwise (bin j of the wider range is exactly bins
    2j and 2j+1 of the narrower one), so counts already made stay in the right bin; no
    value is ever dropped or clipped. The rebuilt edges are `linspace(lo, hi, bins + 1)`.
    """

    def __init__(self, num_neurons: int, bins: int, device: torch.device):
        if bins < 2 or bins % 2:
            raise ValueError(f"histogram bins must be an even number >= 2, got {bins}")
        self.bins = bins
        self.counts = torch.zeros(num_neurons, bins, dtype=torch.int64, device=device)
        self.lo = torch.zeros(num_neurons, dtype=torch.float64, device=device)
        self.hi = torch.zeros(num_neurons, dtype=torch.float64, device=device)
        self._row_start = torch.arange(0, num_neurons * bins, bins, device=device)
        self._started = False

    def update(self, h: torch.Tensor) -> None:
        """`h` (B, N) pooled activations, ideally already float64 (bins are placed in it)."""
        bmin, bmax = h.amin(dim=0).double(), h.amax(dim=0).double()
        if not (bool(torch.isfinite(bmin).all()) and bool(torch.isfinite(bmax).all())):
            raise ValueError("activations contain NaN or infinity; cannot histogram them")
        if not self._started:
            self._init_range(bmin, bmax)
        else:
            self._grow(bmin, bmax)
        n, bins = self.counts.shape
        # Every value is >= lo, so truncation is floor; rounding can only put a value a
        # hair past the last edge, and the clamp takes it back.
        which = ((h.double() - self.lo) * (bins / (self.hi - self.lo))).long()
        which.clamp_(0, bins - 1)
        which += self._row_start
        self.counts += torch.bincount(which.view(-1), minlength=n * bins).view(n, bins)

    def _init_range(self, bmin: torch.Tensor, bmax: torch.Tensor) -> None:
        span = bmax - bmin
        # A constant neuron (span 0) gets a small range around its value instead.
        floor = bmin.abs().clamp(min=1.0) * 1e-6
        width = torch.maximum(span * (1 + 1 / self.bins), floor)
        self.lo, self.hi = bmin.clone(), bmin + width
        self._started = True

    def _grow(self, bmin: torch.Tensor, bmax: torch.Tensor) -> None:
        half = self.bins // 2
        while True:
            right = bmax >= self.hi
            left = (bmin < self.lo) & ~right  # one side per round; the other waits a round
            if not bool((right | left).any()):
                return
            width = self.hi - self.lo
            self.hi = torch.where(right, self.lo + 2 * width, self.hi)
            self.lo = torch.where(left, self.hi - 2 * width, self.lo)
            merged = self.counts.view(-1, half, 2).sum(dim=2)
            zeros = torch.zeros_like(merged)
            grown_right = torch.cat([merged, zeros], dim=1)
            grown_left = torch.cat([zeros, merged], dim=1)
            self.counts = torch.where(
                right.unsqueeze(1),
                grown_right,
                torch.where(left.unsqueeze(1), grown_left, self.counts),
            )
