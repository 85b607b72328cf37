"""Small faults that once gave a traceback, a 500 or a leak: the sign-in token in the
access log, a damaged jobs.db at start, a damaged job row, server paths in error
details, an upload cut off by a killed server."""

import os
import sqlite3
import subprocess
import sys

from tests.backend.api.conftest import Server
from tests.backend.api.test_concurrency_api import TRAIN

TOKEN = "small-faults-token-5a1e"


def test_the_sign_in_links_token_stays_out_of_the_access_log(tmp_path):
    options = ("--access-log",)  # off by default
    with (
        Server(tmp_path, "0.0.0.0", options, SEMVEC_TOKEN=TOKEN) as server,
        server.client() as client,
    ):
        signed = client.get("/auth", params={"token": TOKEN, "next": "/runs"})
        assert signed.status_code == 303 and "semvec-token" in signed.headers["set-cookie"]
        client.get("/auth", params={"token": TOKEN + "-wrong"})
        # Percent-encoded names are the same parameter to the server: it signs in.
        encoded = client.get(f"/auth?to%6Ben={TOKEN}&next=%2Fruns")
        assert encoded.status_code == 303 and "semvec-token" in encoded.headers["set-cookie"]
        client.get("/api/health")  # the access log has the lines above once this one is in
        log = server.log_path.read_text()
    assert "GET /auth?token=(hidden)&next=%2Fruns" in log
    assert "GET /auth?to%6Ben=(hidden)&next=%2Fruns" in log
    assert TOKEN not in log


def test_a_damaged_jobs_db_is_one_line_at_start(tmp_path):
    (tmp_path / "jobs.db").write_bytes(b"this is not a database " * 200)
    for args in (["serve", "--port", "9"], ["jobs", "list"]):
        done = subprocess.run(
            [sys.executable, "-m", "backend.cli", *args],
            env={"SEMVEC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "jobs.db" in lines[0] and "damaged" in lines[0], done.stderr


def test_a_read_only_jobs_db_is_one_line_at_start(tmp_path):
    """An immutable jobs.db (root ignores a file's mode, so root makes it immutable) once
    gave a traceback from the job runner and exit 3."""
    from backend.jobs.store import JobStore

    db = tmp_path / "jobs.db"
    JobStore(db)  # a sound store, with its tables
    if os.geteuid() == 0:
        locked = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
        assert locked.returncode == 0, (
            "as root, this test needs a temporary folder whose file system takes `chattr +i`"
            f" (ext4, xfs, btrfs): {locked.stderr!r}"
        )
    else:
        db.chmod(0o444)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "backend.cli", "serve", "--port", "9"],
            env={"SEMVEC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)], check=True)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "jobs.db" in lines[0] and "writable" in lines[0], done.stderr


def test_a_damaged_job_row_is_skipped_and_the_others_listed(tmp_path):
    with Server(tmp_path) as server, server.client() as client:
        good = client.post("/api/jobs", json={"kind": "train", "config": TRAIN}).json()
        with sqlite3.connect(tmp_path / "jobs.db") as db:
            for config, state in (("{not json", "succeeded"), ("[1, 2]", "failed"), ("{}", "odd")):
                db.execute(
                    "INSERT INTO jobs (kind, config, state, created) VALUES ('train', ?, ?, 0)",
                    (config, state),
                )
            db.execute(
                "INSERT INTO jobs (kind, config, state, created) VALUES ('train', '{', 'queued', 0)"
            )
        listed = client.get("/api/jobs")
        assert listed.status_code == 200, listed.text
        assert [job["id"] for job in listed.json()["data"]] == [good["id"]]
        assert client.get("/api/jobs/2").status_code == 404
        # The queued damaged row is failed when the runner reaches it; the queue goes on.
        client.delete(f"/api/jobs/{good['id']}")
        fresh = client.post("/api/jobs", json={"kind": "train", "config": TRAIN | {"epochs": 1}})
        job = fresh.json()
        from tests.backend.api.conftest import wait_for_job

        assert wait_for_job(client, job["id"], {"succeeded", "failed"})["state"] == "succeeded"
        with sqlite3.connect(tmp_path / "jobs.db") as db:
            (state,) = db.execute("SELECT state FROM jobs WHERE id = 5").fetchone()
        assert state == "failed"


def test_error_details_name_no_server_path(tmp_path):
    with Server(tmp_path) as server, server.client() as client:
        answers = [
            client.get("/api/runs/nope"),
            client.post("/api/jobs", json={"kind": "train", "config": {"data": {"root": "/etc"}}}),
            client.post(
                "/api/jobs",
                json={"kind": "align", "config": {"checkpoint": "/etc/x", "arch": "digits_cnn"}},
            ),
            client.get("/api/health"),
        ]
    for answer in answers:
        assert str(tmp_path) not in answer.text, answer.text
    assert answers[0].status_code == 404 and "$SEMVEC_HOME" in answers[0].json()["detail"]
    assert answers[1].status_code == 422 and "outside $SEMVEC_HOME" in answers[1].json()["detail"]


def test_an_upload_cut_off_by_a_killed_server_is_removed_at_the_next_start(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    part = uploads / ".upload-abc123.part"
    part.write_bytes(b"\0" * 1000)
    kept = uploads / "teacher-0123456789.safetensors"
    kept.write_bytes(b"kept")
    with Server(tmp_path):
        assert not part.exists() and kept.exists()
