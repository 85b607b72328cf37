"""The static loss (docs/design.md §1): a soft-target template and a class-similarity matrix
S (C × C) for the features.

    L = CE + λ · T² · KL(q_y ‖ softmax(z / T)) + ρ · mean_{i≠j} (cos(e_i, e_j) − S[y_i, y_j])²

    q_y = softmax(β · P[y] / T)   a soft target per class, read off the row of the label of
                                  P, the equiangular simplex (1 on the diagonal, −1/(C−1)
                                  off it): zero loss at a true-class margin of β·C/(C−1)
    e                             the student's penultimate features (the logit layer's
                                  input), centred over the batch

`static` takes S from the teacher's semantic vectors of its logit layer (the knowledge
file); `static_free` takes the simplex for S as well, the same loss with no teacher at all,
so that the difference between the two is what the teacher's knowledge adds beyond the
form of the loss.

Why this form: the soft target softens the student's confidence like label smoothing and
Tf-KD do; the relation term shapes the geometry of the features (samples of classes the
teacher finds alike point alike), which a correlation of 10 logits cannot. The teacher's S
stays out of the soft target: there it lowers the margin between the classes the teacher
finds alike, which those classes' photos cannot afford (on 5,000 CIFAR-10 photos it cost
0.9 points; on digits it was worth 0.3: docs/research/static-distillation.md). The
relation term is on cosines, so it does not depend on the features' scale and cannot blow
up the way a Pearson correlation with small variance does (static.py).
"""

import torch
import torch.nn.functional as F
from torch import nn


def simplex_similarity(classes: int) -> torch.Tensor:
    """The equiangular simplex: C unit vectors as far apart as they can be, cos = −1/(C−1)."""
    s = torch.full((classes, classes), -1.0 / (classes - 1))
    return s.fill_diagonal_(1.0)


