"""The runner: starts queued jobs in worker processes, a fixed number at once.

It runs as a thread inside the server (or `semvec jobs work` from the CLI). A worker that
dies without recording an outcome is recorded as failed with its exit status; a cancel
that the job does not honour within a grace period ends with the worker being killed.
Nothing a worker does can take the runner's process down.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.jobs import home_lock
from backend.jobs.backoff import Backoff
from backend.jobs.store import JobStore, StoreWriteError
from backend.jobs.worker import PARENT_ENV

CANCEL_GRACE_S = 3.0
PROBE_EVERY_S = 5.0


def default_slots() -> int:
    """One worker per GPU, or one on a CPU machine."""
    try:
        import torch

        return max(1, torch.cuda.device_count())
    except Exception:  # torch missing or broken: still run one job at a time
        return 1


@dataclass
class _Worker:
    job_id: int
    proc: subprocess.Popen
    cancel_seen: float | None = field(default=None)


class Runner:
    def __init__(self, home: Path, slots: int | None = None, poll_s: float = 0.2):
        self.home = Path(home)
        self.store = JobStore(self.home / "jobs.db")
        self.slots = slots or default_slots()
        self.poll_s = poll_s
        self.workers: dict[int, _Worker] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._locked = False
        self.store_problem: str | None = None
        """Why the last round could not write jobs.db (None while it can)."""
        self._probed: tuple[float, str | None] = (-PROBE_EVERY_S, None)

    def recover(self) -> list[int]:
        """Jobs left `running` by a previous server are `interrupted` (resumable), and the
        hidden folders of runs their workers were writing are removed."""
        from backend.runs.store import RunStore

        for name in RunStore(self.home).clean_leftovers():
            _say(f"removed {name}, a run left unfinished")
        for part in (self.home / "uploads").glob(".upload-*.part"):
            part.unlink(missing_ok=True)  # an upload cut off when the server was killed
            _say(f"removed {part.name}, an unfinished upload")
        return self.store.mark_interrupted("the server stopped while this job ran; resume it")

    def store_trouble(self) -> str | None:
        """Why jobs.db cannot be written now, or None: what the last round met, else a
        one-row write, tried at most every few seconds while it works (health is polled)
        and at every call while it fails (so a recovered disk shows at once)."""
        if self.store_problem is not None:
            return self.store_problem
        failing = self._probed[1] is not None
        if failing or time.monotonic() - self._probed[0] >= PROBE_EVERY_S:
            try:
                self.store.probe()
                self._probed = (time.monotonic(), None)
            except StoreWriteError as err:
                self._probed = (time.monotonic(), str(err))
        return self._probed[1]

    def start(self) -> "Runner":
        self._locked = home_lock.hold(self.home)  # HomeInUseError if another runner has it
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="semvec-runner", daemon=True)
        self._thread.start()
        return self

    def stop(self, kill_workers: bool = True) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        if kill_workers:
            for worker in list(self.workers.values()):
                _kill(worker.proc)
            try:
                self.store.mark_interrupted("the server was shut down while this job ran")
            except StoreWriteError as err:  # the next start says what to do with jobs.db
                _say(str(err))
        if self._locked:
            home_lock.release(self.home)

    def running(self) -> int:
        """Workers whose process is alive (one that died stays listed until its outcome
        is written, which a damaged jobs.db never allows). Read by health requests while
        the runner thread adds and removes workers: a copy is iterated."""
        return sum(1 for worker in list(self.workers.values()) if worker.proc.poll() is None)

    def _loop(self) -> None:
        backoff = Backoff(self.poll_s)
        while not self._stop.is_set():
            wait = self.poll_s
            try:
                self.tick()
                self.store_problem = None
                if line := backoff.succeeded():
                    _say(line)
            except Exception as err:  # keep the runner alive whatever happens
                unusable = isinstance(err, StoreWriteError)
                self.store_problem = str(err) if unusable else None
                wait, line = backoff.failed(
                    str(err) if unusable else f"{type(err).__name__}: {err}"
                )
                if line:  # a line per longer wait, not five a second
                    _say(line)
            self._stop.wait(wait)

    def tick(self) -> None:
        """One round: reap finished workers, enforce cancels, start queued jobs."""
        for job_id, worker in list(self.workers.items()):
            code = worker.proc.poll()
            if code is not None:
                self._reap(job_id, code)
            else:
                self._enforce_cancel(worker)
        while len(self.workers) < self.slots:
            job = self.store.claim_next()
            if job is None:
                break
            self._launch(job.id, job.config)

    def _launch(self, job_id: int, config: dict) -> None:
        (self.home / "jobs").mkdir(parents=True, exist_ok=True)
        log = (self.home / "jobs" / f"{job_id}.log").open("ab")
        proc = subprocess.Popen(
            [*worker_command(int(config.get("gpus", 1))), str(job_id), "--home", str(self.home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "SEMVEC_HOME": str(self.home), PARENT_ENV: str(os.getpid())},
        )
        log.close()
        self.store.set_pid(job_id, proc.pid)
        self.workers[job_id] = _Worker(job_id, proc)

    def _reap(self, job_id: int, code: int) -> None:
        """Record a finished worker's outcome; the worker stays listed until that is written
        (with jobs.db unwritable, the next rounds try again instead of forgetting the job)."""
        job = self.store.get(job_id)
        if job is not None and job.state == "running":
            if job.cancel_requested:
                self.store.finish(job_id, "cancelled", error="cancelled by the user")
            else:
                how = (
                    f"killed by signal {signal.Signals(-code).name}"
                    if code < 0
                    else f"exit code {code}"
                )
                tail = _log_tail(self.home / "jobs" / f"{job_id}.log")
                self.store.finish(
                    job_id, "failed", error=f"the worker process died ({how})", traceback=tail
                )
        del self.workers[job_id]

    def _enforce_cancel(self, worker: _Worker) -> None:
        if worker.cancel_seen is None:
            if self.store.cancel_requested(worker.job_id):
                worker.cancel_seen = time.monotonic()
        elif time.monotonic() - worker.cancel_seen > CANCEL_GRACE_S:
            _kill(worker.proc)  # the next tick reaps it as cancelled


def worker_command(processes: int = 1) -> list[str]:
    """The worker's command line: torchrun (DistributedDataParallel) for several processes."""
    if processes > 1:
        return [
            sys.executable,
            "-m",
            "backend.jobs.launch",
            "--standalone",
            f"--nproc-per-node={processes}",
            "-m",
            "backend.jobs.worker",
        ]
    return [sys.executable, "-m", "backend.jobs.worker"]


def _say(message: str) -> None:
    """A line in the server's log; a log that cannot be written (a full disk) must not
    end the runner's thread."""
    with contextlib.suppress(OSError, ValueError):
        print(f"semvec runner: {message}", file=sys.stderr, flush=True)


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker and anything it started (torchrun's ranks)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
