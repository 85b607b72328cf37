"""What a real server refuses on a request's head alone: bodies over their route's cap or
from a client without the token (never read), writes a page of another site made a
browser send, host names it is not bound to (DNS rebinding), uploads that are not raw
bytes; and the headers every answer carries."""

import json
import shutil

import httpx
import pytest

from tests.backend.api.conftest import Server
from tests.backend.api.rawhttp import raw_request

TOKEN = "guard-token-91c2e7"
GIB3 = 3 * 2**30
RUN, TWIN = "digits-default", "digits-twin"
# Maps the quickstart did not make: each would take a job.
UNCACHED_MAP = f"/api/runs/{RUN}/projection"
UNCACHED = {
    UNCACHED_MAP: {"method": "tsne", "perplexity": 9},
    f"/api/runs/{RUN}/clusters": {"method": "tsne", "perplexity": 9},
    f"/api/runs/{TWIN}/placement/{RUN}": {"method": "tsne", "perplexity": 9},
}
JOB = {"kind": "train", "config": {"epochs": 50, "device": "cpu", "analyze": False}}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("guard-token")
    srv = Server(home, "0.0.0.0", SEMVEC_TOKEN=TOKEN, SEMVEC_MAX_UPLOAD_MB="1").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def open_server(quickstart_copy):
    home = quickstart_copy("guard-open")
    # A second real run, to draw on digits-default's map (nothing placed there yet).
    shutil.copytree(home / "runs" / RUN, home / "runs" / TWIN)
    srv = Server(home, SEMVEC_JOB_SLOTS="1").start()
    yield srv
    srv.stop()


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def _detail(body: bytes) -> str:
    return json.loads(body)["detail"]


def test_huge_bodies_are_answered_from_their_head_without_being_read(token_server):
    """A body that declares 3 GiB and sends 1 KB: before this guard the server waited for
    (and would have held) the rest; now each is answered at once."""
    port, before = token_server.port, _rss_kb(token_server.proc.pid)
    big = {"Content-Length": str(GIB3), "Content-Type": "application/json"}
    status, body = raw_request(port, "POST", "/api/jobs", big, b"{" * 1024)
    assert status == 401 and "Authorization: Bearer" in _detail(body)  # no token: never read
    auth = {**big, "Authorization": f"Bearer {TOKEN}"}
    status, body = raw_request(port, "POST", "/api/jobs", auth, b"{" * 1024)
    assert status == 413 and "64 KB" in _detail(body)
    octets = {**auth, "Content-Type": "application/octet-stream"}
    status, body = raw_request(port, "POST", "/api/checkpoints", octets, b"\0" * 1024)
    assert status == 413 and "1 MB" in _detail(body)
    form = {"Content-Length": str(GIB3), "Content-Type": "application/x-www-form-urlencoded"}
    status, body = raw_request(port, "POST", "/auth", form, b"token=" + b"a" * 1024)
    assert status == 413
    status, body = raw_request(port, "POST", "/_dash-update-component", big, b"[" * 1024)
    assert status == 413 and "8 MB" in _detail(body)
    # A chunked body declares nothing: it is cut off once past the cap (64 KB here).
    chunked = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    chunked["Authorization"] = f"Bearer {TOKEN}"
    status, body = raw_request(port, "POST", "/api/jobs", chunked, chunks=200)
    assert status == 413 and "64 KB" in _detail(body)
    assert _rss_kb(token_server.proc.pid) - before < 100_000  # nothing big was kept
    with token_server.client() as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/jobs").json()["count"] == 0
        fine = client.post("/api/jobs", json=JOB, headers={"Authorization": f"Bearer {TOKEN}"})
        assert fine.status_code == 201  # a normal write still goes through
        client.delete(
            f"/api/jobs/{fine.json()['id']}", headers={"Authorization": f"Bearer {TOKEN}"}
        )


def test_writes_a_page_of_another_site_sends_are_refused(open_server):
    """Without a token the server takes writes from this machine; a browser on it that
    opens a page of another site must not become that site's way in."""
    evil = {"Origin": "http://evil.example"}
    cross = {"Sec-Fetch-Site": "cross-site"}
    with open_server.client() as client:
        for headers in (evil, cross, {"Origin": "null"}):
            answer = client.post("/api/jobs", json=JOB, headers=headers)
            assert answer.status_code == 403 and "another site" in answer.json()["detail"]
        job = client.post("/api/jobs", json=JOB).json()  # no Origin: an API client
        assert client.delete(f"/api/jobs/{job['id']}", headers=evil).status_code == 403
        assert client.delete(f"/api/jobs/{job['id']}").status_code == 200
        resumed = client.post(f"/api/jobs/{job['id']}/resume", headers=cross)
        assert resumed.status_code == 403 and "another site" in resumed.json()["detail"]
        same = {"Origin": open_server.url, "Sec-Fetch-Site": "same-origin"}
        assert client.get("/api/access", headers=same).json()["can_write"] is True
        # A `no-cors` upload can only be text/plain, a form or multipart: raw bytes only.
        upload = client.post(
            "/api/checkpoints", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert upload.status_code == 415 and "octet-stream" in upload.json()["detail"]
        assert client.get("/api/jobs").json()["count"] == 1  # only the API client's job
        assert not (open_server.home / "uploads").exists() or not list(
            (open_server.home / "uploads").iterdir()
        )


def test_a_get_never_starts_a_job_whoever_sends_it(open_server):
    """An `<img src>` on a page of another site makes the browser send a GET with no
    `Origin` (and, from an older browser, no `Sec-Fetch-Site`): before this fix a map not
    made yet was started by it. A GET only reads now: 409, naming the POST to call."""
    with open_server.client() as client:
        before = client.get("/api/jobs").json()
        for headers in ({}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "none"}):
            for path, params in UNCACHED.items():
                answer = client.get(path, params=params, headers=headers)
                assert answer.status_code == 409, (path, headers, answer.text)
                body = answer.json()
                assert f"POST {path}" in body["detail"] and body["job_id"] is None
        assert client.get("/api/jobs").json() == before
        assert not list((open_server.home / "runs" / TWIN).glob("placements/*"))


