"""The static knowledge loss (docs/design.md §1): the student's batch correlation of a layer
is pulled towards the cosine similarity of the teacher's semantic vectors for that layer.

    L = CE + λ · Σ_l mean over live off-diagonal pairs (i, j) of (A_s^l_ij − S_T^l_ij)²

Why it is computed the way it is (stable over λ = 0.01 … 10 and well beyond). The figures
are from `make bench-kd`: digits_cnn_small, 200 training digits, batch 64, 5 seeds.

* **A floor under the variance (eps).** Pearson's correlation divides each centred column by
  its norm, so its gradient with respect to a column grows as 1/σ of that column. At
  initialisation the logits are small (σ ≈ 0.1–0.5), and a plain loss with a large λ throws
  the network around: after 30 steps, λ = 10 gives 14.9 % test accuracy where CE alone gives
  42.1 %; after 480 steps, λ = 100 gives 48.5 % (CE: 94.5 %). Dividing by sqrt(σ² + eps)
  instead, with eps = 1 in the layer's own units, caps that 1/σ at 1/sqrt(eps), and the
  gradient fades as 1/σ once the logits have grown, so CE keeps the upper hand late in
  training: 41.3 % after 30 steps at λ = 10, 92.3 % after 480 steps at λ = 100. The price is
  a correlation shrunk by σ²/(σ² + eps): under 4 % for trained logits (σ ≈ 5).
* **Dead columns leave the loss.** A column with (almost) no variance over the batch has no
  correlation; its pairs are masked out rather than pulled towards a target they cannot
  reach.
* **Normalised per layer.** Each layer's term is a mean over its pairs, so a wide hint layer
  weighs as much as the 10 logits and λ means the same for every student.
* **Logits, not probabilities.** The teacher's vectors were fitted to its logits' correlation;
  softmax probabilities of a trained net correlate at about -1/(C-1) for every pair and carry
  no structure to match.

Tried and dropped, in trials on the same setting: a linear warm-up of λ over the first 30 %
of the steps (no gain: 94.6 % against 95.2 % without, at λ = 10); a scale-free variant (a
relative eps and the loss multiplied by the batch's mean σ, so that the gradient does not
depend on the logits' scale), as good up to λ = 30 but it never lets CE take over and fell
to 40 % at λ = 100; and an adapter with orthonormal columns for hint layers (so that it
cannot re-colour the student's features by itself): 95.2 ± 2.0 % with conv3, no better than
the free adapter, at ten times its cost.
"""

import torch
from torch import nn

from backend.distill.knowledge import Knowledge

EPS = 1.0
"""Variance floor, in the units of the activations (squared)."""
DEAD_VAR = 1e-8
"""A column whose batch variance is at most this is dead for that batch."""


def _wide(h: torch.Tensor) -> torch.Tensor:
    """float32 for half-precision input (autocast), else unchanged (float64 stays)."""
    return h.float() if h.dtype in (torch.float16, torch.bfloat16) else h


