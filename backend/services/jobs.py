"""Submitting, listing, cancelling and resuming jobs (what the API and the CLI call)."""

from pydantic import BaseModel, ValidationError

from backend.core.errors import SemvecError
from backend.jobs.estimate import Estimate, check_ceiling
from backend.jobs.estimate import estimate as job_estimate
from backend.jobs.kinds import get_kind, list_kinds
from backend.jobs.store import Job, JobStore


class JobNotFoundError(SemvecError, LookupError):
    pass


class JobConfigError(SemvecError):
    """A job config that does not validate; `errors` lists each problem."""

    def __init__(self, kind: str, errors: list[dict]):
        self.errors = errors
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in errors]
        super().__init__(f"invalid {kind} job: " + "; ".join(parts))


def _validated(kind: str, config: dict) -> BaseModel:
    model = get_kind(kind).config
    try:
        return model.model_validate(config)
    except ValidationError as err:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in err.errors()]
        raise JobConfigError(kind, errors) from err


def validate_config(kind: str, config: dict) -> dict:
    """The config, validated by the kind's model (defaults filled in)."""
    return _validated(kind, config).model_dump()


def estimate(kind: str, config: dict) -> Estimate | None:
    """What the job would cost (validated first; nothing is submitted)."""
    return job_estimate(kind, _validated(kind, config))


def _costed(kind: str, config: dict) -> tuple[dict, Estimate | None]:
    """(the validated config, its estimate); refused above the server's ceiling."""
    cfg = _validated(kind, config)
    found = job_estimate(kind, cfg)
    check_ceiling(kind, found)
    return cfg.model_dump(), found


def submit_estimated(store: JobStore, kind: str, config: dict) -> tuple[Job, Estimate | None]:
    """The queued job and its estimate (in words too, for the command line)."""
    config, found = _costed(kind, config)
    return store.create(kind, config, found.seconds if found else None), found


def submit(store: JobStore, kind: str, config: dict) -> Job:
    return submit_estimated(store, kind, config)[0]


def get(store: JobStore, job_id: int) -> Job:
    job = store.get(job_id)
    if job is None:
        raise JobNotFoundError(f"no job with id {job_id}")
    return job


def cancel(store: JobStore, job_id: int) -> Job:
    job = get(store, job_id)
    if job.state in ("succeeded", "failed", "cancelled"):
        raise SemvecError(f"job {job_id} already ended ({job.state}); nothing to cancel")
    return store.request_cancel(job_id)


def resume(store: JobStore, job_id: int) -> Job:
    job = get(store, job_id)
    if job.state not in ("interrupted", "failed", "cancelled"):
        raise SemvecError(
            f"job {job_id} is {job.state}; only interrupted, failed or cancelled jobs resume"
        )
    return store.requeue(job_id)


def kinds() -> list[str]:
    return list_kinds()


def active(store: JobStore, kind: str, config: dict) -> Job | None:
    """The queued or running job of this kind and config (validated first), if there is one."""
    config = validate_config(kind, config)
    for state in ("queued", "running"):
        for job in store.list_jobs(state=state, kind=kind):
            if job.config == config:
                return job
    return None


def latest(store: JobStore, kind: str, config: dict) -> Job | None:
    """The newest job of this kind and config (validated first) in any state, if any."""
    config = validate_config(kind, config)
    return next((job for job in _all_of(store, kind) if job.config == config), None)


def _all_of(store: JobStore, kind: str, page: int = 200):
    """Every job of `kind`, newest first, a page at a time."""
    offset = 0
    while batch := store.list_jobs(kind=kind, limit=page, offset=offset):
        yield from batch
        offset += page


def submit_once(store: JobStore, kind: str, config: dict) -> Job:
    """Submit, unless the same job is already queued or running (then return that one)."""
    config, found = _costed(kind, config)
    return store.create_once(kind, config, found.seconds if found else None)
