from fastapi import APIRouter
from fastapi.responses import Response

from backend.api.deps import UNAUTHORIZED, JobStoreDep, RunStoreDep, StartGuardDep
from backend.api.routes.runs import ProjectionQueryDep, pending
from backend.api.schemas_runs import ProjectionPending
from backend.api.schemas_views import ClustersPublic
from backend.services import explorer
from backend.services.clusters import clusters_json

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.get(
    "/{run}/clusters",
    response_model=ClustersPublic,
    responses={202: {"model": ProjectionPending}} | UNAUTHORIZED,
)
def get_clusters(
    run: str,
    store: RunStoreDep,
    job_store: JobStoreDep,
    query: ProjectionQueryDep,
    guard: StartGuardDep,
):
    """The run's clusters (HDBSCAN on the semantic vectors) outlined on this map; 202 with
    the `project` job that makes the map and the clustering when either is missing."""
    method, params = query
    body = clusters_json(explorer.loaded(store, run), method, params)
    if body is None:
        config = {"run": run, "method": method, "params": params}
        return pending(job_store, guard, "project", config, f"clustering for the {method} map")
    return Response(body, media_type="application/json")
