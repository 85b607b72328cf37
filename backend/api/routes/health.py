from fastapi import APIRouter

from backend.api.deps import RunnerDep
from backend.api.schemas import Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
def health(runner: RunnerDep) -> Health:
    return Health(
        status="ok",
        version="0.1.0",
        home=str(runner.home),
        jobs_running=len(runner.workers),
        job_slots=runner.slots,
    )
