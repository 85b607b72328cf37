"""The FastAPI app. `create_app()` builds it; the job runner starts with it."""

import errno
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from backend.api.access import AccessDeniedError, CrossSiteError
from backend.api.guard import BodyTooLargeError, RequestGuard
from backend.api.routes import access, catalog, health, jobs, runs, uploads
from backend.api.schemas import Problem
from backend.core.errors import RunNotFoundError, SemvecError
from backend.core.settings import get_settings
from backend.jobs.runner import Runner
from backend.jobs.store import StoreWriteError
from backend.runs.tensor_budget import ExpandsTooFarError
from backend.services.explorer import NeuronNotFoundError
from backend.services.jobs import JobConfigError, JobNotFoundError
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
        description="Semantic vectors of a CNN's neurons: runs, neurons, jobs.",
    )
    routers = (health, access, jobs, runs, catalog, uploads)
    for router in (module.router for module in routers):
        app.include_router(router, responses=ERRORS)
    app.state.token = settings.token
    _add_error_handlers(app)
    app.add_middleware(
        RequestGuard,
        token=settings.token,
        upload_bytes=settings.max_upload_mb * 2**20,
        allowed_hosts=settings.allowed_host_names,
    )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/api/{path:path}", methods=methods, include_in_schema=False)
    def no_such_endpoint(path: str):
        # Without this, the front end's catch-all page would answer unknown API paths.
        return JSONResponse(status_code=404, content={"detail": f"no API endpoint /api/{path}"})

    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(JobConfigError)
    async def bad_config(_request: Request, err: JobConfigError):
        return JSONResponse(status_code=422, content={"detail": str(err), "errors": err.errors})

    @app.exception_handler(JobNotFoundError)
    @app.exception_handler(RunNotFoundError)
    @app.exception_handler(NeuronNotFoundError)
    async def not_found(_request: Request, err: SemvecError):
        return JSONResponse(status_code=404, content={"detail": str(err)})

    @app.exception_handler(AccessDeniedError)
    async def unauthorized(_request: Request, err: SemvecError):
        headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(status_code=401, content={"detail": str(err)}, headers=headers)

    @app.exception_handler(CrossSiteError)
    async def cross_site(_request: Request, err: SemvecError):
        return JSONResponse(status_code=403, content={"detail": str(err)})

    @app.exception_handler(UploadTooLargeError)
    @app.exception_handler(ExpandsTooFarError)
    @app.exception_handler(BodyTooLargeError)
    async def too_large(_request: Request, err: Exception):
        return JSONResponse(status_code=413, content={"detail": str(err)})

    @app.exception_handler(SemvecError)
    async def user_error(_request: Request, err: SemvecError):
        return JSONResponse(status_code=422, content={"detail": str(err)})

    @app.exception_handler(StoreWriteError)
    async def store_unwritable(_request: Request, err: StoreWriteError):
        return JSONResponse(status_code=507 if err.full else 503, content={"detail": str(err)})

    @app.exception_handler(OSError)
    async def os_error(_request: Request, err: OSError):
        if err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            detail = "the data home's disk is full: free some space and try again"
            return JSONResponse(status_code=507, content={"detail": detail})
        return await internal_error(_request, err)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, err: Exception):
        # A bug: uvicorn logs the traceback; the answer says so, in JSON, with no paths.
        detail = f"internal error ({type(err).__name__}); the server's log has the details"
        return JSONResponse(status_code=500, content={"detail": detail})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, err: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in err.errors()]
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors]
        return JSONResponse(status_code=422, content={"detail": "; ".join(parts), "errors": errors})
