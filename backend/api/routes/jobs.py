from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from backend.api.deps import UNAUTHORIZED, WRITE, JobStoreDep
from backend.api.schemas import (
    EpochMetrics,
    JobCreate,
    JobEstimate,
    JobLog,
    JobPublic,
    JobsMetrics,
    JobsPublic,
)
from backend.core.errors import SemvecError
from backend.core.settings import get_settings
from backend.jobs.estimate import duration
from backend.services import jobs

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

# SQLite integers are 64-bit: a bigger id or offset would fail inside the query (500).
SQL_INT_MAX = 2**63 - 1
JobId = Annotated[int, Path(ge=1, le=SQL_INT_MAX, description="the job's id")]

State = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


def job_ids(
    ids: Annotated[
        str, Query(pattern=r"^\d+(,\d+)*$", max_length=4000, description="1,2,3 (at most 200)")
    ],
) -> list[int]:
    found = [int(i) for i in ids.split(",")]
    if len(found) > 200 or max(found) > SQL_INT_MAX:
        raise SemvecError(f"ids: at most 200 job ids, each at most {SQL_INT_MAX}")
    return found


def _public(job) -> JobPublic:
    return JobPublic.model_validate(job, from_attributes=True)


@router.post(
    "", response_model=JobPublic, status_code=201, dependencies=WRITE, responses=UNAUTHORIZED
)
def create_job(body: JobCreate, store: JobStoreDep) -> JobPublic:
    return _public(jobs.submit(store, body.kind, body.config))


@router.post("/estimate", response_model=JobEstimate, dependencies=WRITE, responses=UNAUTHORIZED)
def estimate_job(body: JobCreate) -> JobEstimate:
    """What the job would cost on this server, checked as a submit checks it but not
    submitted (the page shows it before its start button takes a click)."""
    found = jobs.estimate(body.kind, body.config)
    return JobEstimate(
        seconds=found.seconds if found else None,
        words=duration(found.seconds) if found else None,
        basis=found.basis if found else None,
        ceiling_s=get_settings().max_job_hours * 3600,
    )


@router.get("", response_model=JobsPublic)
def list_jobs(
    store: JobStoreDep,
    state: State | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
) -> JobsPublic:
    found = store.list_jobs(state=state, kind=kind, limit=limit, offset=offset)
    return JobsPublic(data=[_public(j) for j in found], count=len(found))


@router.get("/kinds", response_model=list[str])
def list_kinds() -> list[str]:
    return jobs.kinds()


@router.get("/metrics", response_model=JobsMetrics)
def get_many_metrics(
    store: JobStoreDep,
    ids: Annotated[list[int], Depends(job_ids)],
) -> JobsMetrics:
    return JobsMetrics(data=store.metrics_of(ids))


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: JobId, store: JobStoreDep) -> JobPublic:
    return _public(jobs.get(store, job_id))


@router.get("/{job_id}/metrics", response_model=EpochMetrics)
def get_metrics(job_id: JobId, store: JobStoreDep) -> EpochMetrics:
    jobs.get(store, job_id)
    rows = store.metrics(job_id)
    return EpochMetrics(data=rows, count=len(rows))


@router.get("/{job_id}/log", response_model=JobLog)
def get_log(job_id: JobId, store: JobStoreDep) -> JobLog:
    job = jobs.get(store, job_id)
    return JobLog(lines=[line for _, line in store.logs(job_id)], traceback=job.traceback)


@router.delete("/{job_id}", response_model=JobPublic, dependencies=WRITE, responses=UNAUTHORIZED)
def cancel_job(job_id: JobId, store: JobStoreDep) -> JobPublic:
    return _public(jobs.cancel(store, job_id))


@router.post(
    "/{job_id}/resume", response_model=JobPublic, dependencies=WRITE, responses=UNAUTHORIZED
)
def resume_job(job_id: JobId, store: JobStoreDep) -> JobPublic:
    return _public(jobs.resume(store, job_id))
