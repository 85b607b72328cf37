"""The student trainer: one loop for every method, mirroring backend.training.fit (SGD with
Nesterov momentum, a cosine schedule per step, per-epoch metrics, epoch checkpoints to
resume from, DistributedDataParallel under torchrun). Only the method's loss differs.
"""

import math
import time

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from backend.core.devices import autocast
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.distill.config import DistillConfig
from backend.distill.methods import Method
from backend.distill.taps import Taps
from backend.distill.teacher import LiveTeacher
from backend.training.checkpoint import EpochCheckpoint
from backend.training.distributed import World, average_gradients, shard
from backend.training.evaluate import accuracy


def make_optimizer(student: nn.Module, method: Method, cfg: DistillConfig):
    params = [*student.parameters(), *method.parameters()]
    return torch.optim.SGD(
        params,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        nesterov=cfg.momentum > 0,
    )


class StudentStep:
    """One optimisation step of the student: forward (and the teacher's, for the methods
    that need it), the method's loss, backward, update. The loop and the bench share it.

    Call it inside `with step.taps:` so the student's hooks are in place.
    """

    def __init__(
        self,
        student: nn.Module,
        method: Method,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        amp: bool = True,
        teacher: LiveTeacher | None = None,
        world: World | None = None,
    ):
        self.student, self.method, self.optimizer = student, method, optimizer
        self.device, self.amp, self.teacher = device, amp, teacher
        self.world = world or World()
        self.net = DistributedDataParallel(student) if self.world.distributed else student
        head = student.logit_layer if method.student_embedding else None
        self.taps = Taps(student, method.student_layers, head)

    def __call__(self, x: torch.Tensor, y: torch.Tensor, lr: float):
        """Returns (loss, term), detached tensors on the device."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        t = self.teacher(x) if self.teacher is not None else None
        with autocast(self.device, self.amp):
            logits = self.net(x)
        loss, term = self.method(self.taps.features(logits), y, t)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.method.parameters(), self.world)
        self.optimizer.step()
        return loss.detach(), term


def cosine(base_lr: float, step: int, total: int) -> float:
    return base_lr * 0.5 * (1 + math.cos(math.pi * step / total))


def train_student(
    student: nn.Module,
    method: Method,
    train_split,
    test_split,
    cfg: DistillConfig,
    device: torch.device,
    teacher: LiveTeacher | None = None,
    reporter: Reporter | None = None,
    checkpoint: EpochCheckpoint | None = None,
    world: World | None = None,
) -> list[dict]:
    """Train `student` (and the method's own parameters) with `method`; one metrics dict
    per epoch: epoch, train_loss, distill_loss (the method's term), test_accuracy, and
    seconds (the epoch's training steps, evaluation excluded).

    With `checkpoint`, the state is saved after every epoch and training resumes after the
    last saved one. Under torchrun every rank trains on its share of the batches; rank 0
    alone saves checkpoints.
    """
    reporter = reporter or Reporter()
    world = world or World()
    student.to(device).train()
    method.to(device).train()
    num_batches = len(train_split) // cfg.batch_size
    if num_batches < world.size:
        raise SemvecError(
            f"{len(train_split)} training images make no full batch of {cfg.batch_size} "
            f"per process; lower batch_size or raise train_size"
        )
    steps_per_epoch = num_batches // world.size
    total = cfg.epochs * steps_per_epoch
    optimizer = make_optimizer(student, method, cfg)
    step_fn = StudentStep(student, method, optimizer, device, cfg.amp, teacher, world)
    modules = {"student": student, "method": method, "optimizer": optimizer}
    start, step, history = checkpoint.restore(modules) if checkpoint else (0, 0, [])
    reporter.stage("distill", total)
    reporter.advance(step)
    for row in history:  # a kill between a checkpoint and its metrics row lost the row
        reporter.epoch(row)
    with step_fn.taps:
        for epoch in range(start, cfg.epochs):
            started = time.perf_counter()
            sums = torch.zeros(2, device=device)
            batches = train_split.batches(
                cfg.batch_size,
                shuffle=True,
                seed=cfg.seed * 100_003 + epoch,
                augment=cfg.augment,
                drop_last=True,
            )
            for x, y, _ in shard(batches, world, num_batches):
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                loss, term = step_fn(x, y, cosine(cfg.lr, step, total))
                sums += torch.stack([loss, term.float()])
                step += 1
                reporter.advance(1, f"epoch {epoch + 1} loss {loss.item():.3f}")
            seconds = time.perf_counter() - started
            train_loss, term = (sums / steps_per_epoch).tolist()
            metrics = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "distill_loss": term,
                "test_accuracy": accuracy(student, test_split.batches(512), device, cfg.amp),
                "seconds": seconds,
            }
            history.append(metrics)
            if checkpoint and world.is_main:
                checkpoint.save(epoch + 1, step, modules, history)
            reporter.epoch(metrics)
    return history
