from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.api.deps import NOT_MADE, WRITE, JobStoreDep, RunStoreDep
from backend.api.routes.runs import (
    MADE_OR_STARTED,
    ProjectionQueryDep,
    made_or_pending,
    start_line,
)
from backend.api.schemas_views import ClustersPublic
from backend.services import explorer, maps
from backend.services.clusters import clusters_json

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.get("/{run}/clusters", response_model=ClustersPublic, responses=NOT_MADE)
def get_clusters(
    run: str,
    request: Request,
    store: RunStoreDep,
    job_store: JobStoreDep,
    query: ProjectionQueryDep,
):
    """The run's clusters (HDBSCAN on the semantic vectors) outlined on this map; 409
    naming the POST that starts the `project` job making the map and the clustering when
    either is missing."""
    method, params = query
    body = clusters_json(explorer.loaded(store, run), method, params)
    if body is None:
        need = maps.project(run, method, params)
        what = f"the clustering for {need.what}"
        raise maps.not_made(job_store, [need], what, start_line(request))
    return Response(body, media_type="application/json")


@router.post(
    "/{run}/clusters",
    response_model=ClustersPublic,
    dependencies=WRITE,
    responses=MADE_OR_STARTED,
)
def start_clusters(run: str, store: RunStoreDep, job_store: JobStoreDep, query: ProjectionQueryDep):
    """The clusters, or 202 with the `project` job that makes them with the map."""
    method, params = query
    body = clusters_json(explorer.loaded(store, run), method, params)
    return made_or_pending(body, job_store, maps.project(run, method, params))
