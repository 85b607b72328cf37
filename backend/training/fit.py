"""Train a classifier with semantic alignment: L = CE + lambda_align * L_align.

By default the activations are detached in L_align, so only the vectors follow the
network and accuracy is that of plain training; `grad_to_network` lets the alignment
gradient shape the network too.
"""

import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from backend.core.devices import autocast
from backend.core.progress import Reporter
from backend.semantic.alignment import SemanticVectors, alignment_loss
from backend.semantic.neurons import ActivationProbe
from backend.training.checkpoint import EpochCheckpoint
from backend.training.config import TrainConfig
from backend.training.distributed import World, average_gradients, gather, shard
from backend.training.evaluate import accuracy


def train_with_alignment(
    model: nn.Module,
    layers: list[str],
    train_split,
    val_split,
    vectors: SemanticVectors,
    cfg: TrainConfig,
    device: torch.device,
    reporter: Reporter | None = None,
    checkpoint: EpochCheckpoint | None = None,
    world: World | None = None,
) -> list[dict]:
    """Train `model` and `vectors` together; returns one metrics dict per epoch.

    With `checkpoint`, the state is saved after every epoch and training resumes from the
    last saved epoch when one exists. Under torchrun (`world` of several ranks) the model is
    wrapped in DistributedDataParallel, each rank trains on its own share of the batches,
    the vectors' gradients are averaged, and only rank 0 saves checkpoints.
    """
    reporter = reporter or Reporter()
    world = world or World()
    model.to(device).train()
    vectors.to(device).train()
    net_opt = torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        nesterov=cfg.momentum > 0,
    )
    vec_opt = torch.optim.Adam(vectors.parameters(), lr=cfg.align.lr)
    num_batches = len(train_split) // cfg.batch_size
    steps_per_epoch = max(1, num_batches // world.size)
    net = DistributedDataParallel(model) if world.distributed else model
    total = cfg.epochs * steps_per_epoch
    gen = torch.Generator().manual_seed(cfg.align.seed)
    modules = {"model": model, "vectors": vectors, "net_opt": net_opt, "vec_opt": vec_opt}
    start, step, history = checkpoint.restore(modules) if checkpoint else (0, 0, [])
    gen.manual_seed(cfg.align.seed + start)
    reporter.stage("train", total)
    reporter.advance(step)
    for row in history:  # a kill between a checkpoint and its metrics row lost the row
        reporter.epoch(row)
    with ActivationProbe(model, layers) as probe:
        for epoch in range(start, cfg.epochs):
            started = time.perf_counter()
            sums = torch.zeros(3)
            seen = [0, 0]  # images and the sum of their indices: tells the ranks' shares apart
            batches = train_split.batches(
                cfg.batch_size,
                shuffle=True,
                seed=cfg.seed + epoch,
                augment=cfg.augment,
                drop_last=True,
            )
            for x, y, idx in shard(batches, world, num_batches):
                seen[0] += len(idx)
                seen[1] += int(idx.sum())
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                for group in net_opt.param_groups:  # cosine schedule per step
                    group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / total))
                with autocast(device, cfg.amp):
                    logits = net(x)
                ce = F.cross_entropy(logits.float(), y)
                h = probe.pooled()
                if not cfg.align.grad_to_network:
                    h = h.detach()
                align = alignment_loss(h, vectors, cfg.align.subset, gen)
                loss = ce + cfg.align.weight * align
                net_opt.zero_grad(set_to_none=True)
                vec_opt.zero_grad(set_to_none=True)
                loss.backward()
                average_gradients(vectors.parameters(), world)
                net_opt.step()
                vec_opt.step()
                sums += torch.tensor([loss.item(), ce.item(), align.item()])
                step += 1
                reporter.advance(1, f"epoch {epoch + 1} loss {loss.item():.3f}")
            n = max(1, steps_per_epoch)
            metrics = {
                "epoch": epoch + 1,
                "train_loss": sums[0].item() / n,
                "train_ce": sums[1].item() / n,
                "align_loss": sums[2].item() / n,
                "val_accuracy": accuracy(model, val_split.batches(512), device, cfg.amp),
                "seconds": time.perf_counter() - started,
            }
            if world.distributed:
                shares = gather(seen, world)
                metrics["images_per_rank"] = [images for images, _ in shares]
                metrics["index_sum_per_rank"] = [total for _, total in shares]
            history.append(metrics)
            if checkpoint and world.is_main:
                checkpoint.save(epoch + 1, step, modules, history)
            reporter.epoch(metrics)
    return history
