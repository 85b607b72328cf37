"""A map whose job fails is not started again by polling: the GET's 409 names the failed
job and its reason until a POST (the user's retry) starts a new one. Real server, real
`project` jobs on the quickstart run: one fails inside its worker, one's worker is killed."""

import os
import signal
import sqlite3
import time

import pytest

from tests.backend.api.conftest import Server, wait_for_job

FINAL = {"succeeded", "failed", "cancelled", "interrupted"}
RUN = "/api/runs/digits-default"
TSNE = {"method": "tsne", "perplexity": 7}


@pytest.fixture(scope="module")
def home(quickstart_copy):
    return quickstart_copy("failed-maps")


@pytest.fixture(scope="module")
def client(home):
    server = Server(home).start()
    with server.client() as c:
        yield c
    server.stop()


def block_map(home, method: str, params: dict):
    """Put a folder where the map's cache entry is written: its job computes the map, then
    fails in the worker writing it (IsADirectoryError). Returns that folder."""
    from backend.projection import ProjectionCache
    from backend.runs.store import RunStore

    run = RunStore(home).open("digits-default")
    cache = ProjectionCache(run.projections_dir)
    blocker = cache.path_for(run.vectors().numpy(), method, params).with_suffix(".json")
    (blocker / "in-the-way").mkdir(parents=True)
    return blocker


def project_jobs(client) -> list[int]:
    return [job["id"] for job in client.get("/api/jobs", params={"kind": "project"}).json()["data"]]


def test_a_failed_map_is_reported_by_the_get_until_a_post_tries_again(client, home):
    blocker = block_map(home, "tsne", {"perplexity": 7})
    missing = client.get(f"{RUN}/projection", params=TSNE).json()
    assert missing["job_id"] is None and missing["failed"] is None  # never tried yet
    first = client.post(f"{RUN}/projection", params=TSNE).json()["job_id"]
    job = wait_for_job(client, first, FINAL)
    assert job["state"] == "failed" and "Is a directory" in job["error"], job["error"]

    jobs = project_jobs(client)
    for _ in range(8):  # a page polling the GET: it reads, it never starts a job
        got = client.get(f"{RUN}/projection", params=TSNE)
        assert got.status_code == 409
        body = got.json()
        assert body["job_id"] is None and body["failed"]["job_id"] == first
        assert body["failed"]["error"].startswith("IsADirectoryError: [Errno 21] Is a directory")
        assert str(home) not in got.text and "$SEMVEC_HOME" in got.text
        assert f"job {first} failed" in body["detail"] and "tries again" in body["detail"]
        time.sleep(0.5)
    clusters = client.get(f"{RUN}/clusters", params=TSNE).json()  # made by the same job
    assert clusters["failed"]["job_id"] == first and "clustering" in clusters["detail"]
    assert project_jobs(client) == jobs
    other = client.get(f"{RUN}/projection", params={"method": "tsne", "perplexity": 8}).json()
    assert other["failed"] is None  # exactly that map's jobs count

    second = client.post(f"{RUN}/projection", params=TSNE).json()["job_id"]  # the retry
    assert second != first
    assert wait_for_job(client, second, FINAL)["state"] == "failed"
    assert client.get(f"{RUN}/projection", params=TSNE).json()["failed"]["job_id"] == second

    (blocker / "in-the-way").rmdir()
    blocker.rmdir()
    third = client.post(f"{RUN}/projection", params=TSNE).json()["job_id"]
    assert wait_for_job(client, third, FINAL)["state"] == "succeeded"
    made = client.get(f"{RUN}/projection", params=TSNE)
    assert made.status_code == 200 and len(made.json()["x"]) == 234


def test_a_killed_map_worker_is_reported_with_its_signal(client, home):
    params = {"method": "umap", "n_neighbors": 9}
    job_id = client.post(f"{RUN}/projection", params=params).json()["job_id"]
    deadline = time.monotonic() + 60
    pid = None
    while pid is None and time.monotonic() < deadline:
        with sqlite3.connect(home / "jobs.db") as db:
            (pid,) = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)  # while it still imports: long before the map is made
    assert wait_for_job(client, job_id, FINAL)["state"] == "failed"
    body = client.get(f"{RUN}/projection", params=params).json()
    assert body["failed"] == {
        "job_id": job_id,
        "error": "the worker process died (killed by signal SIGKILL)",
    }
