"""The FastAPI app. `create_app()` builds it; the job runner starts with it."""

import errno
import json
import re
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from backend.api.access import AccessDeniedError, CrossSiteError
from backend.api.docs import add_offline_docs
from backend.api.guard import BodyTooLargeError, RequestGuard
from backend.api.routes import (
    ablation,
    access,
    catalog,
    clusters,
    distill,
    features,
    health,
    jobs,
    manual,
    pictures,
    runs,
    uploads,
)
from backend.api.schemas import Problem
from backend.core.errors import RunNotFoundError, SemvecError
from backend.core.settings import get_settings
from backend.jobs.runner import Runner
from backend.jobs.store import StoreWriteError
from backend.runs.tensor_budget import ExpandsTooFarError
from backend.runs.upload_budget import OverBudgetError
from backend.services.ablation import AblationNotFoundError
from backend.services.explorer import NeuronNotFoundError
from backend.services.jobs import JobConfigError, JobNotFoundError
from backend.services.manual import ManualPageNotFoundError
from backend.services.maps import NotMadeError
from backend.services.uploads import UploadTooLargeError

# The error answers every route can give, documented with their real shape.
ERRORS = {
    404: {"model": Problem, "description": "No such job, run or neuron"},
    422: {"model": Problem, "description": "Invalid input: `detail` says what and why"},
}


def create_app(slots: int | None = None) -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.runner = Runner(settings.home, slots=slots or settings.job_slots).start()
        yield
        app.state.runner.stop()

    app = FastAPI(
        title="semvec",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by add_offline_docs, without a CDN
        redoc_url=None,  # ReDoc loads from a CDN only
        description="Semantic vectors of a CNN's neurons: runs, neurons, jobs.",
    )
    routers = (health, access, jobs, runs, ablation, clusters, features, catalog, distill)
    routers += (uploads, manual, pictures)
    for router in (module.router for module in routers):
        app.include_router(router, responses=ERRORS)
    add_offline_docs(app)
    app.state.token = settings.token
    app.state.home = settings.home
    _add_error_handlers(app)
    app.add_middleware(
        RequestGuard,
        token=settings.token,
        upload_bytes=settings.max_upload_mb * 2**20,
        allowed_hosts=settings.allowed_host_names,
    )

    _document_body_errors(app)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/api/{path:path}", methods=methods, include_in_schema=False)
    def no_such_endpoint(path: str, request: Request):
        # Without this, the front end's catch-all page would answer unknown API paths.
        allowed = _methods_of(app, request.url.path)
        if allowed:
            detail = f"/api/{path} takes {', '.join(allowed)}, not {request.method}"
            headers = {"Allow": ", ".join(allowed)}
            return JSONResponse(status_code=405, content={"detail": detail}, headers=headers)
        return JSONResponse(status_code=404, content={"detail": f"no API endpoint /api/{path}"})

    return app


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """The methods the API's documented routes take at `path` (none: an unknown path)."""
    found: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        if re.fullmatch(pattern, path):
            found |= {method.upper() for method in operations}
    return sorted(found)


BODY_ERRORS = {
    "400": "The body does not parse: not JSON, or nested deeper than the parser goes (a "
    "1,000-deep list); or a Content-Length that is not a number",
    "413": "The body is over this route's cap (`detail` says which)",
}


def _document_body_errors(app: FastAPI) -> None:
    """Every write documents the answers a body can get before the route runs: the
    RequestGuard's 413 (and 400 for a bad Content-Length), FastAPI's 400 for JSON that
    does not parse."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            for operations in build()["paths"].values():
                for method, operation in operations.items():
                    if method in ("get", "head", "options"):
                        continue
                    for status, description in BODY_ERRORS.items():
                        answer = {"description": description, "content": problem}
                        operation["responses"].setdefault(status, answer)
        return app.openapi_schema

    app.openapi = openapi


def _answer(request: Request, status: int, detail: str, headers=None, **extra) -> JSONResponse:
    """An error answer; the data home's absolute path reads `$SEMVEC_HOME` (the CLI's
    messages name real paths, the API's must not show where the server keeps its files)."""
    home = request.app.state.home
    body = json.dumps({"detail": detail, **extra})
    for spelled in sorted({str(home.resolve()), str(home.absolute())}, key=len, reverse=True):
        body = body.replace(json.dumps(spelled)[1:-1], "$SEMVEC_HOME")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    statuses = [
        (JobNotFoundError, 404),
        (RunNotFoundError, 404),
        (NeuronNotFoundError, 404),
        (AblationNotFoundError, 404),
        (ManualPageNotFoundError, 404),
        (CrossSiteError, 403),
        (UploadTooLargeError, 413),
        (ExpandsTooFarError, 413),
        (OverBudgetError, 413),
        (BodyTooLargeError, 413),
        (SemvecError, 422),
    ]
    for error, status in statuses:

        async def handler(request: Request, err: Exception, status: int = status):
            return _answer(request, status, str(err))

        app.add_exception_handler(error, handler)

    @app.exception_handler(NotMadeError)
    async def not_made(request: Request, err: NotMadeError):
        return _answer(request, 409, str(err), job_id=err.job_id, failed=err.failed)

    @app.exception_handler(JobConfigError)
    async def bad_config(request: Request, err: JobConfigError):
        return _answer(request, 422, str(err), errors=err.errors)

    @app.exception_handler(AccessDeniedError)
    async def unauthorized(request: Request, err: SemvecError):
        return _answer(request, 401, str(err), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StoreWriteError)
    async def store_unwritable(request: Request, err: StoreWriteError):
        return _answer(request, 507 if err.full else 503, str(err))

    @app.exception_handler(OSError)
    async def os_error(request: Request, err: OSError):
        if err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            return _answer(request, 507, "the data home's disk is full: free space and try again")
        return await internal_error(request, err)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception):
        # A bug: uvicorn logs the traceback; the answer says so, in JSON, with no paths.
        detail = f"internal error ({type(err).__name__}); the server's log has the details"
        return _answer(request, 500, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in err.errors()]
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors]
        return _answer(request, 422, "; ".join(parts), errors=errors)
