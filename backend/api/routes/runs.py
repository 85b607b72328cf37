from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from backend.api.deps import UNAUTHORIZED, JobStoreDep, RunStoreDep, StartGuardDep
from backend.api.schemas_runs import (
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
from backend.services import explorer, images, jobs
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


def _pending(job_store, guard, kind: str, config: dict, what: str) -> JSONResponse:
    """202 with the (de-duplicated) job that makes what was asked for (starting one is a
    write: it needs the token when the server has one)."""
    guard()
    job = jobs.submit_once(job_store, kind, config)
    body = ProjectionPending(detail=f"{what}: poll job {job.id}", job_id=job.id)
    return JSONResponse(status_code=202, content=body.model_dump())


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
    q: Annotated[str | None, Query(description="part of a name, or a label")] = None,
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
    run: str, neuron: str, store: RunStoreDep, k: Annotated[int, Query(ge=1, le=100)] = 10
) -> NeighborsPublic:
    data = explorer.loaded(store, run)
    rows = explorer.neighbors(data, explorer.resolve_neuron(data, neuron), k)
    return NeighborsPublic(data=rows, count=len(rows))


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
    data = explorer.loaded(store, run)
    index, heat = explorer.top_map(data, explorer.resolve_neuron(data, neuron), rank)
    split = data.metrics.get("analysis", {}).get("split", "all")
    raw = images.raw_image(data.run.meta.dataset, split, index)
    return Response(
        images.overlay_png(raw, heat, size),
        media_type="image/png",
        headers={"Cache-Control": "max-age=3600"},
    )


@router.get(
    "/{run}/projection",
    response_model=ProjectionPublic,
    responses={202: {"model": ProjectionPending}} | UNAUTHORIZED,
)
def get_projection(
    run: str,
    store: RunStoreDep,
    job_store: JobStoreDep,
    query: ProjectionQueryDep,
    guard: StartGuardDep,
):
    method, params = query
    body = explorer.projection_json(explorer.loaded(store, run), method, params)
    if body is None:
        config = {"run": run, "method": method, "params": params}
        return _pending(job_store, guard, "project", config, f"computing the {method} map")
    # The shape of ProjectionPublic, encoded once (no re-validation of 100k rows).
    return Response(body, media_type="application/json")


@router.get(
    "/{run}/placement/{teacher}",
    response_model=PlacementPublic,
    responses={202: {"model": ProjectionPending}} | UNAUTHORIZED,
)
def get_placement(
    run: str,
    teacher: str,
    store: RunStoreDep,
    job_store: JobStoreDep,
    query: ProjectionQueryDep,
    guard: StartGuardDep,
):
    """The run's neurons drawn on `teacher`'s map (202 while the map or the matching runs)."""
    method, params = query
    student_data, teacher_data = explorer.loaded(store, run), explorer.loaded(store, teacher)
    coords = explorer.cached_projection(teacher_data, method, params)
    if coords is None:
        config = {"run": teacher, "method": method, "params": params}
        return _pending(job_store, guard, "project", config, f"computing {teacher}'s {method} map")
    placed = explorer.placement(student_data, teacher_data, coords)
    if placed is None:
        config = {"student": run, "teacher": teacher}
        what = f"matching {run}'s neurons to {teacher}'s"
        return _pending(job_store, guard, "place", config, what)
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
