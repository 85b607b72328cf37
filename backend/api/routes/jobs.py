from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.api.deps import JobStoreDep
from backend.api.schemas import (
    EpochMetrics,
    JobCreate,
    JobLog,
    JobPublic,
    JobsMetrics,
    JobsPublic,
)
from backend.services import jobs

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

State = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


def _public(job) -> JobPublic:
    return JobPublic.model_validate(job, from_attributes=True)


@router.post("", response_model=JobPublic, status_code=201)
def create_job(body: JobCreate, store: JobStoreDep) -> JobPublic:
    return _public(jobs.submit(store, body.kind, body.config))


@router.get("", response_model=JobsPublic)
def list_jobs(
    store: JobStoreDep,
    state: State | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobsPublic:
    found = store.list_jobs(state=state, kind=kind, limit=limit, offset=offset)
    return JobsPublic(data=[_public(j) for j in found], count=len(found))


@router.get("/kinds", response_model=list[str])
def list_kinds() -> list[str]:
    return jobs.kinds()


@router.get("/metrics", response_model=JobsMetrics)
def get_many_metrics(
    store: JobStoreDep,
    ids: Annotated[str, Query(pattern=r"^\d+(,\d+){0,199}$", description="1,2,3 (at most 200)")],
) -> JobsMetrics:
    return JobsMetrics(data=store.metrics_of([int(i) for i in ids.split(",")]))


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: int, store: JobStoreDep) -> JobPublic:
    return _public(jobs.get(store, job_id))


@router.get("/{job_id}/metrics", response_model=EpochMetrics)
def get_metrics(job_id: int, store: JobStoreDep) -> EpochMetrics:
    jobs.get(store, job_id)
    rows = store.metrics(job_id)
    return EpochMetrics(data=rows, count=len(rows))


@router.get("/{job_id}/log", response_model=JobLog)
def get_log(job_id: int, store: JobStoreDep) -> JobLog:
    job = jobs.get(store, job_id)
    return JobLog(lines=[line for _, line in store.logs(job_id)], traceback=job.traceback)


@router.delete("/{job_id}", response_model=JobPublic)
def cancel_job(job_id: int, store: JobStoreDep) -> JobPublic:
    return _public(jobs.cancel(store, job_id))


@router.post("/{job_id}/resume", response_model=JobPublic)
def resume_job(job_id: int, store: JobStoreDep) -> JobPublic:
    return _public(jobs.resume(store, job_id))
