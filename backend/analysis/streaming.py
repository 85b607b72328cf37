"""Per-neuron statistics that update batch by batch in memory independent of dataset size.

Each accumulator takes pooled activations `h` of shape (B, N) (one column per neuron) and
keeps only O(N) or O(N x k) state. All updates are vectorised over neurons; the only
Python loop is over histogram range doublings, which stop after the first few batches.
"""

import torch


class RunningTopK:
    """The k largest values seen per neuron, with the dataset index that produced each.

    Merging a batch is a `topk` over cat([running (n, k), batch (n, B)]), done only for
    the n neurons whose batch maximum beats their current k-th value: once the lists
    fill up, most neurons gain nothing from a batch, and topk is the costliest step here.
    `update` returns where each winner came from (< k: slot of the old list, >= k: batch
    row + k; unchanged neurons get 0..k-1), so callers can gather per-winner data such as
    activation maps.
    """

    def __init__(self, num_neurons: int, k: int, device: torch.device):
        self.k = k
        self.values = torch.full((num_neurons, k), float("-inf"), device=device)
        self.indices = torch.full((num_neurons, k), -1, dtype=torch.int64, device=device)
        self._unchanged = torch.arange(k, device=device).repeat(num_neurons, 1)
        self._padding = torch.full((num_neurons, 0), float("-inf"), device=device)
        self._pad_ok = torch.device(device).type == "cpu" and num_neurons * 64 * k <= 1 << 24

    def update(
        self, h: torch.Tensor, idx: torch.Tensor, batch_max: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Merge a batch h (B, N) with dataset indices idx (B,); returns positions (N, k).

        `batch_max` (N,), h's maximum over the batch, saves recomputing it if known.
        """
        n, k, batch = self.values.shape[0], self.k, h.shape[0]
        if batch_max is None:
            batch_max = h.amax(dim=0)
        rows = (batch_max > self.values[:, -1]).nonzero().squeeze(1)
        every_row = len(rows) == n
        # Padding with -inf to 64k columns puts torch's CPU topk on its partial-sort path,
        # about twice as fast single-threaded as the nth_element path it takes otherwise;
        # only where the padding stays small (and never on a GPU, whose topk differs).
        pad = max(0, 64 * k - k - batch) if self._pad_ok else 0
        if self._padding.shape[1] != pad:
            self._padding = self.values.new_full((n, pad), float("-inf"))
        if every_row:
            old_values, old_ids, fresh = self.values, self.indices, h.t()
        else:
            old_values, old_ids = self.values[rows], self.indices[rows]
            fresh = h.index_select(1, rows).t()
        pool = torch.cat([old_values, fresh.to(old_values.dtype), self._padding[: len(rows)]], 1)
        values, positions = pool.topk(k, dim=1)
        # A padding column wins only where fewer than k real values exist; the old list's
        # last slot is then empty as well (-inf, index -1), so point there instead.
        positions = torch.where(positions >= k + batch, k - 1, positions)
        ids = torch.cat([old_ids, idx.view(1, batch).expand(len(rows), batch)], dim=1)
        ids = ids.gather(1, positions)
        if every_row:
            self.values, self.indices = values, ids
            return positions
        self.values = self.values.index_copy(0, rows, values)
        self.indices = self.indices.index_copy(0, rows, ids)
        return self._unchanged.index_copy(0, rows, positions)


class RunningMoments:
    """Mean and population variance per neuron, in float64.

    Sums (x - s) and (x - s)^2 with s the first batch's mean: a shift near the mean
    keeps E[d^2] - E[d]^2 free of the cancellation that ruins it on raw sums (a constant
    neuron gets a variance of ~0, not rounding noise), at a few ops per batch.
    """

    def __init__(self, num_neurons: int, device: torch.device):
        self.count = 0
        self.shift: torch.Tensor | None = None
        self.sum = torch.zeros(num_neurons, dtype=torch.float64, device=device)
        self.sum_sq = torch.zeros(num_neurons, dtype=torch.float64, device=device)

    def update(self, h: torch.Tensor) -> None:
        """`h` (B, N) pooled activations, ideally already float64."""
        h = h.double()
        if self.shift is None:
            self.shift = h.mean(dim=0)
        d = h - self.shift
        self.sum += d.sum(dim=0)
        self.sum_sq += d.square_().sum(dim=0)
        self.count += h.shape[0]

    def mean(self) -> torch.Tensor:
        if self.shift is None:
            return self.sum.clone()
        return self.shift + self.sum / max(self.count, 1)

    def std(self) -> torch.Tensor:
        n = max(self.count, 1)
        return (self.sum_sq / n - (self.sum / n).square()).clamp_(min=0).sqrt_()


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
        self._row_start = torch.arange(num_neurons, dtype=torch.float64, device=device) * bins
        self._row_end = self._row_start + (bins - 1)
        self._bin_dtype = torch.int32 if num_neurons * bins < 2**31 else torch.int64
        self._scale: torch.Tensor | None = None
        self._offset: torch.Tensor | None = None

    def update(
        self,
        h: torch.Tensor,
        batch_min: torch.Tensor | None = None,
        batch_max: torch.Tensor | None = None,
    ) -> None:
        """Count a batch h (B, N), ideally float64; its min and max over the batch (N,)
        save recomputing them if known."""
        h = h.double()
        bmin = (h.amin(dim=0) if batch_min is None else batch_min).double()
        bmax = (h.amax(dim=0) if batch_max is None else batch_max).double()
        if not bool(torch.isfinite(bmax - bmin).all()):
            raise ValueError("activations contain NaN or infinity; cannot histogram them")
        if self._offset is None:
            self._init_range(bmin, bmax)
        else:
            self.grow(bmin, bmax)
        # The flat bin number row * bins + floor((x - lo) * bins / (hi - lo)), as one fused
        # multiply-add and one clamp. The clamp takes a value that rounding put a hair past
        # the last edge back into the last bin; every value is >= lo, so truncating floors.
        flat = torch.addcmul(self._offset, h, self._scale)
        n, bins = self.counts.shape
        # int32 converts about 3x faster than int64 and holds any realistic n * bins.
        flat = flat.clamp_(self._row_start, self._row_end).to(self._bin_dtype)
        self.counts += torch.bincount(flat.view(-1), minlength=n * bins).view(n, bins)

    def _set_range(self, lo: torch.Tensor, hi: torch.Tensor) -> None:
        self.lo, self.hi = lo, hi
        self._scale = self.bins / (hi - lo)
        self._offset = self._row_start - lo * self._scale

    def _init_range(self, bmin: torch.Tensor, bmax: torch.Tensor) -> None:
        span = bmax - bmin
        # A neuron constant so far (span 0) gets a small range starting at its value.
        floor = bmin.abs().clamp(min=1.0) * 1e-6
        width = torch.maximum(span * (1 + 1 / self.bins), floor)
        self._set_range(bmin.clone(), bmin + width)

    def grow(self, bmin: torch.Tensor, bmax: torch.Tensor) -> None:
        """Widen the ranges until they hold [bmin, bmax], counting nothing (also how a rank
        follows the others' batches: backend/analysis/across_ranks.py)."""
        half = self.bins // 2
        while True:
            right = bmax >= self.hi
            left = (bmin < self.lo) & ~right  # one side per round; the other waits a round
            if not bool((right | left).any()):
                return
            width = self.hi - self.lo
            hi = torch.where(right, self.lo + 2 * width, self.hi)
            self._set_range(torch.where(left, hi - 2 * width, self.lo), hi)
            merged = self.counts.view(-1, half, 2).sum(dim=2)
            zeros = torch.zeros_like(merged)
            grown_right = torch.cat([merged, zeros], dim=1)
            grown_left = torch.cat([zeros, merged], dim=1)
            self.counts = torch.where(
                right.unsqueeze(1),
                grown_right,
                torch.where(left.unsqueeze(1), grown_left, self.counts),
            )


class RandomSample:
    """`size` images drawn uniformly from the stream (reservoir sampling, seeded), with
    every neuron's activation on each: the same images for all neurons.

    After t images, each has had the same chance size / t of being kept, whatever the
    order and batch sizes; only the few winners of a batch are copied.
    """

    def __init__(self, num_neurons: int, size: int, device: torch.device, seed: int = 0):
        self.size, self.seen = size, 0
        self.values = torch.zeros(num_neurons, size, device=device)
        self.indices = torch.full((size,), -1, dtype=torch.int64, device=device)
        self._generator = torch.Generator().manual_seed(seed)

    def update(self, h: torch.Tensor, idx: torch.Tensor) -> None:
        """`h` (B, N) pooled activations of images `idx` (B,)."""
        batch = h.shape[0]
        t = torch.arange(self.seen, self.seen + batch, dtype=torch.float64)
        draw = torch.rand(batch, generator=self._generator, dtype=torch.float64)
        slots = torch.where(t < self.size, t, (draw * (t + 1)).floor()).long()
        # In order, so that a later image that draws the same slot replaces an earlier one.
        for row in (slots < self.size).nonzero().squeeze(1).tolist():
            slot = int(slots[row])
            self.values[:, slot] = h[row]
            self.indices[slot] = idx[row]
        self.seen += batch

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(values (N, r), indices (r,)), r = min(size, images seen), in slot order."""
        kept = min(self.size, self.seen)
        return self.values[:, :kept], self.indices[:kept]


class PerImage:
    """Values per dataset index (labels, predictions), growing to the largest index seen;
    indices never seen keep `fill`."""

    def __init__(self, dtype: torch.dtype, fill, device: torch.device):
        self.fill = fill
        self.values = torch.full((0,), fill, dtype=dtype, device=device)

    def update(self, idx: torch.Tensor, values: torch.Tensor) -> None:
        need = int(idx.max()) + 1 if idx.numel() else 0
        if need > len(self.values):
            grown = max(need, 2 * len(self.values))
            pad = self.values.new_full((grown - len(self.values),), self.fill)
            self.values = torch.cat([self.values, pad])
        self.values[idx] = values.to(self.values.dtype)

    def result(self, size: int) -> torch.Tensor:
        """The values of indices 0..size-1."""
        out = self.values[:size]
        if len(out) < size:
            out = torch.cat([out, out.new_full((size - len(out),), self.fill)])
        return out
