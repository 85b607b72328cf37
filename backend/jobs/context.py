"""What a job's code sees while it runs: progress, metrics and logs go to the job store,
and a requested cancel surfaces as `JobCancelled` at the next progress report."""

import time
from pathlib import Path

from backend.core.progress import Reporter
from backend.jobs.kinds import Phase
from backend.jobs.store import JobStore
from backend.training.distributed import World


class JobCancelled(Exception):
    """Raised inside a job when a user asked to cancel it."""


class JobReporter(Reporter):
    """Records one fraction for the whole job, over all its `phases`, so that a bar never
    goes back when a stage ends and the next begins; the text names the phase
    (`2/5 fitting vectors 219/600`). A stage outside the plan counts as part of the phase
    before it."""

    def __init__(
        self, store: JobStore, job_id: int, phases: tuple[Phase, ...] = (), interval: float = 0.5
    ):
        self.store, self.job_id, self.interval = store, job_id, interval
        self.phases = phases
        self._stage, self._total, self._done, self._last = "", 0, 0, 0.0
        self._phase, self._base, self._share, self._best = -1, 0.0, 1.0, 0.0

    def stage(self, name: str, total: int) -> None:
        self._stage, self._total, self._done = name, total, 0
        known = [k for k, (stage, _, _) in enumerate(self.phases) if stage == name]
        if known and known[0] > self._phase:
            self._phase = known[0]
            weight = sum(w for *_, w in self.phases) or 1.0
            self._base = sum(w for *_, w in self.phases[: self._phase]) / weight
            self._share = self.phases[self._phase][2] / weight
        elif not self.phases:
            self._base, self._share = 0.0, 1.0  # no plan: each stage fills the bar
        else:
            self._share = 0.0  # an unplanned stage: the bar waits for the next phase
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
        part = min(1.0, self._done / self._total) if self._total else 0.0
        fraction = self._base + self._share * part
        if self.phases:
            fraction = self._best = max(self._best, fraction)
        name = self._stage
        if 0 <= self._phase < len(self.phases) and self.phases[self._phase][0] == name:
            name = f"{self._phase + 1}/{len(self.phases)} {self.phases[self._phase][1]}"
        label = f"{name} {self._done}/{self._total}" if self._total else name
        if text:
            label += f" · {text}"
        if self.store.progress(self.job_id, fraction, label):
            raise JobCancelled("cancelled by the user")


class JobContext:
    """Handed to a kind's function: the reporter, a scratch folder, the resume point."""

    def __init__(
        self,
        store: JobStore,
        job_id: int,
        home: Path,
        world: World | None = None,
        phases: tuple[Phase, ...] = (),
    ):
        self.store, self.job_id, self.home = store, job_id, home
        self.world = world or World()
        self.folder = home / "jobs" / str(job_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        main = self.world.is_main
        self.reporter: Reporter = JobReporter(store, job_id, phases) if main else Reporter()
