"""Dependencies shared by the routes."""

from typing import Annotated

from fastapi import Depends, Request

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
