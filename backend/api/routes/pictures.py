"""The run's picture sheet for the map's Pictures view: its index (GET, or POST to make
it) and the sheet itself, one image for every neuron."""

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from backend.api.deps import NOT_MADE, UNAUTHORIZED, WRITE, JobStoreDep, RunStoreDep
from backend.api.routes.runs import pending, start_line
from backend.api.schemas_runs import PicturesPublic, ProjectionPending
from backend.services import explorer, maps
from backend.services.explorer import NeuronNotFoundError
from backend.services.pictures import read_index, sheet_paths

router = APIRouter(prefix="/api/runs", tags=["runs"])


Source = Annotated[
    Literal["top", "optimised"],
    Query(description="top-image crops, or optimised images where a visualize job made them"),
]


def _need(run: str, source: str) -> maps.Need:
    config = {"run": run, "source": source}
    return maps.Need("pictures", config, f"the {source} pictures of {run}")


def _public(run: str, index: dict) -> dict:
    # The sheet's URL names its version, so that a browser may keep it: a remade sheet
    # has another URL.
    version = f"{index['bytes']}-{index['features']}"
    path = f"/api/runs/{quote(run, safe='')}/pictures/sheet.jpg"
    return index | {"sheet": f"{path}?source={index['source']}&v={version}"}


@router.get("/{run}/pictures", response_model=PicturesPublic, responses=NOT_MADE)
def get_pictures(
    run: str, request: Request, store: RunStoreDep, job_store: JobStoreDep, source: Source = "top"
):
    """The index of the run's picture sheet (409 naming the POST that makes it)."""
    index = read_index(explorer.loaded(store, run).run, source)
    if index is None:
        need = _need(run, source)
        raise maps.not_made(job_store, [need], need.what, start_line(request))
    return _public(run, index)


@router.post(
    "/{run}/pictures",
    response_model=PicturesPublic,
    dependencies=WRITE,
    responses={202: {"model": ProjectionPending}} | UNAUTHORIZED,
)
def start_pictures(run: str, store: RunStoreDep, job_store: JobStoreDep, source: Source = "top"):
    """The index of the run's picture sheet, or 202 with the `pictures` job making it."""
    index = read_index(explorer.loaded(store, run).run, source)
    if index is None:
        return pending(job_store, [_need(run, source)])
    return _public(run, index)


@router.get(
    "/{run}/pictures/sheet.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_sheet(run: str, store: RunStoreDep, source: Source = "top") -> FileResponse:
    """Every neuron's picture in one image: row by row in neuron-id order, `tile` pixels
    a side, `columns` a row (see the index)."""
    data = explorer.loaded(store, run)
    if read_index(data.run, source) is None:
        raise NeuronNotFoundError(
            f"run {run} has no picture sheet yet: POST /api/runs/{run}/pictures"
        )
    headers = {"Cache-Control": "max-age=86400"}
    path = sheet_paths(data.run, source)[0]
    return FileResponse(path, media_type="image/jpeg", headers=headers)
