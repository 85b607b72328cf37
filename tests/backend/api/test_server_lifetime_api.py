"""A data home has one server: a second one is refused and the first one's running job
goes on; a SIGKILLed server leaves no process behind, torchrun's ranks included."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.api.test_concurrency_api import TRAIN


def job_processes(home: Path) -> list[int]:
    """Pids of processes whose command line names this data home (workers, torchrun)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(home) in cmdline and "backend.jobs" in cmdline:
            found.append(int(entry.name))
    return found


def _wait_for_epochs(client, job_id: int, epochs: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while len(client.get(f"/api/jobs/{job_id}/metrics").json()["data"]) < epochs:
        job = client.get(f"/api/jobs/{job_id}").json()
        assert job["state"] in ("queued", "running"), job["error"]
        assert time.monotonic() < deadline, f"job {job_id} wrote no epoch in {timeout:.0f} s"
        time.sleep(0.2)


def test_a_second_server_or_runner_on_a_home_in_use_is_refused(tmp_path):
    env = {**os.environ, "SEMVEC_HOME": str(tmp_path)}
    with Server(tmp_path) as first, first.client() as client:
        config = TRAIN | {"epochs": 400, "name": "long"}
        job = client.post("/api/jobs", json={"kind": "train", "config": config}).json()
        _wait_for_epochs(client, job["id"], 1)
        for args in (["serve", "--port", "9"], ["jobs", "work"]):
            second = subprocess.run(
                [sys.executable, "-m", "backend.cli", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert second.returncode == 2, second.stdout + second.stderr
            assert "another semvec server" in second.stderr
            assert len(second.stderr.strip().splitlines()) == 1  # one line, no traceback
        running = client.get(f"/api/jobs/{job['id']}").json()
        assert running["state"] == "running" and running["error"] is None
        client.delete(f"/api/jobs/{job['id']}")
        assert wait_for_job(client, job["id"], {"cancelled"}, timeout=60)["state"] == "cancelled"


@pytest.mark.parametrize("when", ["starting", "training"])
def test_a_killed_server_leaves_no_torchrun_rank_behind(tmp_path, when):
    """Killed while the ranks start (importing, meeting at torchrun's store) or train."""
    server = Server(tmp_path).start()
    with server.client() as client:
        config = TRAIN | {"epochs": 400, "name": "ddp", "gpus": 2}
        job = client.post("/api/jobs", json={"kind": "train", "config": config})
        assert job.status_code == 201, job.text
        if when == "training":
            _wait_for_epochs(client, job.json()["id"], 1)
    deadline = time.monotonic() + 60
    while len(job_processes(tmp_path)) < 3:  # torchrun and its two ranks
        assert time.monotonic() < deadline, "torchrun's ranks never started"
        time.sleep(0.05)
    server.kill()
    deadline = time.monotonic() + 20
    while job_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = job_processes(tmp_path)
    for pid in left:  # leave the machine clean even when the test fails
        os.kill(pid, 9)
    assert not left, f"{len(left)} job processes outlived the server by 20 s"
