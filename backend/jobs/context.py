"""What a job's code sees while it runs: progress, metrics and logs go to the job store,
and a requested cancel surfaces as `JobCancelled` at the next progress report."""

import time
from pathlib import Path

from backend.core.progress import Reporter
from backend.jobs.store import JobStore
from backend.training.distributed import World


class JobCancelled(Exception):
    """Raised inside a job when a user asked to cancel it."""


class JobReporter(Reporter):
    def __init__(self, store: JobStore, job_id: int, interval: float = 0.5):
        self.store, self.job_id, self.interval = store, job_id, interval
        self._stage, self._total, self._done, self._last = "", 0, 0, 0.0

    def stage(self, name: str, total: int) -> None:
        self._stage, self._total, self._done = name, total, 0
        self._report(force=True)

    def advance(self, n: int = 1, text: str = "") -> None:
        self._done += n
        self._report(text=text)

    def epoch(self, metrics: dict) -> None:
        self.store.add_metrics(self.job_id, int(metrics["epoch"]), metrics)
        self._report(force=True)

    def message(self, text: str) -> None:
        self.store.log(self.job_id, text)

    def _report(self, force: bool = False, text: str = "") -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        fraction = self._done / self._total if self._total else 0.0
        label = f"{self._stage} {self._done}/{self._total}" if self._total else self._stage
        if text:
            label += f" · {text}"
        if self.store.progress(self.job_id, fraction, label):
            raise JobCancelled("cancelled by the user")


class JobContext:
    """Handed to a kind's function: the reporter, a scratch folder, the resume point."""

    def __init__(self, store: JobStore, job_id: int, home: Path, world: World | None = None):
        self.store, self.job_id, self.home = store, job_id, home
        self.world = world or World()
        self.folder = home / "jobs" / str(job_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        main = self.world.is_main
        self.reporter: Reporter = JobReporter(store, job_id) if main else Reporter()