def shuffled_similarity(s: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """S with its classes relabelled by a fixed permutation π: S'[a, b] = S[π a, π b].

    Symmetric with the diagonal kept and the same multiset of similarities, but attached to
    the wrong classes: the control that tells structure from the labels' meaning. The
    permutation is a derangement (no class keeps its row), fixed by `seed`.
    """
    gen = torch.Generator().manual_seed(seed)
    n = len(s)
    while True:
        perm = torch.randperm(n, generator=gen)
        if n < 2 or bool((perm != torch.arange(n)).all()):
            break
    return s[perm][:, perm].clone()


def profile_similarity(logit_vectors: torch.Tensor, layer_vectors: torch.Tensor) -> torch.Tensor:
    """A class similarity from a hint layer's vectors: each class's profile over the layer's
    neurons (the cosine of its logit vector with each neuron's vector, the neuron's mean over
    classes removed), compared by cosine. The knowledge-file route for the penultimate layer
    (a bench control; docs/research/static-distillation.md)."""
    logits, layer = (F.normalize(v.float(), dim=1) for v in (logit_vectors, layer_vectors))
    profile = logits @ layer.T
    unit = F.normalize(profile - profile.mean(dim=0, keepdim=True), dim=1)
    return unit @ unit.T


def class_soft_targets(s: torch.Tensor, beta: float, t: float) -> torch.Tensor:
    """q (C × C): row y is softmax(β · S[y] / T), the soft target of class y."""
    return F.softmax(beta * s.float() / t, dim=1)


def relation_term(e: torch.Tensor, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Mean over pairs i ≠ j of (cos(e_i, e_j) − S[y_i, y_j])², e (B, D) centred over the
    batch first (so that cosines spread over [−1, 1] like similarities do)."""
    e = e.flatten(1)
    e = e.float() if e.dtype in (torch.float16, torch.bfloat16) else e  # autocast: float32
    unit = F.normalize(e - e.mean(dim=0, keepdim=True), dim=1)
    cos = unit @ unit.T
    b = len(e)
    diff = (cos - s.to(e.dtype)[y[:, None], y[None, :]]).masked_fill_(
        torch.eye(b, dtype=torch.bool, device=e.device), 0.0
    )
    return diff.square().sum() / (b * (b - 1))


def _wide(h: torch.Tensor) -> torch.Tensor:
    return h.float() if h.dtype in (torch.float16, torch.bfloat16) else h


class _StaticLoss(torch.autograd.Function):
    """(CE, λ · soft term + ρ · relation term) with a hand-written backward: the same values
    and gradients as autograd through `cross_entropy`, `soft_kl` and `relation_term` (the
    tests check both), in far fewer tensor operations. On a CPU a small student's step is a
    few milliseconds and each operation costs microseconds: this keeps a static step close
    to a CE step. `e` is None (or ρ = 0) for the soft term alone."""

    @staticmethod
    def forward(ctx, z, e, y, soft, entropy, s, lam, rho, t):
        if z.is_cuda and torch.is_autocast_enabled("cuda"):
            with torch.autocast("cuda", enabled=False):  # all of it in float32
                return _StaticLoss._forward(ctx, z, e, y, soft, entropy, s, lam, rho, t)
        return _StaticLoss._forward(ctx, z, e, y, soft, entropy, s, lam, rho, t)

    @staticmethod
    def _forward(ctx, z, e, y, soft, entropy, s, lam, rho, t):
        ctx.dtypes = z.dtype, None if e is None else e.dtype
        z = _wide(z)
        b = z.shape[0]
        log_p = torch.log_softmax(z, dim=1)
        log_pt = torch.log_softmax(z / t, dim=1)
        q = soft.to(z.dtype).index_select(0, y)
        ce = -log_p.gather(1, y[:, None]).sum() / b
        # T² KL(q ‖ p_T) = T² Σ q (log q − log p_T): Σ q log q is a constant of the class.
        kl = entropy.to(z.dtype).index_select(0, y).sum() - torch.dot(q.view(-1), log_pt.view(-1))
        term = kl * (lam * t * t / b)
        ctx.relation = e is not None and rho != 0.0
        saved = [log_p, log_pt, q, y]
        if ctx.relation:
            e = _wide(e.flatten(1))
            c = e - e.mean(dim=0, keepdim=True)
            inv = c.square().sum(dim=1, keepdim=True).clamp_min_(1e-24).rsqrt_()  # F.normalize
            u = c * inv
            target = s.to(e.dtype).index_select(0, y).index_select(1, y)
            diff = torch.mm(u, u.T).sub_(target)
            diff.diagonal().zero_()  # 1 − 1 up to rounding: pairs i ≠ j only
            ctx.n = b * (b - 1)
            flat = diff.view(-1)
            term = term + torch.dot(flat, flat) * (rho / ctx.n)
            saved += [u, inv, diff]
        ctx.save_for_backward(*saved)
        ctx.lam, ctx.rho, ctx.t = lam, rho, t
        return ce, term

    @staticmethod
    def backward(ctx, g_ce, g_term):
        log_p, log_pt, q, y, *rel = ctx.saved_tensors
        b = log_p.shape[0]
        # d CE / dz = (softmax(z) − onehot) / B; d T² KL / dz = T (softmax(z / T) − q) / B.
        g_z = log_p.exp().scatter_add_(1, y[:, None], -torch.ones_like(log_p[:, :1]))
        g_z.mul_(g_ce / b).add_(log_pt.exp().sub_(q).mul_(g_term * (ctx.lam * ctx.t / b)))
        g_e = None
        if ctx.relation:
            u, inv, diff = rel
            # L = ρ Σ diff² / n with diff = u uᵀ − S symmetric: dL/du = 4 ρ diff u / n.
            g_u = torch.mm(diff, u).mul_(g_term * 4.0 * ctx.rho / ctx.n)
            # u = c / ‖c‖ per row; then c = e − mean(e) over the batch.
            g_c = (g_u - u * (g_u * u).sum(dim=1, keepdim=True)).mul_(inv)
            g_e = (g_c - g_c.mean(dim=0, keepdim=True)).to(ctx.dtypes[1])
        return g_z.to(ctx.dtypes[0]), g_e, None, None, None, None, None, None, None


class SoftRelation(nn.Module):
    """The two targets: the soft-target table q, from `soft_similarity` (default: the
    simplex of S's size, static's template), and S itself for the relation term (buffers)."""

    def __init__(
        self,
        similarity: torch.Tensor,
        beta: float,
        t: float,
        soft_similarity: torch.Tensor | None = None,
    ):
        super().__init__()
        self.beta, self.t = float(beta), float(t)
        for name in ("similarity", "soft", "entropy"):
            self.register_buffer(name, torch.empty(0), persistent=False)
        soft = simplex_similarity(len(similarity)) if soft_similarity is None else soft_similarity
        self.set_similarity(similarity, soft_similarity=soft)

    def set_similarity(
        self, similarity: torch.Tensor, soft_similarity: torch.Tensor | None = None
    ) -> None:
        """Replace the relation term's S, and the soft targets if `soft_similarity` is given:
        the bench's controls (S shuffled; the teacher's S in the other term)."""
        device = self.similarity.device
        self.similarity = similarity.float().to(device)
        if soft_similarity is not None:
            soft = soft_similarity.float().to(device)
            self.soft = class_soft_targets(soft, self.beta, self.t)
            self.entropy = (self.soft * self.soft.log()).sum(dim=1)

    def loss(
        self, logits: torch.Tensor, embedding: torch.Tensor | None, y: torch.Tensor, lam, rho
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(CE, λ · soft term + ρ · relation term); no relation term for embedding None."""
        return _StaticLoss.apply(
            logits,
            embedding,
            y,
            self.soft,
            self.entropy,
            self.similarity,
            float(lam),
            float(rho),
            self.t,
        )
