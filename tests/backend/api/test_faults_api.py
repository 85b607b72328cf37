"""The server killed while two jobs run (and one waits): after a restart both running jobs
are `interrupted` and resume to the end with every epoch once; the waiting one just runs."""

import sqlite3
import time

from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.api.test_concurrency_api import TRAIN

EPOCHS = 40  # ~0.1 s each: the kill lands well inside both jobs


def test_server_killed_during_two_running_jobs_both_resume(tmp_path):
    first = Server(tmp_path, SEMVEC_JOB_SLOTS="2").start()
    with first.client() as client:
        configs = [TRAIN | {"epochs": EPOCHS, "name": f"k{i}", "seed": i} for i in range(3)]
        ids = [
            client.post("/api/jobs", json={"kind": "train", "config": config}).json()["id"]
            for config in configs
        ]
        running, waiting = ids[:2], ids[2]
        # Kill once both have written some epochs but neither has finished.
        both = ",".join(map(str, running))
        deadline = time.monotonic() + 180
        while True:
            rows = client.get("/api/jobs/metrics", params={"ids": both}).json()["data"]
            done = [len(rows[str(job_id)]) for job_id in running]
            if min(done) >= 3:
                break
            assert max(done) < EPOCHS, "a job finished before the server was killed"
            assert time.monotonic() < deadline, f"epochs after 180 s: {done}"
            time.sleep(0.1)
        assert client.get(f"/api/jobs/{waiting}").json()["state"] == "queued"
    first.kill()
    # Where the kill lands between an epoch's checkpoint and its metrics row, the row is
    # lost (1 run in ~8 before resume wrote them again): make that happen every time.
    with sqlite3.connect(tmp_path / "jobs.db") as db:
        db.execute("DELETE FROM metrics WHERE job_id = ? AND epoch = 2", (running[0],))

    with Server(tmp_path, SEMVEC_JOB_SLOTS="3") as second, second.client() as client:
        for job_id in running:
            job = client.get(f"/api/jobs/{job_id}").json()
            assert job["state"] == "interrupted" and "server stopped" in job["error"]
            assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
        for job_id in ids:
            job = wait_for_job(client, job_id, {"succeeded", "failed"})
            assert job["state"] == "succeeded", job["error"]
            rows = client.get(f"/api/jobs/{job_id}/metrics").json()["data"]
            assert [row["epoch"] for row in rows] == list(range(1, EPOCHS + 1))
            assert job["attempts"] == (2 if job_id in running else 1)
        names = sorted(run["id"] for run in client.get("/api/runs").json()["data"])
        assert names == ["k0", "k1", "k2"]
