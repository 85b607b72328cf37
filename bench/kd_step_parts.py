"""Where a distillation step's time goes on the CPU (issue 14): the student's forward, the
method's loss, the backward and the update, for each method on the digits student of
`bench.kd`, in interleaved rounds on the same batches, one thread, process CPU time.

The parts are read off hooks (the student's and the method's forward hooks, the optimiser's
step hooks), so the step timed is the trainer's own `StudentStep`. `backward` is what lies
between the loss and the update: zero_grad and the backward pass.

Run: `.venv/bin/python -m bench.kd_step_parts [--rounds 60] [--methods ce,static,tfkd]`;
prints a table and writes bench/out/kd_step_parts.json.
"""

import argparse
import itertools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from backend.distill.trainer import StudentStep
from backend.runs.store import RunStore
from backend.services.default_run import ensure_default_run
from bench.kd import OUT, timed_steps
from bench.timing import paired_ratio

PARTS = ("forward", "loss", "backward", "update")


class PartClock:
    """Process CPU time at the hooks of one step: (forward, loss, backward, update)."""

    def __init__(self, step: StudentStep):
        self.marks: dict[str, float] = {}
        mark = self._mark
        step.student.register_forward_pre_hook(lambda *_: mark("start"))
        step.student.register_forward_hook(lambda *_: mark("forward"))
        step.method.register_forward_hook(lambda *_: mark("loss"))
        step.optimizer.register_step_pre_hook(lambda *_: mark("backward"))
        step.optimizer.register_step_post_hook(lambda *_: mark("update"))

    def _mark(self, name: str) -> None:
        self.marks[name] = time.process_time()

    def parts(self) -> list[float]:
        times = [self.marks[name] for name in ("start", *PARTS)]
        return [b - a for a, b in itertools.pairwise(times)]


def measure(methods: list[str], rounds: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as home:
        ensure_default_run(home=Path(home))
        store = RunStore(Path(home))
        steps_of, batches = timed_steps(store, {name: {"method": name} for name in methods})
        contenders = {name: (step, PartClock(step)) for name, step in steps_of.items()}
        sums = {name: [] for name in methods}  # per round: the parts summed over its steps
        for r in range(rounds + 2):  # 2 warm-up rounds
            for name, (step, clock) in contenders.items():
                total = [0.0] * len(PARTS)
                with step.taps:
                    for i in range(steps):
                        x, y, _ = batches[(r * steps + i) % len(batches)]
                        step(x, y, 0.01)[0].item()
                        total = [a + b for a, b in zip(total, clock.parts(), strict=True)]
                if r >= 2:
                    sums[name].append(total)
    ms = {
        name: {p: 1e3 * statistics.median(t[i] for t in rows) / steps for i, p in enumerate(PARTS)}
        for name, rows in sums.items()
    }
    totals = {name: [sum(t) for t in rows] for name, rows in sums.items()}
    base = methods[0]
    return {
        "ms_per_step": ms,
        f"step_over_{base}": {n: paired_ratio(totals[n], totals[base]) for n in methods},
        "rounds": rounds,
        "steps_per_round": steps,
        "threads": torch.get_num_threads(),
        "clock": "process CPU time",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="ce,static,static_free,tfkd,ls")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = args.methods.split(",")
    result = measure(methods, args.rounds, args.steps)
    base = methods[0]
    print(f"| method | {' | '.join(PARTS)} | step / {base} |")
    print("|---|" + "---|" * (len(PARTS) + 1))
    for name, parts in result["ms_per_step"].items():
        cells = " | ".join(f"{parts[p]:.3f}" for p in PARTS)
        print(f"| {name} | {cells} | {result[f'step_over_{base}'][name]:.3f} |")
    OUT.mkdir(exist_ok=True)
    (OUT / "kd_step_parts.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
