"""A map whose job fails is not started again by polling: the GET's 409 names the failed
job and its reason until a POST (the user's retry) starts a new one. Real server, real
`project` jobs on the quickstart run: one fails inside its worker, one's worker is killed."""

import os
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.backend.api.conftest import Server, block_map, wait_for_job

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


def test_posts_of_one_map_at_the_same_moment_share_one_job(client):
    """The map and its clusters are asked for by two callbacks of the page at once."""
    params = {"method": "umap", "n_neighbors": 11}
    barrier = threading.Barrier(8)

    def post(path: str) -> int:
        barrier.wait()
        return client.post(f"{RUN}/{path}", params=params).json()["job_id"]

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(post, ["projection", "clusters"] * 4))
    assert len(ids) == 1, ids
    config = {"run": "digits-default", "method": "umap", "params": {"n_neighbors": 11}}
    same = [j for j in client.get("/api/jobs").json()["data"] if j["config"] == config]
    assert [j["id"] for j in same] == list(ids)


def test_a_placement_on_a_failed_teacher_map_names_that_failure(client, home):
    config = {"arch": "digits_cnn_small", "epochs": 1, "name": "student", "device": "cpu"}
    trained = client.post(
        "/api/jobs", json={"kind": "train", "config": config | {"analyze": False}}
    )
    assert wait_for_job(client, trained.json()["id"], FINAL)["state"] == "succeeded"
    block_map(home, "tsne", {"perplexity": 5})
    url, query = "/api/runs/student/placement/digits-default", {"method": "tsne", "perplexity": 5}
    started = client.post(url, params=query).json()
    map_job = wait_for_job(client, started["job_id"], FINAL)  # the first one: the map's
    assert map_job["kind"] == "project" and map_job["state"] == "failed"
    for job in client.get("/api/jobs", params={"kind": "place"}).json()["data"]:
        wait_for_job(client, job["id"], FINAL)
    jobs = client.get("/api/jobs").json()["count"]
    for _ in range(4):
        body = client.get(url, params=query).json()
        assert body["job_id"] is None and body["failed"]["job_id"] == map_job["id"]
        assert "the tsne map of digits-default" in body["detail"]
        time.sleep(0.5)
    assert client.get("/api/jobs").json()["count"] == jobs
