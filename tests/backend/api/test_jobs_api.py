"""The jobs API against a real server, real workers and a real SQLite file."""

import time

import pytest

from tests.backend.api.conftest import Server, wait_for_job

TRAIN = {"epochs": 2, "device": "cpu", "align": {"steps": 20}, "analyze": False}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"kind": "bake", "config": {}}, ["unknown job kind 'bake'", "train"]),
        (
            {"kind": "train", "config": {"arch": "vgg99"}},
            ["unknown architecture 'vgg99'", "resnet20"],
        ),
        (
            {"kind": "train", "config": {"data": {"name": "svhn"}}},
            ["unknown dataset 'svhn'", "digits"],
        ),
        ({"kind": "train", "config": {"epochs": 0}}, ["epochs", "greater than or equal to 1"]),
        ({"kind": "analyze", "config": {"run": "nope"}}, ["no run named 'nope'"]),
        ({"kind": "project", "config": {"run": "x", "method": "mds"}}, ["method"]),
        ({"config": {}}, ["kind", "Field required"]),
    ],
)
def test_bad_jobs_get_422_saying_what_is_wrong(server, body, says):
    with server.client() as client:
        response = client.post("/api/jobs", json=body)
    assert response.status_code == 422
    for text in says:
        assert text in response.json()["detail"]


def test_unknown_job_is_404_and_health_is_up(server):
    with server.client() as client:
        assert client.get("/api/jobs/999").status_code == 404
        assert "no job with id 999" in client.get("/api/jobs/999").json()["detail"]
        assert client.delete("/api/jobs/999").status_code == 404
        health = client.get("/api/health").json()
        assert health["status"] == "ok" and health["job_slots"] >= 1


def test_train_job_through_the_api(server):
    with server.client() as client:
        created = client.post("/api/jobs", json={"kind": "train", "config": TRAIN})
        assert created.status_code == 201
        job = wait_for_job(client, created.json()["id"], {"succeeded", "failed"})
        assert job["state"] == "succeeded", job["error"]
        metrics = client.get(f"/api/jobs/{job['id']}/metrics").json()
        assert [m["epoch"] for m in metrics["data"]] == [1, 2]
        assert all(0 <= m["val_accuracy"] <= 1 for m in metrics["data"])
        many = client.get("/api/jobs/metrics", params={"ids": f"{job['id']},9999"}).json()
        assert many["data"] == {str(job["id"]): metrics["data"], "9999": []}
        assert client.get("/api/jobs/metrics", params={"ids": "1;DROP"}).status_code == 422
        listed = client.get("/api/jobs", params={"state": "succeeded", "kind": "train"}).json()
        assert [j["id"] for j in listed["data"]] == [job["id"]]
        assert any(
            "quality on held-out data" in line
            for line in client.get(f"/api/jobs/{job['id']}/log").json()["lines"]
        )


def test_cancel_through_the_api(server):
    with server.client() as client:
        job = client.post("/api/jobs", json={"kind": "train", "config": TRAIN | {"epochs": 300}})
        job_id = job.json()["id"]
        wait_for_job(client, job_id, {"running"})
        time.sleep(1.0)
        asked = time.monotonic()
        assert client.delete(f"/api/jobs/{job_id}").status_code == 200
        done = wait_for_job(client, job_id, {"cancelled", "failed", "succeeded"})
        assert done["state"] == "cancelled" and time.monotonic() - asked < 5
        assert client.delete(f"/api/jobs/{job_id}").status_code == 422  # already ended


def test_server_killed_during_training_then_resumed(tmp_path):
    first = Server(tmp_path).start()
    with first.client() as client:
        job_id = client.post(
            "/api/jobs", json={"kind": "train", "config": TRAIN | {"epochs": 8, "name": "r"}}
        ).json()["id"]
        while len(client.get(f"/api/jobs/{job_id}/metrics").json()["data"]) < 3:
            time.sleep(0.2)
    first.kill()
    second = Server(tmp_path).start()
    try:
        with second.client() as client:
            job = client.get(f"/api/jobs/{job_id}").json()
            assert job["state"] == "interrupted" and "server stopped" in job["error"]
            assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
            job = wait_for_job(client, job_id, {"succeeded", "failed"})
            assert job["state"] == "succeeded", job["error"]
            epochs = [m["epoch"] for m in client.get(f"/api/jobs/{job_id}/metrics").json()["data"]]
            assert epochs == list(range(1, 9))
            assert job["run_id"] == "r" and job["attempts"] == 2
    finally:
        second.stop()


def test_worker_killed_the_server_stays_up_and_the_slot_is_freed(server):
    import os
    import signal

    from backend.jobs.store import JobStore

    with server.client() as client:
        long_id = client.post(
            "/api/jobs", json={"kind": "train", "config": TRAIN | {"epochs": 300}}
        ).json()["id"]
        next_id = client.post("/api/jobs", json={"kind": "train", "config": TRAIN}).json()["id"]
        wait_for_job(client, long_id, {"running"})
        time.sleep(0.5)
        pid = JobStore(server.home / "jobs.db").get(long_id).worker_pid
        os.kill(pid, signal.SIGKILL)
        dead = wait_for_job(client, long_id, {"failed"})
        assert "killed by signal SIGKILL" in dead["error"]
        assert client.get("/api/health").json()["status"] == "ok"
        assert wait_for_job(client, next_id, {"succeeded", "failed"})["state"] == "succeeded"
