from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from backend.api.deps import NOT_MADE, UNAUTHORIZED, WRITE, JobStoreDep, RunStoreDep
from backend.api.schemas_runs import (
    MapNeighborsPublic,
    NeighborsPublic,
    NeuronColumns,
    NeuronDetail,
    NeuronsPublic,
    PlacementPublic,
    ProjectionPending,
    ProjectionPublic,
    RunPublic,
    RunsPublic,
)
from backend.services import explorer, images, maps
from backend.services.export import export_text

router = APIRouter(prefix="/api/runs", tags=["runs"])


def projection_query(
    method: Literal["umap", "tsne", "pca"] = "umap",
    n_neighbors: Annotated[int | None, Query(ge=2, le=500)] = None,
    min_dist: Annotated[float | None, Query(ge=0, le=1)] = None,
    perplexity: Annotated[float | None, Query(gt=0, le=1000)] = None,
    seed: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,  # numpy's seed range
) -> tuple[str, dict]:
    """(method, the parameters given): the query of every endpoint that draws a map."""
    given = {"n_neighbors": n_neighbors, "min_dist": min_dist, "perplexity": perplexity}
    params = {k: v for k, v in (given | {"seed": seed}).items() if v is not None}
    return method, params


ProjectionQueryDep = Annotated[tuple[str, dict], Depends(projection_query)]


def pending(job_store, needs: list[maps.Need]) -> JSONResponse:
    """202 with the (de-duplicated) jobs that make what was asked for."""
    job, words = maps.start(job_store, needs)
    body = ProjectionPending(detail=words, job_id=job.id)
    return JSONResponse(status_code=202, content=body.model_dump())


def made_or_pending(body: bytes | None, job_store, need: maps.Need) -> Response:
    """A POST's answer: the made body (JSON, encoded once), or 202 with the job making it."""
    if body is None:
        return pending(job_store, [need])
    return Response(body, media_type="application/json")


def start_line(request: Request) -> str:
    """`POST <this URL>`: what starts the jobs a GET of it found missing."""
    query = request.url.query
    return f"POST {request.url.path}" + (f"?{query}" if query else "")


@router.get("", response_model=RunsPublic)
def list_runs(store: RunStoreDep) -> RunsPublic:
    runs, damaged = explorer.summaries(store)
    return RunsPublic(data=runs, count=len(runs), damaged=damaged)


@router.get("/{run}", response_model=RunPublic)
def get_run(run: str, store: RunStoreDep) -> dict:
    return explorer.run_summary(explorer.loaded(store, run))


