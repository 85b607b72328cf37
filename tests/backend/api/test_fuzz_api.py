"""Schemathesis over the OpenAPI schema of a real server: every /api operation gets
generated requests (valid and not); none may get a 5xx, and every 4xx must say what is
wrong (JSON with a non-empty "detail"). 2xx and documented errors must match the schema.

Each operation gets `SEMVEC_FUZZ_EXAMPLES` generated cases (default 20, the same cases on
every run so CI is stable); set it higher, e.g. 500, to hunt with fresh random cases.
Jobs that generated requests start (POST /api/jobs, resume, the POST of a map not made
yet) are cancelled right away, so the one job slot never stays busy; a GET must start none.
"""

import io
import json
import os
import zipfile

import httpx
import pytest
import schemathesis
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from backend.api.app import create_app
from backend.jobs.kinds import list_kinds
from tests.backend.api.conftest import Server
from tests.backend.api.rawhttp import raw_request

EXAMPLES = int(os.environ.get("SEMVEC_FUZZ_EXAMPLES", "20"))
RUN = "digits-default"
# Real names mixed into the generated ones, so that requests reach past the lookups.
KNOWN = {"run": [RUN], "teacher": [RUN], "neuron": ["conv3:5", "0", "fc:9"], "rank": [0, 8]}

# The schema the server serves at /openapi.json (test_the_fuzzed_schema_is_the_served_one),
# built here because the test functions are generated when the module is collected.
schema = schemathesis.openapi.from_dict(create_app().openapi()).include(path_regex="^/api/")


@schema.hook
def flatmap_path_parameters(_context, parameters):
    """Each path parameter: the generated value, or the name of something that exists."""
    if not parameters:
        return st.just(parameters)
    choices = {k: st.sampled_from([v, *KNOWN.get(k, [])]) for k, v in parameters.items()}
    return st.fixed_dictionaries(choices)


@schema.hook
def flatmap_body(context, body):
    """A job's kind: the generated string, or a real kind (its config stays generated)."""
    if context.operation.path != "/api/jobs" or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body.get("kind"), *list_kinds()]).map(lambda k: {**body, "kind": k})


@schemathesis.check
def client_errors_say_why(_ctx, response, _case):
    """A 4xx answer is JSON with a non-empty `detail` (the UI shows it to people)."""
    if 400 <= response.status_code < 500:
        try:
            detail = response.json().get("detail")
        except Exception as err:
            raise AssertionError(f"{response.status_code} without a JSON body: {err}") from err
        if not detail:
            raise AssertionError(f"{response.status_code} without a detail: {response.text[:200]}")


@pytest.fixture(scope="module")
def fuzz_server(quickstart_copy):
    home = quickstart_copy("fuzz")
    # One job slot, and a 1 MB upload limit so that no big body is ever kept.
    server = Server(home, SEMVEC_JOB_SLOTS="1", SEMVEC_MAX_UPLOAD_MB="1").start()
    with server.client() as client:
        server.http = client
        yield server
        _cancel_active_jobs(client)
    server.stop()


def _cancel_active_jobs(client: httpx.Client) -> None:
    for state in ("queued", "running"):
        for job in client.get("/api/jobs", params={"state": state}).json()["data"]:
            client.delete(f"/api/jobs/{job['id']}")


def test_the_fuzzed_schema_is_the_served_one(fuzz_server):
    served = fuzz_server.http.get("/openapi.json").json()
    assert served["paths"] == schema.raw_schema["paths"]  # the page adds no /api path
    assert all(path.startswith("/api/") for path in served["paths"])
    # Every operation is fuzzed: a new route must change this count on purpose (45: the
    # POSTs that start a map, its clusters and a placement, beside their GETs; the
    # manual's contents, pages and pictures; the map's picture sheet, its index and the
    # POST that makes it; a job's estimate before it is submitted).
    assert len(list(schema.get_all_operations())) == 49


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="SEMVEC_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_every_api_operation_answers_generated_requests(fuzz_server, case):
    newest = _newest_job(fuzz_server.http)
    case.call_and_validate(
        base_url=fuzz_server.url,
        checks=[not_a_server_error, client_errors_say_why, response_schema_conformance],
        timeout=60,
    )
    if case.method == "GET":
        assert _newest_job(fuzz_server.http) == newest, "a GET started a job"
    else:
        _cancel_active_jobs(fuzz_server.http)


