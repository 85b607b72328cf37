"""A jobs.db made before jobs had estimates opens with the column added (a real SQLite
file of the old schema), its jobs uncosted, new jobs costed."""

import json
import sqlite3
import time

from backend.jobs.store import JobStore

OLD_JOBS = """CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
config TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', progress REAL NOT NULL DEFAULT 0,
progress_text TEXT NOT NULL DEFAULT '', error TEXT, traceback TEXT,
cancel_requested INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, started REAL,
finished REAL, run_id TEXT, worker_pid INTEGER, attempts INTEGER NOT NULL DEFAULT 0)"""


def test_an_old_job_database_gets_the_estimate_column(tmp_path):
    path = tmp_path / "jobs.db"
    with sqlite3.connect(path) as db:
        db.execute(OLD_JOBS)
        db.execute(
            "INSERT INTO jobs (kind, config, created) VALUES (?, ?, ?)",
            ("analyze", json.dumps({"run": "r"}), time.time()),
        )
    store = JobStore(path)
    assert store.get(1).estimate_s is None and store.get(1).config == {"run": "r"}
    assert store.create("analyze", {"run": "s"}, estimate_s=12.5).estimate_s == 12.5
    assert JobStore(path).get(2).estimate_s == 12.5  # opening again adds nothing twice
