"""A disk that takes no more writes (here: a file-size limit of one byte set on the
server and its worker with prlimit, which fails every write as a full disk does): the
API answers 507/503 with a JSON detail, /api/health says what is wrong, and the job is
not left `running` without a worker: once the disk takes writes again its outcome is
recorded."""

import resource
import time

from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.api.test_concurrency_api import TRAIN
from tests.backend.api.test_server_lifetime_api import job_processes

JOB = {"kind": "train", "config": TRAIN | {"epochs": 400, "name": "full"}}


def _no_writes(pid: int) -> None:
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))


def _writes(pid: int) -> None:
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))


def test_a_full_disk_gives_clear_answers_and_no_job_is_lost(tmp_path):
    with Server(tmp_path) as server, server.client() as client:
        job = client.post("/api/jobs", json=JOB).json()
        deadline = time.monotonic() + 120
        while not client.get(f"/api/jobs/{job['id']}/metrics").json()["data"]:
            assert time.monotonic() < deadline, "the job wrote no epoch"
            time.sleep(0.1)
        _no_writes(server.proc.pid)
        for worker in job_processes(tmp_path):
            _no_writes(worker)  # its next progress or metrics write fails: the worker ends

        refused = client.post("/api/jobs", json=JOB)
        assert refused.status_code in (503, 507), refused.text  # SQLite: "I/O error" or "full"
        assert "cannot be used" in refused.json()["detail"]
        read = client.get(f"/api/jobs/{job['id']}")  # SQLite's reads need writes too
        assert read.status_code in (200, 503) and (read.status_code == 200 or read.json()["detail"])
        octets = {"Content-Type": "application/octet-stream"}
        upload = client.post("/api/checkpoints", content=b"\0" * 100_000, headers=octets)
        assert upload.status_code == 507 and "disk is full" in upload.json()["detail"]
        deadline = time.monotonic() + 60
        while (health := client.get("/api/health")).status_code == 200:
            assert time.monotonic() < deadline, "health never said the store is unwritable"
            time.sleep(0.5)
        assert health.status_code == 503
        assert health.json()["status"] == "degraded" and "cannot be used" in health.json()["store"]
        assert str(tmp_path) not in health.text  # no server paths

        _writes(server.proc.pid)
        ended = wait_for_job(client, job["id"], {"failed", "succeeded", "cancelled"}, timeout=60)
        assert ended["state"] == "failed" and ended["error"], ended
        assert client.get("/api/health").json()["status"] == "ok"
        assert client.post("/api/jobs/{}/resume".format(job["id"])).status_code == 200
        client.delete(f"/api/jobs/{job['id']}")
        assert wait_for_job(client, job["id"], {"cancelled", "failed"}, 60)["state"] == "cancelled"
