"""A worker process runs one job: `python -m backend.jobs.worker JOB_ID --home HOME`.

It records the outcome itself (succeeded, failed with the reason, cancelled). If it dies
without doing so (killed, out of memory), the runner records that instead.
"""

import argparse
import contextlib
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path

from backend.core.errors import SemvecError
from backend.core.settings import get_settings
from backend.jobs.context import JobCancelled, JobContext
from backend.jobs.kinds import get_kind
from backend.jobs.store import JobStore
from backend.training import distributed


def run_job(home: Path, job_id: int) -> str:
    """Run job `job_id` to its end; returns the final state."""
    store = JobStore(home / "jobs.db")
    job = store.get(job_id)
    if job is None:
        raise SystemExit(f"no job {job_id} in {home / 'jobs.db'}")
    world = distributed.from_environment()
    kind = get_kind(job.kind)
    ctx = JobContext(store, job_id, home, world, kind.phases)
    try:
        cfg = kind.config.model_validate(job.config)
        run_id = kind.run(ctx, cfg)
    except JobCancelled:
        if world.is_main:
            shutil.rmtree(ctx.folder, ignore_errors=True)  # partial output goes too
            store.finish(job_id, "cancelled", error="cancelled by the user")
        return "cancelled"
    except Exception as err:  # the job failed, the worker reports why
        reason = str(err) if isinstance(err, SemvecError) else f"{type(err).__name__}: {err}"
        if world.is_main:
            store.log(job_id, traceback.format_exc())
            store.finish(job_id, "failed", error=reason, traceback=traceback.format_exc())
        return "failed"
    finally:
        distributed.stop()
    if world.is_main:
        shutil.rmtree(ctx.folder, ignore_errors=True)  # epoch checkpoints are no longer needed
        store.finish(job_id, "succeeded", run_id=run_id)
    return "succeeded"


PARENT_ENV = "SEMVEC_PARENT_PID"


def exit_with_parent(poll_s: float = 0.2) -> None:
    """Exit at once (recording nothing) when the process that started this worker dies: a
    killed server must not leave workers behind; its successor marks their jobs
    `interrupted`, to be resumed from their last checkpoint.

    The parent's pid comes from the environment (the runner and the torchrun launcher set
    it), since the parent may have died already while this process imported torch: its
    parent is then someone else, and watching for a change would wait forever."""
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    if os.getppid() != parent:
        os._exit(3)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def lower_priority(nice: int) -> None:
    """Let the server's requests go first (a job would otherwise take every core): raise
    the niceness of this process and of its autogroup. With Linux's autogroup the CPU is
    shared between sessions first, and the runner starts each worker in a session of its
    own, so a plain nice would not yield to the server."""
    os.nice(nice)
    with contextlib.suppress(OSError):  # not Linux, or no autogroup
        Path("/proc/self/autogroup").write_text(str(nice))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job_id", type=int)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["SEMVEC_HOME"] = str(args.home)
    exit_with_parent()
    lower_priority(get_settings().job_nice)
    state = run_job(args.home, args.job_id)
    return 0 if state in ("succeeded", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