@router.get("/{run}/neurons", response_model=NeuronsPublic)
def list_neurons(
    run: str,
    store: RunStoreDep,
    layer: str | None = None,
    label: str | None = None,
    dead: bool | None = None,
    q: Annotated[
        str | None,
        Query(description="part of a name (conv2:1), or class:LABEL for a dominant class"),
    ] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> NeuronsPublic:
    data = explorer.loaded(store, run)
    rows, total = explorer.list_neurons(data, layer, label, dead, q, offset, limit)
    return NeuronsPublic(data=rows, count=len(rows), total=total)


@router.get("/{run}/columns", response_model=NeuronColumns)
def get_columns(run: str, store: RunStoreDep) -> JSONResponse:
    """All neurons as columns, for drawing maps (no paging: the map shows every neuron)."""
    body = explorer.columns_json(explorer.loaded(store, run))
    return Response(body, media_type="application/json")


@router.get("/{run}/neurons/{neuron}", response_model=NeuronDetail)
def get_neuron(run: str, neuron: str, store: RunStoreDep) -> dict:
    data = explorer.loaded(store, run)
    return explorer.neuron_detail(data, explorer.resolve_neuron(data, neuron))


@router.get("/{run}/neurons/{neuron}/neighbors", response_model=NeighborsPublic)
def get_neighbors(
    run: str,
    neuron: str,
    store: RunStoreDep,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    hide_copies: Annotated[
        bool,
        Query(
            description="leave out the neuron's residual copies (same stage, same channel) "
            "and keep one neuron of every other copy group"
        ),
    ] = False,
) -> NeighborsPublic:
    data = explorer.loaded(store, run)
    rows = explorer.neighbors(data, explorer.resolve_neuron(data, neuron), k, hide_copies)
    return NeighborsPublic(data=rows, count=len(rows))


@router.get("/{run}/neurons/{neuron}/map-neighbors", response_model=MapNeighborsPublic)
def get_map_neighbors(
    run: str,
    neuron: str,
    store: RunStoreDep,
    query: ProjectionQueryDep,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> MapNeighborsPublic:
    """The neuron's nearest points on a cached 2-D map (422 while that map is not made)."""
    data = explorer.loaded(store, run)
    method, params = query
    rows = explorer.map_neighbors(data, explorer.resolve_neuron(data, neuron), k, method, params)
    return MapNeighborsPublic(data=rows, count=len(rows))


@router.get(
    "/{run}/neurons/{neuron}/images/{rank}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_image(
    run: str,
    neuron: str,
    rank: int,
    store: RunStoreDep,
    size: Annotated[int, Query(ge=16, le=512)] = 128,
) -> Response:
    """A top image with the neuron's activation map on the region the model saw."""
    data = explorer.loaded(store, run)
    index, heat = explorer.top_map(data, explorer.resolve_neuron(data, neuron), rank)
    return _image(data, index, heat, size)


@router.get(
    "/{run}/images/{index}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_dataset_image(
    run: str, index: int, store: RunStoreDep, size: Annotated[int, Query(ge=16, le=512)] = 128
) -> Response:
    """Image `index` of the analysed split (bottom and random samples), without a map."""
    data = explorer.loaded(store, run)
    return _image(data, explorer.check_image(data, index), None, size)


def _image(data, index: int, heat, size: int) -> Response:
    raw, box = images.photo(data.run, explorer.analysed_split(data), index)
    return Response(
        images.overlay_png(raw, heat, size, box),
        media_type="image/png",
        headers={"Cache-Control": "max-age=3600"},
    )


MADE_OR_STARTED = {202: {"model": ProjectionPending}} | UNAUTHORIZED


@router.get("/{run}/projection", response_model=ProjectionPublic, responses=NOT_MADE)
def get_projection(
    run: str,
    request: Request,
    store: RunStoreDep,
    job_store: JobStoreDep,
    query: ProjectionQueryDep,
):
    """The cached map (409 naming the POST that starts it while it is not made)."""
    method, params = query
    body = explorer.projection_json(explorer.loaded(store, run), method, params)
    if body is None:
        need = maps.project(run, method, params)
        raise maps.not_made(job_store, [need], need.what, start_line(request))
    # The shape of ProjectionPublic, encoded once (no re-validation of 100k rows).
    return Response(body, media_type="application/json")


@router.post(
    "/{run}/projection",
    response_model=ProjectionPublic,
    dependencies=WRITE,
    responses=MADE_OR_STARTED,
)
def start_projection(
    run: str, store: RunStoreDep, job_store: JobStoreDep, query: ProjectionQueryDep
):
    """The cached map, or 202 with the `project` job that makes it (one per map)."""
    method, params = query
    body = explorer.projection_json(explorer.loaded(store, run), method, params)
    return made_or_pending(body, job_store, maps.project(run, method, params))


@router.get("/{run}/placement/{teacher}", response_model=PlacementPublic, responses=NOT_MADE)
def get_placement(
    run: str,
    teacher: str,
    request: Request,
    store: RunStoreDep,
    job_store: JobStoreDep,
    query: ProjectionQueryDep,
):
    """The run's neurons drawn on `teacher`'s map (409 while the map or the matching of the
    neurons is not made, naming the POST that starts them)."""
    method, params = query
    student, teacher_data = explorer.loaded(store, run), explorer.loaded(store, teacher)
    placed, needs = maps.placement_or_needs(student, teacher_data, method, params)
    if placed is None:
        what = " and ".join(need.what for need in needs)
        raise maps.not_made(job_store, needs, what, start_line(request))
    return JSONResponse(placed)


@router.post(
    "/{run}/placement/{teacher}",
    response_model=PlacementPublic,
    dependencies=WRITE,
    responses=MADE_OR_STARTED,
)
def start_placement(
    run: str, teacher: str, store: RunStoreDep, job_store: JobStoreDep, query: ProjectionQueryDep
):
    """The placement, or 202 with the jobs it needs: the teacher's map and the matching of
    the neurons (a `place` job), whichever is missing; `job_id` is the first of them."""
    method, params = query
    student, teacher_data = explorer.loaded(store, run), explorer.loaded(store, teacher)
    placed, needs = maps.placement_or_needs(student, teacher_data, method, params)
    if placed is None:
        return pending(job_store, needs)
    return JSONResponse(placed)


@router.get("/{run}/export/{name}", response_class=PlainTextResponse)
def get_export(
    run: str, name: Literal["vectors.tsv", "metadata.tsv", "neurons.csv"], store: RunStoreDep
) -> PlainTextResponse:
    text = export_text(store.open(run), name)
    media = "text/csv" if name.endswith(".csv") else "text/tab-separated-values"
    return PlainTextResponse(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{run}-{name}"'},
    )
