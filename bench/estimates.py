"""How close the jobs' cost estimates (backend/jobs/estimate.py) are to what they take:
every kind run once at a small real setting on the digits run, one at a time, by the
same runner and worker processes `semvec serve` uses; estimate / measured for each.

Measured is the CPU seconds of the job's worker process on one torch thread (its wall time
on an idle core), so that other work on a shared machine does not count; the wall time is
printed beside it.

Run: `.venv/bin/python -m bench.estimates` (writes bench/out/estimates.json). Goal: every
ratio within 0.5-2.
"""

import json
import os
import resource
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

CASES = [
    ("demo", {}),
    ("train", {"epochs": 3}),
    ("train", {"epochs": 30}),
    ("distill", {"teacher": "digits-default", "epochs": 5}),
    ("distill", {"teacher": "digits-default", "epochs": 30}),
    ("distill", {"teacher": "digits-default", "epochs": 30, "method": "kd"}),
    ("align", {"run": "digits-default"}),
    ("align", {"run": "digits-default", "align": {"steps": 3000}}),
    ("analyze", {"run": "digits-default"}),
    ("project", {"run": "digits-default", "method": "umap", "params": {"n_neighbors": 10}}),
    ("project", {"run": "digits-default", "method": "tsne"}),
    ("place", {"student": "digits-default", "teacher": "digits-default"}),
    ("ablate", {"run": "digits-default", "neurons": ["conv3:5", "conv3:7"]}),
    ("ablate", {"run": "digits-default", "layer": "conv2"}),
    ("visualize", {"run": "digits-default", "layer": "conv2"}),
    ("visualize", {"run": "digits-default", "layer": "conv3", "steps": 1024}),
]
"""Each kind at a setting that runs in seconds to a minute here (`demo` first: the others
use the run it makes)."""


def _label(kind: str, config: dict) -> str:
    shown = {k: v for k, v in config.items() if k not in ("run", "teacher", "student")}
    return kind + (" " + json.dumps(shown, separators=(",", ":")) if shown else "")


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the job's worker, once it is done)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ.update(SEMVEC_HOME=home, SEMVEC_JOB_NICE="0", OMP_NUM_THREADS="1")
        from backend.jobs.cli import work
        from backend.jobs.store import JobStore
        from backend.services import jobs

        store = JobStore(Path(home) / "jobs.db")
        rows = []
        for kind, config in CASES:
            job = jobs.submit(store, kind, config)
            before = _children_cpu()
            work(1)  # runs it to the end in a worker process, as the server would
            measured = _children_cpu() - before
            job = store.get(job.id)
            if job.state != "succeeded":
                raise SystemExit(f"{kind} job failed: {job.error}")
            wall = job.finished - job.started
            ratio = job.estimate_s / measured if job.estimate_s else None
            rows.append(
                {
                    "job": _label(kind, config),
                    "estimate_s": job.estimate_s,
                    "measured_s": round(measured, 1),
                    "wall_s": round(wall, 1),
                    "ratio": round(ratio, 2) if ratio else None,
                }
            )
            print(
                f"{rows[-1]['job']:50s} {job.estimate_s or 0:7.1f} s {measured:7.1f} s "
                f"{ratio or 0:5.2f}  (wall {wall:.1f} s)",
                flush=True,
            )
    OUT.mkdir(exist_ok=True)
    (OUT / "estimates.json").write_text(json.dumps({"rows": rows, "at": time.time()}, indent=1))
    worst = max(max(r["ratio"], 1 / r["ratio"]) for r in rows if r["ratio"])
    print(f"worst ratio (either way): {worst:.2f} (goal: at most 2)")


if __name__ == "__main__":
    main()
