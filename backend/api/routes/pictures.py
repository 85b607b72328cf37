"""The run's picture sheet for the map's Pictures view: its index (GET, or POST to make
it) and the sheet itself, one image for every neuron."""

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from backend.api.deps import NOT_MADE, UNAUTHORIZED, WRITE, JobStoreDep, RunStoreDep
from backend.api.routes.runs import pending, start_line
from backend.api.schemas_runs import PicturesPublic, ProjectionPending
from backend.services import explorer, maps
from backend.services.explorer import NeuronNotFoundError
from backend.services.pictures import read_index, sheet_paths

router = APIRouter(prefix="/api/runs", tags=["runs"])


def _need(run: str) -> maps.Need:
    return maps.Need("pictures", {"run": run}, f"the pictures of {run}")


def _public(run: str, index: dict) -> dict:
    # The sheet's URL names its version, so that a browser may keep it: a remade sheet
    # has another URL.
    return index | {"sheet": f"/api/runs/{run}/pictures/sheet.jpg?v={index['bytes']}"}


@router.get("/{run}/pictures", response_model=PicturesPublic, responses=NOT_MADE)
def get_pictures(run: str, request: Request, store: RunStoreDep, job_store: JobStoreDep):
    """The index of the run's picture sheet (409 naming the POST that makes it)."""
    index = read_index(explorer.loaded(store, run).run)
    if index is None:
        need = _need(run)
        raise maps.not_made(job_store, [need], need.what, start_line(request))
    return _public(run, index)


@router.post(
    "/{run}/pictures",
    response_model=PicturesPublic,
    dependencies=WRITE,
    responses={202: {"model": ProjectionPending}} | UNAUTHORIZED,
)
def start_pictures(run: str, store: RunStoreDep, job_store: JobStoreDep):
    """The index of the run's picture sheet, or 202 with the `pictures` job making it."""
    index = read_index(explorer.loaded(store, run).run)
    if index is None:
        return pending(job_store, [_need(run)])
    return _public(run, index)


@router.get(
    "/{run}/pictures/sheet.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_sheet(run: str, store: RunStoreDep) -> FileResponse:
    """Every neuron's picture in one image: row by row in neuron-id order, `tile` pixels
    a side, `columns` a row (see the index)."""
    data = explorer.loaded(store, run)
    if read_index(data.run) is None:
        raise NeuronNotFoundError(
            f"run {run} has no picture sheet yet: POST /api/runs/{run}/pictures"
        )
    headers = {"Cache-Control": "max-age=86400"}
    return FileResponse(sheet_paths(data.run)[0], media_type="image/jpeg", headers=headers)
