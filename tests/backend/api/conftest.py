"""A real uvicorn server (`semvec serve`) in a subprocess, with its own data home."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`semvec serve` on a free port; `host` other than loopback is passed as `--host`
    (the tests still reach it at 127.0.0.1). `options`: more of serve's options, e.g.
    `("--access-log",)`. `env`: extra environment, e.g. SEMVEC_TOKEN."""

    def __init__(self, home, host: str = "127.0.0.1", options: tuple[str, ...] = (), **env):
        self.home, self.host, self.port, self.proc = home, host, _free_port(), None
        self.env, self.options = env, options
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        env = {**os.environ, "SEMVEC_HOME": str(self.home), "OMP_NUM_THREADS": "1", **self.env}
        self.log_path = self.home / f"server-{time.time():.0f}.log"
        args = ["serve", "--host", self.host, "--port", str(self.port), *self.options]
        with self.log_path.open("ab") as log:  # the server has its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"server did not start; its log ends:\n{tail}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path).start()
    yield srv
    srv.stop()


def wait_for_job(client, job_id: int, states, timeout: float = 240) -> dict:
    """The job once its state is one of `states` (fails the test after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {job['state']} after {timeout:.0f} s")
        time.sleep(0.2)


def block_map(home, method: str, params: dict):
    """Make a map of `digits-default` that cannot be made: a folder where its cache entry
    goes, so its job computes the map, then fails in the worker writing it
    (IsADirectoryError). Returns that folder (remove it to let the map be made)."""
    from backend.projection import ProjectionCache
    from backend.runs.store import RunStore

    run = RunStore(home).open("digits-default")
    cache = ProjectionCache(run.projections_dir)
    blocker = cache.path_for(run.vectors().numpy(), method, params).with_suffix(".json")
    (blocker / "in-the-way").mkdir(parents=True)
    return blocker
