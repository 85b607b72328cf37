"""jobs.db damaged under a running server (its header overwritten): the API answers 503
in words, never 500; /api/health says `degraded` and why; the runner backs off instead of
logging five lines a second; a stop leaves no traceback. (A worker cut off by the damage
is not counted as running: tests/backend/jobs/test_runner_backoff.py.)"""

import time

from tests.backend.api.conftest import Server
from tests.backend.api.test_concurrency_api import TRAIN

WATCH_S = 4.0


def damage(db) -> None:
    """Overwrite SQLite's header ("SQLite format 3" and the page size) in place."""
    with open(db, "r+b") as file:
        file.write(b"\0" * 100)


def test_a_damaged_job_store_answers_503_in_words_and_the_runner_backs_off(tmp_path):
    with Server(tmp_path) as server, server.client() as client:
        logged = server.log_path.read_text().count("semvec runner")
        damage(tmp_path / "jobs.db")
        damaged_at = time.monotonic()

        for method, path in [
            ("GET", "/api/jobs"),
            ("GET", f"/api/jobs/{1}"),
            ("GET", f"/api/jobs/{1}/log"),
            ("DELETE", f"/api/jobs/{1}"),
            ("POST", "/api/jobs"),
        ]:
            body = {"kind": "train", "config": TRAIN} if method == "POST" else None
            answer = client.request(method, path, json=body)
            assert answer.status_code == 503, (path, answer.text)
            detail = answer.json()["detail"]
            assert "jobs.db in the data home is damaged" in detail, detail
            assert "stop the server, move jobs.db aside" in detail, detail

        health = client.get("/api/health")
        assert health.status_code == 503, health.text
        assert health.json()["status"] == "degraded"
        assert "damaged" in (store := health.json()["store"]) and "move jobs.db aside" in store
        assert str(tmp_path) not in health.text  # no server paths

        time.sleep(max(0.0, WATCH_S - (time.monotonic() - damaged_at)))
        lines = server.log_path.read_text().count("semvec runner") - logged
        # Tries at 0, 0.2, 0.6, 1.4 and 3.0 s: a line each (before: 20 lines in 4 s).
        assert 1 <= lines <= 6, server.log_path.read_text()[-3000:]
    log = server.log_path.read_text()
    assert "Traceback" not in log and "shutdown failed" not in log, log[-3000:]
