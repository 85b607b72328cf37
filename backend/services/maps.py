"""What the map routes need besides reading: the jobs that make a map, its clusters or a
student's placement, found (for a GET, which never starts one) or started (for a POST).

A GET of something not made yet raises NotMadeError, which names the POST that starts it
and the job already making it, if any: a GET must stay a read, since a page of any site
can make a browser send one (an `<img src>`) with no `Origin` to refuse it by. While none
runs, it also names the last job that failed to make it, so that a page polling the GET
shows why instead of starting the same failing job again; a POST always starts one (that
is the retry, a deliberate write).
"""

from typing import NamedTuple

from backend.core.errors import SemvecError
from backend.jobs.store import Job, JobStore
from backend.services import jobs
from backend.services.explorer import LoadedRun, cached_projection, placement


class Need(NamedTuple):
    """A job that makes a missing part, and that part in words."""

    kind: str
    config: dict
    what: str


class NotMadeError(SemvecError):
    """A map, clustering or placement not made yet (answered 409 with `job_id`, and with
    `failed` {job_id, error} when none runs and the last job that made a part failed)."""

    def __init__(self, what: str, job_id: int | None, start: str, failed: dict | None = None):
        self.job_id, self.failed = job_id, failed
        if failed is not None:
            super().__init__(
                f"{what} is not made: job {failed['job_id']} failed ({failed['error']}); "
                f"{start} tries again"
            )
        elif job_id is None:
            super().__init__(f"{what} is not made yet: {start} starts it")
        else:
            super().__init__(
                f"{what} is not made yet: job {job_id} is making it "
                f"(GET /api/jobs/{job_id}); ask again once it succeeded"
            )


def project(run: str, method: str, params: dict) -> Need:
    config = {"run": run, "method": method, "params": params}
    return Need("project", config, f"the {method} map of {run}")


def placement_or_needs(
    student: LoadedRun, teacher: LoadedRun, method: str, params: dict
) -> tuple[dict | None, list[Need]]:
    """The student's neurons on the teacher's map, or the jobs still needed for it: the
    map, the matching of the neurons (a `place` job runs both models), or both."""
    from backend.services.placement import placement_path  # torch: only when asked

    coords = cached_projection(teacher, method, params)
    placed = None if coords is None else placement(student, teacher, coords)
    if placed is not None:
        return placed, []
    s, t = student.run.id, teacher.run.id
    needs = [] if coords is not None else [project(t, method, params)]
    if not placement_path(student.run, t).exists():
        needs.append(Need("place", {"student": s, "teacher": t}, f"the matching of {s} to {t}"))
    return None, needs


def not_made(job_store: JobStore, needs: list[Need], what: str, start: str) -> NotMadeError:
    """The error a GET answers for `what`: with the job making one of its parts, if any;
    else with the failed last job of the first part whose last job failed."""
    found = (jobs.active(job_store, need.kind, need.config) for need in needs)
    job = next((j for j in found if j is not None), None)
    if job is not None:
        return NotMadeError(what, job.id, start)
    ended = (jobs.latest(job_store, need.kind, need.config) for need in needs)
    failed = next((j for j in ended if j is not None and j.state == "failed"), None)
    if failed is None:
        return NotMadeError(what, None, start)
    return NotMadeError(what, None, start, {"job_id": failed.id, "error": last_line(failed.error)})


def last_line(error: str | None) -> str:
    """A job's error in one line: its last non-empty one (where a traceback's reason is)."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no reason was recorded"


def start(job_store: JobStore, needs: list[Need]) -> tuple[Job, str]:
    """Start every job needed (each once: a job already queued or running is reused); the
    first one (the map, when it is missing) and all of them in words. A GET names the next
    one while it runs, as `not_made` does."""
    started = [jobs.submit_once(job_store, need.kind, need.config) for need in needs]
    words = " and ".join(
        f"{need.what} (job {job.id})" for need, job in zip(needs, started, strict=True)
    )
    return started[0], f"making {words}: poll the job, then ask again"
