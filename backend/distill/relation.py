"""The static loss (docs/design.md §1): a class-similarity matrix S (C × C) used twice.

    L = CE + λ · T² · KL(q_y ‖ softmax(z / T)) + ρ · mean_{i≠j} (cos(e_i, e_j) − S[y_i, y_j])²

    q_y = softmax(β · S[y] / T)   a soft target per class, read off S's row of the label
    e                             the student's penultimate features (the logit layer's
                                  input), centred over the batch

`static` takes S from the teacher's semantic vectors of its logit layer (the knowledge
file); `static_free` takes the equiangular simplex (1 on the diagonal, −1/(C−1) off it),
the same loss with no teacher at all, so that the difference between the two is what the
teacher's knowledge adds beyond the form of the loss.

Why this form: the soft target softens the student's confidence like label smoothing and
Tf-KD do, but unevenly, towards the classes the teacher confuses; the relation term shapes
the geometry of the features (samples of classes the teacher finds alike point alike),
which a correlation of 10 logits cannot. The relation term is on cosines, so it does not
depend on the features' scale and cannot blow up the way a Pearson correlation with small
variance does (static.py).
"""

import torch
import torch.nn.functional as F
from torch import nn

from backend.distill.losses import soft_kl


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


class SoftRelation(nn.Module):
    """The two targets made from one S: the soft-target table q and S itself (buffers)."""

    def __init__(self, similarity: torch.Tensor, beta: float, t: float):
        super().__init__()
        self.beta, self.t = float(beta), float(t)
        self.register_buffer("similarity", similarity.float().clone(), persistent=False)
        self.register_buffer("soft", class_soft_targets(similarity, beta, t), persistent=False)

    def set_similarity(self, similarity: torch.Tensor) -> None:
        """Replace S (and q with it): the bench's shuffled-S control."""
        device = self.similarity.device
        self.similarity = similarity.float().to(device)
        self.soft = class_soft_targets(self.similarity, self.beta, self.t)

    def soft_term(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return soft_kl(logits, self.soft[y], self.t)

    def relation(self, embedding: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return relation_term(embedding, y, self.similarity)
