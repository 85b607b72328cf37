"""Four jobs writing metrics at once while the UI polls: no lock errors, no lost epoch."""

import sqlite3
import threading

import httpx

from tests.backend.api.conftest import Server, wait_for_job

EPOCHS = 30
# Small and quick (~0.1 s an epoch): four workers writing to jobs.db at the same moments.
TRAIN = {
    "arch": "digits_cnn_small",
    "epochs": EPOCHS,
    "batch_size": 256,
    "device": "cpu",
    "amp": False,
    "align": {"steps": 10},
    "analyze": False,
}


class Poller(threading.Thread):
    """What the page does while jobs run: the jobs table, the live charts, the runs list."""

    def __init__(self, url: str, job_ids: list[int]):
        super().__init__(daemon=True)
        self.url, self.job_ids = url, job_ids
        self.stop = threading.Event()
        self.polls, self.most_running, self.problems = 0, 0, []

    def run(self) -> None:
        ids = ",".join(map(str, self.job_ids))
        paths = ["/api/jobs", f"/api/jobs/metrics?ids={ids}", "/api/runs", "/api/health"]
        paths += [f"/api/jobs/{self.job_ids[0]}/log"]
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set() and self.polls < 5000:  # bounded, whatever happens
                for path in paths:
                    try:
                        response = client.get(path)
                    except httpx.HTTPError as err:
                        self.problems.append(f"{path}: {err!r}")
                        continue
                    if response.status_code != 200:
                        self.problems.append(f"{path}: {response.status_code} {response.text}")
                    elif path == "/api/jobs":
                        states = [j["state"] for j in response.json()["data"]]
                        self.most_running = max(self.most_running, states.count("running"))
                self.polls += 1


def test_four_jobs_write_metrics_while_the_ui_polls(tmp_path):
    with Server(tmp_path, SEMVEC_JOB_SLOTS="4") as server, server.client() as client:
        job_ids = []
        for seed in range(4):
            config = TRAIN | {"seed": seed, "name": f"together-{seed}"}
            created = client.post("/api/jobs", json={"kind": "train", "config": config})
            assert created.status_code == 201, created.text
            job_ids.append(created.json()["id"])
        poller = Poller(server.url, job_ids)
        poller.start()
        ended = {"succeeded", "failed", "cancelled", "interrupted"}
        jobs = [wait_for_job(client, job_id, ended, timeout=300) for job_id in job_ids]
        poller.stop.set()
        poller.join(timeout=30)
        metrics = client.get("/api/jobs/metrics", params={"ids": ",".join(map(str, job_ids))})
        runs = client.get("/api/runs").json()

    assert [job["state"] for job in jobs] == ["succeeded"] * 4, [job["error"] for job in jobs]
    assert poller.most_running == 4  # the four really ran at the same time
    assert poller.problems == [] and poller.polls >= 10
    for job_id in job_ids:
        assert [row["epoch"] for row in metrics.json()["data"][str(job_id)]] == list(
            range(1, EPOCHS + 1)
        )
    with sqlite3.connect(tmp_path / "jobs.db") as db:  # the rows themselves, one per epoch
        counts = dict(db.execute("SELECT job_id, COUNT(*) FROM metrics GROUP BY job_id"))
    assert counts == {job_id: EPOCHS for job_id in job_ids}
    assert sorted(run["id"] for run in runs["data"]) == [f"together-{s}" for s in range(4)]
    logs = " ".join(p.read_text() for p in tmp_path.glob("**/*.log"))
    assert "database is locked" not in logs
