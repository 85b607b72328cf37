"""Distillation losses as plain functions of tensors (no models, no state).

Each is the extra term a method adds to the student's objective; the methods in
`backend.distill.methods` choose the tensors and the weights.
"""

import torch
import torch.nn.functional as F


def soft_kl(student_logits: torch.Tensor, target_probs: torch.Tensor, t: float) -> torch.Tensor:
    """T² · KL(target ‖ softmax(student / T)), averaged over the batch.

    The T² keeps the gradient's size independent of T (Hinton et al., 2015).
    """
    log_p = F.log_softmax(student_logits.float() / t, dim=1)
    return F.kl_div(log_p, target_probs.float(), reduction="batchmean") * t * t


def hinton_kd(student_logits: torch.Tensor, teacher_logits: torch.Tensor, t: float = 4.0):
    """KD: the teacher's logits softened by T are the target."""
    return soft_kl(student_logits, F.softmax(teacher_logits.float() / t, dim=1), t)


def virtual_teacher(labels: torch.Tensor, classes: int, correct: float = 0.9) -> torch.Tensor:
    """Tf-KD's handcrafted teacher: `correct` on the true class, the rest spread uniformly."""
    rest = (1.0 - correct) / (classes - 1)
    probs = torch.full((len(labels), classes), rest, device=labels.device)
    return probs.scatter_(1, labels[:, None], correct)


def tf_kd(student_logits: torch.Tensor, labels: torch.Tensor, t: float, correct: float = 0.9):
    """Teacher-free KD (Yuan et al., 2020, Tf-KD_reg): KL to the virtual teacher, softened
    as in the paper's code (softmax of its probabilities over T)."""
    target = F.softmax(virtual_teacher(labels, student_logits.shape[1], correct) / t, dim=1)
    return soft_kl(student_logits, target, t)


def _pairwise_distances(e: torch.Tensor) -> torch.Tensor:
    sq = e.pow(2).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * e @ e.T).clamp_min(1e-12)
    d = d2.sqrt()
    return d * (1 - torch.eye(len(e), device=e.device))


def rkd_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """RKD distance loss (Park et al., 2019): pairwise distances, each divided by its mean,
    compared with the smooth L1 (Huber) loss."""
    with torch.no_grad():
        t = _pairwise_distances(teacher.float())
        t = t / t[t > 0].mean()
    s = _pairwise_distances(student.float())
    s = s / s[s > 0].mean()
    return F.smooth_l1_loss(s, t)


def _angles(e: torch.Tensor) -> torch.Tensor:
    diff = F.normalize(e[None, :, :] - e[:, None, :], p=2, dim=2)  # (B, B, D)
    return torch.bmm(diff, diff.transpose(1, 2)).flatten()  # cos of every angle (i, j, k)


def rkd_angle(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """RKD angle loss: the cosine of the angle at every vertex j of every triplet (i, j, k)."""
    with torch.no_grad():
        t = _angles(teacher.float())
    return F.smooth_l1_loss(_angles(student.float()), t)


def rkd(student: torch.Tensor, teacher: torch.Tensor, w_dist=25.0, w_angle=50.0) -> torch.Tensor:
    """Distance + angle with the paper's weights, on (B, D) embeddings of any widths."""
    s, t = student.flatten(1), teacher.flatten(1)
    return w_dist * rkd_distance(s, t) + w_angle * rkd_angle(s, t)


def batch_gram(features: torch.Tensor) -> torch.Tensor:
    """SP's similarity: G = F Fᵀ of the flattened features (B, B), each row L2-normalised."""
    f = features.float().flatten(1)
    return F.normalize(f @ f.T, p=2, dim=1)


def similarity_preserving(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """SP (Tung & Mori, 2019): ‖G_s − G_t‖²_F / B²; the two layers may differ in shape."""
    b = student.shape[0]
    with torch.no_grad():
        g_t = batch_gram(teacher)
    return (batch_gram(student) - g_t).pow(2).sum() / (b * b)
