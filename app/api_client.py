"""The front end's only way to data: the semvec JSON API.

Inside `semvec serve` the client calls the API in-process (an ASGI transport over the
same FastAPI app: no socket, no port to know); pointed at a URL it works against any
semvec server. Callbacks are async so the server's event loop stays free meanwhile.

The client never holds a token of its own: each call carries the credentials of the
browser whose request is being answered (`caller`, set by app/auth.py's middleware), so
the page may write exactly when the person using it may.
"""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


class ApiError(Exception):
    """The API said no: `status`, the `detail` message it gave, for invalid input its
    per-field `errors` ({loc, msg}), and the whole JSON `body` (a 409's `job_id`)."""

    def __init__(
        self, status: int, detail: str, errors: list[dict] | None = None, body: dict | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.body = body or {}


@dataclass(frozen=True)
class Caller:
    """The browser the page is answering: its signed-in token and its address."""

    token: str | None = None
    client: tuple[str, int] | None = None


caller: ContextVar[Caller | None] = ContextVar("semvec_caller", default=None)


def _caller() -> Caller:
    return caller.get() or Caller()


class _CallerTransport(httpx.ASGITransport):
    """In-process calls that come from the caller's address, not from this machine, so
    that the API's loopback rule judges the browser (its `client` is read per request)."""

    @property
    def client(self) -> tuple[str, int]:
        return _caller().client or ("127.0.0.1", 123)

    @client.setter
    def client(self, _value) -> None:
        pass  # set by ASGITransport.__init__; the caller's address is used instead


_client: httpx.AsyncClient | None = None


def connect(asgi_app=None, base_url: str | None = None) -> None:
    """Use the FastAPI app in this process, or a server at `base_url`."""
    global _client
    if asgi_app is not None:
        transport = _CallerTransport(app=asgi_app)
        _client = httpx.AsyncClient(transport=transport, base_url="http://localhost", timeout=60)
    else:
        _client = httpx.AsyncClient(base_url=base_url or "http://127.0.0.1:8000", timeout=60)


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    detail = str(body.get("detail") or response.text[:200] or response.reason_phrase)
    errors = body.get("errors") if isinstance(body.get("errors"), list) else None
    return ApiError(response.status_code, detail, errors, body)


async def request(method: str, path: str, **kwargs) -> tuple[int, Any]:
    """(status, decoded JSON) for 2xx answers; anything else raises ApiError."""
    if _client is None:
        raise RuntimeError("app.api_client.connect() was not called")
    token = _caller().token
    if token:
        kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {token}"}
    try:
        response = await _client.request(method, path, **kwargs)
    except httpx.HTTPError as err:
        raise ApiError(503, f"the semvec API did not answer: {err}") from err
    if response.status_code >= 400:
        raise _problem(response)
    return response.status_code, response.json()


async def get(path: str, **params) -> Any:
    params = {k: v for k, v in params.items() if v is not None}
    return (await request("GET", path, params=params))[1]


def run_path(run: str, *parts: str) -> str:
    """`/api/runs/<run>/<parts...>` with each piece escaped (names come from users)."""
    return "/".join(["/api/runs", quote(run, safe=""), *(quote(p, safe="") for p in parts)])


def image_url(run: str, neuron: int, rank: int, size: int = 128) -> str:
    """Where the browser fetches a top image with its heatmap (served by the API)."""
    return run_path(run, "neurons", str(neuron), "images", f"{rank}.png") + f"?size={size}"


def dataset_image_url(run: str, index: int, size: int = 128) -> str:
    """Where the browser fetches image `index` of the run's analysed images (no heatmap)."""
    return run_path(run, "images", f"{int(index)}.png") + f"?size={size}"


async def access() -> dict:
    """{token_required, can_write} for the current caller."""
    return await get("/api/access")


async def runs() -> list[dict]:
    return (await get("/api/runs"))["data"]


async def runs_and_damaged() -> tuple[list[dict], list[dict]]:
    """(the readable runs, {id, reason} of the damaged ones)."""
    found = await get("/api/runs")
    return found["data"], found.get("damaged", [])


async def run(run_id: str) -> dict:
    return await get(run_path(run_id))


async def columns(run_id: str) -> dict:
    return await get(run_path(run_id, "columns"))


async def neurons(run_id: str, **filters) -> dict:
    return await get(run_path(run_id, "neurons"), **filters)


async def neuron(run_id: str, neuron_ref: str) -> dict:
    return await get(run_path(run_id, "neurons", neuron_ref))


async def neighbors(
    run_id: str, neuron_ref: str, k: int = 10, hide_copies: bool = False
) -> list[dict]:
    path = run_path(run_id, "neurons", neuron_ref, "neighbors")
    return (await get(path, k=k, hide_copies=hide_copies or None))["data"]


async def map_neighbors(run_id: str, neuron_ref: str, method: str, params: dict, k: int = 10):
    """The neuron's nearest points on the 2-D map (each with its 64-d similarity too)."""
    path = run_path(run_id, "neurons", neuron_ref, "map-neighbors")
    return (await get(path, k=k, method=method, **params))["data"]


async def made_or_started(
    path: str, query: dict, start: bool = True, retry: bool = False
) -> tuple[int, dict]:
    """(200, what `path` answers) once made; (202, {job_id, detail}) while a job makes it.
    A GET only reads: when no job is making it yet, this POSTs the same URL to start one
    (a write: ApiError 401 for a caller who may not), or with `start` false raises the
    GET's 409. It raises that 409 too when the last job failed (its body's `failed` says
    {job_id, error}; see `failure`), unless `retry`: a failing job is started again only
    when the user asks, never by a page's polling."""
    query = {k: v for k, v in query.items() if v is not None}
    try:
        return await request("GET", path, params=query)
    except ApiError as err:
        if err.status != 409:
            raise
        if err.body.get("job_id") is not None:
            return 202, {"job_id": err.body["job_id"], "detail": err.detail}
        if not start or (failure(err) and not retry):
            raise
    return await request("POST", path, params=query)


def failure(err: ApiError) -> dict | None:
    """{job_id, error} of the failed job a GET's 409 names, if it names one."""
    failed = err.body.get("failed") if err.status == 409 else None
    return failed if isinstance(failed, dict) else None


async def projection(
    run_id: str, method: str, params: dict, retry: bool = False
) -> tuple[int, dict]:
    """(200, coordinates) when the map is cached, (202, {job_id, detail}) while computed."""
    query = {"method": method, **params}
    return await made_or_started(run_path(run_id, "projection"), query, retry=retry)


async def placement(run_id: str, teacher: str, method: str, start: bool) -> tuple[int, dict]:
    """(200, the run's neurons on the teacher's map) or (202, {job_id, detail}); without
    `start`, ApiError 409 where a job would have to be started (`start` is a click: it
    tries again after a failure too)."""
    path = run_path(run_id, "placement", teacher)
    return await made_or_started(path, {"method": method}, start, retry=start)


async def distill_methods() -> list[dict]:
    """The registered distillation methods with what each takes of the teacher."""
    return await get("/api/distill/methods")


async def teacher(run_id: str) -> dict:
    """A teacher run's training images and its knowledge file (the Distillation tab)."""
    return await get("/api/distill/teachers/" + quote(run_id, safe=""))


async def ablation_effects(run_id: str, mode: str | None) -> list:
    """Every neuron's own ablation effect (None where its layer is not swept)."""
    return (await get(run_path(run_id, "ablation-effects"), mode=mode or "zero"))["values"]


async def models() -> list[str]:
    return await get("/api/models")


async def architectures() -> list[dict]:
    """[{source, title, names}] of every architecture the server offers."""
    return await get("/api/architectures")


async def architecture_layers(arch: str) -> dict:
    return await get("/api/architectures/layers", arch=arch)


async def published_weights(arch: str) -> list[dict]:
    return await get("/api/architectures/weights", arch=arch)


async def datasets() -> list[str]:
    return await get("/api/datasets")


async def dataset_folders() -> dict:
    """{data: [{path, name, datasets}], folder, built_in}: where datasets can be read from."""
    return await get("/api/datasets/folders")


async def jobs(kind: str | None = None, limit: int = 50) -> list[dict]:
    return (await get("/api/jobs", kind=kind, limit=limit))["data"]


async def job(job_id: int) -> dict:
    return await get(f"/api/jobs/{int(job_id)}")


async def metrics_of(job_ids: list[int]) -> dict[int, list[dict]]:
    if not job_ids:
        return {}
    found = (await get("/api/jobs/metrics", ids=",".join(str(int(i)) for i in job_ids)))["data"]
    return {int(k): v for k, v in found.items()}


async def submit_job(kind: str, config: dict) -> dict:
    return (await request("POST", "/api/jobs", json={"kind": kind, "config": config}))[1]


async def estimate_job(kind: str, config: dict) -> dict:
    """What the job would cost on the server, before it is submitted."""
    return (await request("POST", "/api/jobs/estimate", json={"kind": kind, "config": config}))[1]


async def cancel_job(job_id: int) -> dict:
    return (await request("DELETE", f"/api/jobs/{int(job_id)}"))[1]


async def upload_checkpoint(filename: str, content: bytes) -> dict:
    _status, body = await request(
        "POST",
        "/api/checkpoints",
        params={"filename": filename},
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )
    return body


async def clusters(run_id: str, method: str, params: dict) -> tuple[int, dict]:
    """(200, the clusters outlined on this map) or (202, {job_id, detail}) while made;
    ApiError 409 with `failure` after the map's job failed (the map's page retries it)."""
    return await made_or_started(run_path(run_id, "clusters"), {"method": method, **params})


async def feature(run_id: str, neuron_ref: str) -> dict:
    """The neuron's optimised images: {made: false} until a `visualize` job made them."""
    return await get(run_path(run_id, "neurons", neuron_ref, "feature"))


async def manual_contents() -> list[dict]:
    """The manual's pages in reading order: {name, title, section}."""
    return (await get("/api/manual"))["data"]


async def manual_page(name: str) -> dict:
    """{name, title, section, markdown} of one page of the manual."""
    return await get("/api/manual/pages/" + quote(name, safe="/"))
