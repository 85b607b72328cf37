"""Dependencies shared by the routes."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from backend.api.access import bearer, check_write
from backend.api.schemas import Problem
from backend.api.schemas_runs import MapNotMade
from backend.jobs.runner import Runner
from backend.jobs.store import JobStore
from backend.runs.store import RunStore


def get_runner(request: Request) -> Runner:
    return request.app.state.runner


def get_job_store(request: Request) -> JobStore:
    return request.app.state.runner.store


RunnerDep = Annotated[Runner, Depends(get_runner)]
JobStoreDep = Annotated[JobStore, Depends(get_job_store)]


def get_run_store(request: Request) -> RunStore:
    return RunStore(request.app.state.runner.home)


RunStoreDep = Annotated[RunStore, Depends(get_run_store)]

CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def require_write(request: Request, credentials: CredentialsDep) -> None:
    check_write(request, credentials)


# Routes that start, cancel or upload: `@router.post(..., dependencies=WRITE, responses=...)`.
WRITE = [Depends(require_write)]
UNAUTHORIZED = {401: {"model": Problem, "description": "No token, or a wrong one"}}
# GETs of what a job makes (a map, its clusters, a placement): they never start one.
NOT_MADE = {409: {"model": MapNotMade, "description": "Not made yet: POST the same URL"}}