def test_a_map_is_started_by_a_post_from_this_site_or_an_api_client(open_server):
    """The POST that starts a map is a write like any other: another site's page gets a
    403, bad parameters a 422 (neither starts a job), good ones a 202 with the job, one
    job per map; the GET then names that job."""
    evil, cross = {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}
    with open_server.client() as client:
        before = client.get("/api/jobs").json()
        for path, params in UNCACHED.items():
            for headers in (evil, cross, {"Origin": "null"}):
                answer = client.post(path, params=params, headers=headers)
                assert answer.status_code == 403 and "another site" in answer.json()["detail"]
            for bad, words in (({"method": "mds"}, "'umap'"), ({"n_neighbors": 1}, "2")):
                answer = client.post(path, params=params | bad)
                assert answer.status_code == 422 and words in answer.json()["detail"], bad
        too_wide = client.post(UNCACHED_MAP, params={"method": "tsne", "perplexity": 234})
        assert too_wide.status_code == 422 and "below 234" in too_wide.json()["detail"]
        assert client.get("/api/jobs").json() == before

        # The one job slot is busy, so the jobs started below stay queued while looked at.
        busy = client.post("/api/jobs", json=JOB).json()["id"]
        same = {"Origin": open_server.url, "Sec-Fetch-Site": "same-origin"}
        started = {}
        for path, params in UNCACHED.items():
            answer = client.post(path, params=params, headers=same)
            assert answer.status_code == 202, answer.text
            started[path] = answer.json()["job_id"]
            assert client.get(path, params=params).json()["job_id"] == started[path]
        # One `project` job makes the map and its clusters, and is the placement's first
        # need; the placement's POST queued the matching too.
        assert len(set(started.values())) == 1
        assert client.get(f"/api/jobs/{started[UNCACHED_MAP]}").json()["kind"] == "project"
        place = client.get("/api/jobs", params={"kind": "place"}).json()["data"]
        assert [(j["state"], j["config"]) for j in place] == [
            ("queued", {"student": TWIN, "teacher": RUN, "device": "auto"})
        ]
        assert answer.json()["detail"] == (
            f"making the tsne map of {RUN} (job {started[UNCACHED_MAP]}) and the matching of "
            f"{TWIN} to {RUN} (job {place[0]['id']}): poll the job, then ask again"
        )
        for job_id in {busy, *started.values(), place[0]["id"]}:
            assert client.delete(f"/api/jobs/{job_id}").status_code == 200


def test_a_token_server_starts_no_map_without_the_token(token_server):
    with token_server.client() as client:
        before = client.get("/api/jobs").json()
        for path, params in UNCACHED.items():
            answer = client.post(path, params=params)
            assert answer.status_code == 401 and "Bearer" in answer.json()["detail"], path
        assert client.get("/api/jobs").json() == before


def test_a_server_without_a_token_answers_only_its_own_host_names(open_server):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends
    `Host: evil.example`; it must not read or write."""
    with httpx.Client(base_url=open_server.url, timeout=30) as client:
        for host in ("evil.example", "evil.example:80", "192.168.1.5"):
            answer = client.get("/api/runs", headers={"Host": host})
            assert answer.status_code == 421 and "SEMVEC_ALLOWED_HOSTS" in answer.json()["detail"]
            assert client.get("/", headers={"Host": host}).status_code == 421
        for host in (f"localhost:{open_server.port}", f"127.0.0.1:{open_server.port}", "[::1]"):
            assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_a_server_with_a_token_answers_any_host_name(token_server):
    with httpx.Client(base_url=token_server.url, timeout=30) as client:
        assert client.get("/api/health", headers={"Host": "semvec.example"}).status_code == 200


def test_every_answer_forbids_framing_and_sniffing(open_server):
    with open_server.client() as client:
        for path in ("/", "/api/health", "/docs", "/api/nope"):
            headers = client.get(path).headers
            assert headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"


def test_the_pages_callback_errors_are_json_with_a_detail(open_server):
    with open_server.client() as client:
        for body in (b"not json", b"{}", b'{"output": "x.y", "inputs": 5}'):
            answer = client.post(
                "/_dash-update-component",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert answer.status_code >= 400
            assert answer.headers["content-type"] == "application/json", answer.text[:300]
            assert answer.json()["detail"]
