"""Access: reads are open; starting, cancelling and uploading need SEMVEC_TOKEN when the
server has one, and `semvec serve` on a non-loopback host refuses to start without one."""

import asyncio
import os
import subprocess
import sys

import httpx
import pytest

from app import api_client
from backend.api.app import create_app
from tests.backend.api.conftest import Server, wait_for_job

TOKEN = "test-token-4f7d9c1b2a"
JOB = {"kind": "train", "config": {"epochs": 50, "device": "cpu", "analyze": False}}
ENDED = {"cancelled", "failed", "succeeded"}


@pytest.fixture(scope="module")
def token_server(quickstart_copy):
    home = quickstart_copy("token")
    server = Server(home, "0.0.0.0", SEMVEC_TOKEN=TOKEN, SEMVEC_JOB_SLOTS="1").start()
    yield server
    server.stop()


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _cancel(client: httpx.Client, job_id: int, headers: dict | None = None) -> None:
    """Cancel and wait until it has stopped (a job already running takes a moment)."""
    assert client.delete(f"/api/jobs/{job_id}", headers=headers).status_code == 200
    assert wait_for_job(client, job_id, ENDED, timeout=30)["state"] == "cancelled"


def test_loopback_server_takes_writes_without_a_token(server):
    with server.client() as client:
        created = client.post("/api/jobs", json=JOB)
        assert created.status_code == 201, created.text
        _cancel(client, created.json()["id"])
        resumed = client.post(f"/api/jobs/{created.json()['id']}/resume")
        # The write was taken: the job is back in the queue (or the runner took it already).
        assert resumed.status_code == 200 and resumed.json()["state"] in ("queued", "running")
        _cancel(client, created.json()["id"])
        octets = {"Content-Type": "application/octet-stream"}
        empty = client.post("/api/checkpoints", content=b"", headers=octets)
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def test_other_host_without_a_token_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SEMVEC_TOKEN"}
    for host in ("0.0.0.0", "::"):
        done = subprocess.run(
            [sys.executable, "-m", "backend.cli", "serve", "--host", host, "--port", "9"],
            env=env | {"SEMVEC_HOME": str(tmp_path), "SEMVEC_TOKEN": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert f"--host {host}" in done.stderr and "set SEMVEC_TOKEN" in done.stderr
    assert not (tmp_path / "jobs.db").exists()  # refused before anything was opened


def test_token_server_reads_are_open_writes_need_the_token(token_server):
    with token_server.client() as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/runs/digits-default").status_code == 200
        assert client.get("/api/jobs").status_code == 200
        cached = client.get("/api/runs/digits-default/projection", params={"method": "pca"})
        assert cached.status_code == 200  # a cached map is a read

        missing = client.post("/api/jobs", json=JOB)
        assert missing.status_code == 401
        assert "Authorization: Bearer <SEMVEC_TOKEN>" in missing.json()["detail"]
        assert missing.headers["WWW-Authenticate"] == "Bearer"
        wrong = client.post("/api/jobs", json=JOB, headers=_auth(TOKEN + "x"))
        assert wrong.status_code == 401 and "wrong token" in wrong.json()["detail"]
        basic = client.post("/api/jobs", json=JOB, headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert client.get("/api/jobs").json()["count"] == 0  # nothing was started

        created = client.post("/api/jobs", json=JOB, headers=_auth(TOKEN))
        assert created.status_code == 201, created.text
        job = created.json()["id"]
        assert client.delete(f"/api/jobs/{job}").status_code == 401
        _cancel(client, job, _auth(TOKEN))
        assert client.post(f"/api/jobs/{job}/resume").status_code == 401
        assert client.post(f"/api/jobs/{job}/resume", headers=_auth(TOKEN)).status_code == 200
        _cancel(client, job, _auth(TOKEN))

        octets = {"Content-Type": "application/octet-stream"}
        upload = client.post("/api/checkpoints", content=b"\0" * 1000, headers=octets)
        assert upload.status_code == 401
        assert not (token_server.home / "uploads").exists()  # refused before reading it

        # A map that is not cached yet is started by a POST: that needs the token too.
        params = {"method": "tsne", "perplexity": 7}
        uncached = client.get("/api/runs/digits-default/projection", params=params)
        assert uncached.status_code == 409  # a read: it says so, and starts nothing
        refused = client.post("/api/runs/digits-default/projection", params=params)
        assert refused.status_code == 401 and "Authorization: Bearer" in refused.json()["detail"]
        assert client.get("/api/jobs").json()["count"] == 1  # the train job above only
        started = client.post(
            "/api/runs/digits-default/projection", params=params, headers=_auth(TOKEN)
        )
        assert started.status_code == 202
        _cancel(client, started.json()["job_id"], _auth(TOKEN))


def test_front_end_client_acts_for_its_caller_never_with_the_servers_token(
    token_server, monkeypatch
):
    """app/api_client (what the Dash page calls) sends the token of the caller it acts for
    (set per browser request from the sign-in cookie), never SEMVEC_TOKEN from the
    environment: otherwise anyone reaching the page could write."""

    async def start_and_cancel(caller: api_client.Caller | None) -> int:
        api_client.connect(base_url=token_server.url)
        reset = api_client.caller.set(caller)
        try:
            _, job = await api_client.request("POST", "/api/jobs", json=JOB)
            await api_client.request("DELETE", f"/api/jobs/{job['id']}")
            return job["id"]
        finally:
            api_client.caller.reset(reset)
            await api_client._client.aclose()

    monkeypatch.setattr(api_client, "_client", None)  # restored afterwards
    monkeypatch.setenv("SEMVEC_TOKEN", TOKEN)  # the server's, in this process too
    for signed_out in (None, api_client.Caller(), api_client.Caller(token=TOKEN + "x")):
        with pytest.raises(api_client.ApiError) as refused:
            asyncio.run(start_and_cancel(signed_out))
        assert refused.value.status == 401

    job_id = asyncio.run(start_and_cancel(api_client.Caller(token=TOKEN)))
    with token_server.client() as client:  # the DELETE above, sent with the caller's token
        assert wait_for_job(client, job_id, ENDED, timeout=30)["state"] == "cancelled"


def test_writes_from_another_machine_need_a_token_even_without_one_set(tmp_path, monkeypatch):
    """Served some other way than `semvec serve` (plain uvicorn on 0.0.0.0) and with no token,
    the app still takes writes only from this machine. The client address is set on an
    in-process transport: no traffic leaves the machine."""
    monkeypatch.setenv("SEMVEC_HOME", str(tmp_path))
    monkeypatch.delenv("SEMVEC_TOKEN", raising=False)
    app = create_app()

    async def post_from(*addresses) -> list[httpx.Response]:
        answers = []
        async with app.router.lifespan_context(app):  # the runner, as when served
            for address in addresses:
                transport = httpx.ASGITransport(app=app, client=address)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://localhost"
                ) as client:
                    answers.append(await client.post("/api/jobs", json={"kind": "bake"}))
        return answers

    remote, local = asyncio.run(post_from(("192.0.2.7", 50000), ("127.0.0.1", 50000)))
    assert remote.status_code == 401 and "own machine" in remote.json()["detail"]
    assert local.status_code == 422  # past the guard: the unknown kind is what is wrong


def test_front_end_client_in_process_passes_on_the_browsers_address(tmp_path, monkeypatch):
    """In `semvec serve` the page calls the API in-process; the API's loopback rule must still
    see the browser's address, not this machine's."""
    monkeypatch.setenv("SEMVEC_HOME", str(tmp_path))
    monkeypatch.delenv("SEMVEC_TOKEN", raising=False)
    monkeypatch.setattr(api_client, "_client", None)  # restored afterwards
    app = create_app()
    api_client.connect(asgi_app=app)

    async def post_as(*callers) -> list[int]:
        statuses = []
        async with app.router.lifespan_context(app):
            for caller in callers:
                reset = api_client.caller.set(caller)
                try:
                    await api_client.request("POST", "/api/jobs", json={"kind": "bake"})
                except api_client.ApiError as err:
                    statuses.append(err.status)
                finally:
                    api_client.caller.reset(reset)
        await api_client._client.aclose()
        return statuses

    remote = api_client.Caller(client=("192.0.2.7", 50000))
    local = api_client.Caller(client=("127.0.0.1", 50000))
    assert asyncio.run(post_as(remote, local, None)) == [401, 422, 422]
