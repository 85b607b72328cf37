from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.api.deps import RunnerDep
from backend.api.schemas import Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "jobs.db cannot be used: `store` says why"}},
)
def health(runner: RunnerDep):
    problem = runner.store_trouble()
    body = Health(
        status="ok" if problem is None else "degraded",
        version="0.1.0",
        home=runner.home.name,  # the folder's name: no server paths in answers
        jobs_running=runner.running(),
        job_slots=runner.slots,
        store=problem or "ok",
    )
    return JSONResponse(body.model_dump(), status_code=200 if problem is None else 503)