def safe_correlation(h: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Correlation of the columns of h (B, C) with a variance floor, and the live mask (C,).

    corr_ij = mean_b(c_bi c_bj) / sqrt((σ_i² + eps)(σ_j² + eps)), c the centred columns.
    Never below float32 (safe under autocast).
    """
    h = _wide(h)
    centred = h - h.mean(dim=0, keepdim=True)
    var = centred.pow(2).mean(dim=0)
    unit = centred * torch.rsqrt(var + eps)
    return unit.T @ unit / h.shape[0], var > DEAD_VAR


class _StaticTerm(torch.autograd.Function):
    """One layer's term with a hand-written backward: the same value and gradient as
    autograd through `safe_correlation` (the tests check both), in about half the tensor
    operations. On a CPU a small student's step is a few milliseconds and every operation
    costs microseconds, so this is what keeps a static step close to a plain one."""

    @staticmethod
    def forward(ctx, h, target, off, eps):
        if h.is_cuda and torch.is_autocast_enabled("cuda"):
            with torch.autocast("cuda", enabled=False):  # all of it in float32
                return _StaticTerm._forward(ctx, h, target, off, eps)
        return _StaticTerm._forward(ctx, h, target, off, eps)

    @staticmethod
    def _forward(ctx, h, target, off, eps):
        dtype, h = h.dtype, _wide(h)
        b = h.shape[0]
        centred = h - h.mean(dim=0, keepdim=True)
        sq = centred.square().sum(dim=0)  # B σ²
        r = (sq + eps * b).rsqrt_()  # 1 / sqrt(B (σ² + eps)): the correlation's 1/B folded in
        unit = centred * r
        diff = torch.addmm(target, unit.T, unit, beta=-1)  # A − S_T
        if h.device.type == "cpu" and bool(sq.min() > DEAD_VAR * b):
            # No dead column (the usual case); a CPU pays nothing to ask.
            count = float(off.shape[0] * (off.shape[0] - 1))
            diff.mul_(off)
        else:
            alive = (sq > DEAD_VAR * b).to(h.dtype)
            pairs = off * (alive[:, None] * alive[None, :])
            count = pairs.sum().clamp_min(1.0)
            diff.mul_(pairs)
        ctx.save_for_backward(centred, r, unit, diff)
        ctx.count, ctx.dtype = count, dtype
        flat = diff.view(-1)
        return torch.dot(flat, flat) / count

    @staticmethod
    def backward(ctx, grad):
        centred, r, unit, diff = ctx.saved_tensors
        # L = Σ diff² / n and A = unitᵀ unit, diff symmetric: dL/dunit = 4 unit diff / n.
        g_unit = torch.mm(unit, diff).mul_(grad * 4.0 / ctx.count)
        # unit = c r with r_j = (Σ_b c_bj² + B eps)^(-1/2), so dr_j/dc_bj = -r_j³ c_bj. The
        # columns of g_unit and of c sum to zero, so the centring adds nothing.
        proj = (centred * g_unit).sum(dim=0).mul_(r.square())
        g_h = (g_unit - centred * proj).mul_(r)
        return g_h.to(ctx.dtype), None, None, None


def static_term(
    h: torch.Tensor, target: torch.Tensor, off_diagonal: torch.Tensor, eps: float = EPS
) -> torch.Tensor:
    """Mean over live off-diagonal pairs of (A − S_T)² for one layer (h: (B, C)).

    `target` must be symmetric (a cosine similarity is); `off_diagonal` is a float or bool
    (C, C) mask that is 1 off the diagonal.
    """
    wide = _wide(h).dtype
    return _StaticTerm.apply(h, target.to(wide), off_diagonal.to(wide), eps)


class StaticTargets(nn.Module):
    """S_T of each knowledge layer, and a linear adapter where the student's width differs.

    Args:
        knowledge: the teacher's knowledge (read from its file).
        pairs: (teacher layer, student layer) for every layer to match; the logit layer is
            matched to the student's logits.
        student_widths: the student's width of each student layer in `pairs`.
        eps: the variance floor (a tiny eps gives the plain Pearson loss, for comparison).
    """

    def __init__(
        self,
        knowledge: Knowledge,
        pairs: list[tuple[str, str]],
        student_widths: dict[str, int],
        eps: float = EPS,
    ):
        super().__init__()
        self.pairs, self.eps = list(pairs), eps
        self.adapters = nn.ModuleDict()
        for i, (teacher_path, student_path) in enumerate(self.pairs):
            layer = knowledge.layer(teacher_path)
            s = layer.similarity()
            self.register_buffer(f"target_{i}", s, persistent=False)
            self.register_buffer(f"off_{i}", 1.0 - torch.eye(len(s)), persistent=False)
            width = student_widths[student_path]
            if width != layer.width:
                self.adapters[str(i)] = nn.Linear(width, layer.width, bias=False)

    def forward(self, pooled: list[torch.Tensor]) -> torch.Tensor:
        """Σ_l of each layer's term; `pooled[i]` is the student's (B, C) for pairs[i]."""
        terms = []
        for i, h in enumerate(pooled):
            if str(i) in self.adapters:
                h = self.adapters[str(i)](_wide(h))
            target, off = getattr(self, f"target_{i}"), getattr(self, f"off_{i}")
            terms.append(_StaticTerm.apply(h, target, off, self.eps))
        return terms[0] if len(terms) == 1 else torch.stack(terms).sum()
