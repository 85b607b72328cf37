"""What a real server refuses on a request's head alone: bodies over their route's cap or
from a client without the token (never read), writes a page of another site made a
browser send, host names it is not bound to (DNS rebinding), uploads that are not raw
bytes; and the headers every answer carries."""

import json

import httpx
import pytest

from tests.backend.api.conftest import Server
from tests.backend.api.rawhttp import raw_request

TOKEN = "guard-token-91c2e7"
GIB3 = 3 * 2**30
JOB = {"kind": "train", "config": {"epochs": 50, "device": "cpu", "analyze": False}}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("guard-token")
    srv = Server(home, "0.0.0.0", SEMVEC_TOKEN=TOKEN, SEMVEC_MAX_UPLOAD_MB="1").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("guard-open"), SEMVEC_JOB_SLOTS="1").start()
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
        uncached = client.get("/api/runs/nope/projection", params={"method": "pca"}, headers=cross)
        assert uncached.status_code in (403, 404)
        job = client.post("/api/jobs", json=JOB).json()  # no Origin: an API client
        assert client.delete(f"/api/jobs/{job['id']}", headers=evil).status_code == 403
        assert client.delete(f"/api/jobs/{job['id']}").status_code == 200
        resumed = client.post(f"/api/jobs/{job['id']}/resume", headers=cross)
        assert resumed.status_code in (403, 422)  # never requeued by another site
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
