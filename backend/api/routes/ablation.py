"""Ablation of a run's neurons: ask for a selection or a layer sweep (the cached result,
or 202 with the `ablate` job that makes it), read a result by its key, and every
neuron's own effect for the map."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.api.deps import UNAUTHORIZED, JobStoreDep, RunStoreDep
from backend.api.schemas_ablation import (
    AblationCreate,
    AblationEffects,
    AblationPending,
    AblationPublic,
    Mode,
    SweepCreate,
    SweepPublic,
)
from backend.services import ablation, jobs

router = APIRouter(prefix="/api/runs", tags=["ablation"])


def _pending(job_store, config: dict, what: str, key: str | None = None) -> JSONResponse:
    job = jobs.submit_once(job_store, "ablate", config)
    body = AblationPending(detail=f"{what}: poll job {job.id}", job_id=job.id, key=key)
    return JSONResponse(status_code=202, content=body.model_dump())


@router.post(
    "/{run}/ablations",
    response_model=AblationPublic,
    responses={202: {"model": AblationPending}} | UNAUTHORIZED,
)
def ablate(run: str, body: AblationCreate, store: RunStoreDep, job_store: JobStoreDep):
    """The selection's ablation against its random control: the cached result, or 202
    with the job making it (a write: it needs the token when the server has one)."""
    found = store.open(run)
    ids = ablation.selection_ids(found, body.neurons)
    key = ablation.ablation_key(ids, body.mode, body.draws, body.seed)
    cached = ablation.cached_result(found, key)
    if cached is not None:
        return cached
    config = {"run": run, "neurons": ids, "mode": body.mode, "draws": body.draws}
    what = f"ablating {len(ids)} neurons of {run}"
    return _pending(job_store, config | {"seed": body.seed}, what, key)


@router.get("/{run}/ablations/{key}", response_model=AblationPublic)
def get_ablation(run: str, key: str, store: RunStoreDep) -> dict:
    """A result by the key an ablation answered with (what a deep link holds)."""
    return ablation.result(store.open(run), key)


@router.post(
    "/{run}/ablation-sweeps",
    response_model=SweepPublic,
    responses={202: {"model": AblationPending}} | UNAUTHORIZED,
)
def sweep(run: str, body: SweepCreate, store: RunStoreDep, job_store: JobStoreDep):
    """Every neuron of a layer ablated alone: the cached sweep, or 202 with its job."""
    found = store.open(run)
    layer = ablation.check_layer(found, body.layer)
    cached = ablation.cached_sweep(found, layer, body.mode)
    if cached is not None:
        return cached
    config = {"run": run, "layer": layer, "mode": body.mode}
    return _pending(job_store, config, f"sweeping layer {layer} of {run}")


@router.get("/{run}/ablation-effects", response_model=AblationEffects)
def get_effects(run: str, store: RunStoreDep, mode: Mode = "zero") -> dict:
    """Every neuron's own ablation effect where its layer has been swept."""
    return ablation.effects(store.open(run), mode)