def _newest_job(client: httpx.Client) -> int | None:
    found = client.get("/api/jobs", params={"limit": 1}).json()["data"]
    return found[0]["id"] if found else None


# Bodies and files that used to take the server down (issue 12): bodies past their
# route's cap, declared or streamed, and torch files whose tensors expand once copied out.
OVERSIZED = [
    ("POST", "/api/jobs", "application/json", 64 * 2**10),
    ("POST", "/api/jobs/1/resume", "application/json", 64 * 2**10),
    ("DELETE", "/api/jobs/1", "application/json", 64 * 2**10),
    ("POST", "/api/checkpoints", "application/octet-stream", 2**20),
    ("POST", "/auth", "application/x-www-form-urlencoded", 64 * 2**10),
    ("POST", "/_dash-update-component", "application/json", 8 * 2**20),
]


@pytest.mark.parametrize(("method", "path", "kind", "cap"), OVERSIZED)
def test_bodies_past_their_cap_get_413_declared_or_streamed(fuzz_server, method, path, kind, cap):
    headers = {"Content-Type": kind, "Content-Length": str(cap + 1)}
    status, body = raw_request(fuzz_server.port, method, path, headers, b"x" * 1000)
    assert status == 413 and json.loads(body)["detail"]
    headers = {"Content-Type": kind, "Transfer-Encoding": "chunked"}
    status, body = raw_request(fuzz_server.port, method, path, headers, chunks=cap // 2**16 + 2)
    if path.startswith("/api/jobs/"):  # takes no body: it answers without reading one
        assert status < 500 and json.loads(body)
    else:  # cut off at the cap
        assert status == 413 and json.loads(body)["detail"]
    assert fuzz_server.http.get("/api/health").status_code == 200


@st.composite
def strided_views(draw):
    """A tensor as any view of a small storage: sizes, strides (0 and overlaps included)
    and an offset, some of them past the storage's end."""
    dims = draw(st.integers(1, 3))
    size = draw(st.lists(st.integers(0, 3000), min_size=dims, max_size=dims))
    stride = draw(st.lists(st.integers(0, 3000), min_size=dims, max_size=dims))
    return size, stride, draw(st.integers(0, 64)), draw(st.integers(1, 300))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="SEMVEC_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=list(HealthCheck),
)
@given(views=st.lists(strided_views(), min_size=1, max_size=4), deflate=st.booleans())
def test_torch_files_that_expand_are_refused_or_stored_within_the_limit(
    fuzz_server, views, deflate
):
    storage = torch.zeros(2**16)  # 256 KB; the limit is 1 MB
    state = {}
    for n, (size, stride, offset, copies) in enumerate(views):
        try:
            view = storage.as_strided(size, stride, offset)
        except RuntimeError:  # torch will not make a view past its storage either
            continue
        state |= {f"t{n}.{c}": view for c in range(copies)}
    if not state:
        return
    buf = io.BytesIO()
    torch.save(state, buf)
    content = buf.getvalue()
    if deflate:
        packed = io.BytesIO()
        with zipfile.ZipFile(buf) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
            for entry in src.infolist():
                out.writestr(entry.filename, src.read(entry))
        content = packed.getvalue()
    answer = fuzz_server.http.post(
        "/api/checkpoints",
        params={"filename": "fuzzed.pt"},
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code in (201, 413, 422), answer.text[:300]
    assert answer.json()["detail" if answer.status_code != 201 else "checkpoint"]
    if answer.status_code == 201:
        stored = fuzz_server.home / "uploads" / answer.json()["checkpoint"].rsplit("/", 1)[-1]
        assert stored.stat().st_size <= 2**20 + 2**16  # the limit, plus the header
        stored.unlink()
