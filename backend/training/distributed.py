"""Data-parallel training across processes started by torchrun (one per GPU, or CPUs on
the gloo backend). Rank 0 alone writes metrics, checkpoints and the run; every rank
trains on its own share of each epoch's batches."""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def from_environment() -> World:
    """The process's place in a torchrun launch (a single process when not launched so)."""
    return World(
        rank=int(os.environ.get("RANK", "0")),
        size=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def start(world: World, device: torch.device) -> torch.device:
    """Join the process group; returns this rank's device (cuda:LOCAL_RANK on GPUs)."""
    if not world.distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(batches: Iterable, world: World, num_batches: int) -> Iterator:
    """Every `size`-th batch, starting at `rank`: disjoint shares of the same shuffled order.

    Only the first `num_batches - num_batches % size` batches are used, so every rank takes
    the same number of steps (a rank with one step more would wait forever in all-reduce).
    """
    usable = num_batches - num_batches % world.size
    for i, batch in enumerate(batches):
        if i >= usable:
            break
        if i % world.size == world.rank:
            yield batch


def average_gradients(params: Iterable[torch.nn.Parameter], world: World) -> None:
    """Average gradients over ranks (for parameters outside DistributedDataParallel)."""
    if not world.distributed:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world.size


def gather(value, world: World) -> list:
    """`value` from every rank, in rank order (every rank gets the list)."""
    if not world.distributed:
        return [value]
    out: list = [None] * world.size
    dist.all_gather_object(out, value)
    return out


def run_ranks(processes: int, module_args: list[str]) -> int:
    """`python -m MODULE_ARGS` as `processes` ranks on this machine, launched by torchrun
    (its standalone rendezvous on a free port); the exit code: 0, 2 when the ranks that
    failed met a user error (and said so in one line), else 1.

    torchrun runs in this process, so that a rank's error reaches the user as the rank's
    own line, not as the launcher's traceback."""
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    # The cores shared out (torchrun would give each rank one thread, and say so).
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
    # A failed rank prints its own error; the launcher's log would repeat it as noise.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    try:
        run(parse_args(["--standalone", f"--nproc-per-node={processes}", "-m", *module_args]))
    except ChildFailedError as err:
        # Ranks the launcher stopped when another failed have negative codes (signals).
        codes = {failure.exitcode for failure in err.failures.values() if failure.exitcode > 0}
        return 2 if codes == {2} else 1
    return 0
