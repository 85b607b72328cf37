"""The job database: SQLite in WAL mode in the data home.

Every process (server, runner, workers, CLI) opens its own connection; WAL lets readers
poll while a worker writes, and a busy timeout absorbs short write contention.
"""

import errno
import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backend.core.errors import SemvecError

STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    progress REAL NOT NULL DEFAULT 0,
    progress_text TEXT NOT NULL DEFAULT '',
    error TEXT,
    traceback TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    run_id TEXT,
    worker_pid INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    estimate_s REAL
);
CREATE TABLE IF NOT EXISTS metrics (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    epoch INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, epoch)
);
CREATE TABLE IF NOT EXISTS logs (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    at REAL NOT NULL,
    line TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS logs_job ON logs(job_id);
"""


class StoreWriteError(SemvecError):
    """jobs.db cannot be used (a full disk, a read-only file system, a damaged file: see
    StoreDamagedError); `full` when it is space that is missing (answered 507, else 503)."""

    def __init__(self, err: Exception):
        text = str(err)
        self.full = "full" in text or getattr(err, "errno", None) in (errno.ENOSPC, errno.EFBIG)
        hint = "; free some disk space in the data home" if self.full else ""
        if "readonly" in text or "read-only" in text:
            hint = (
                "; make jobs.db and the data home writable (the file may be read-only or "
                "immutable: chmod u+w, chattr -i), then start again"
            )
        super().__init__(f"the job database cannot be used ({text}){hint}")


class StoreDamagedError(StoreWriteError):
    """jobs.db is not a readable SQLite database (its header or pages overwritten), at
    start or under a running server: nothing recovers it but moving it aside, so the API
    answers 503 with what to do."""

    def __init__(self, name: str, err: Exception):
        self.full = False
        SemvecError.__init__(
            self,
            f"{name} in the data home is damaged ({err}): stop the server, move {name} aside "
            "(the runs in runs/ are kept; the job history starts anew) or restore it from a "
            "backup, then start the server again",
        )


def _is_damage(err: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is not a database or its pages are corrupt (not a
    locked, full or read-only one)."""
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


@dataclass
class Job:
    id: int
    kind: str
    config: dict
    state: str
    progress: float
    progress_text: str
    error: str | None
    traceback: str | None
    cancel_requested: bool
    created: float
    started: float | None
    finished: float | None
    run_id: str | None
    worker_pid: int | None
    attempts: int
    estimate_s: float | None = None
    """Seconds the job was estimated to take at submit (backend/jobs/estimate.py)."""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Job | None":
        """The job of a row; None for a row that does not decode (a damaged one)."""
        try:
            return cls._decode(row)
        except (ValueError, TypeError, KeyError):
            return None

    @classmethod
    def _decode(cls, row: sqlite3.Row) -> "Job":
        data = dict(row)
        data["config"] = json.loads(data["config"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        if not isinstance(data["config"], dict) or data["state"] not in STATES:
            raise ValueError(f"job {data['id']}: not a job's config or state")
        return cls(**data)


def _insert(db: sqlite3.Connection, kind: str, config: dict, estimate_s: float | None) -> int:
    cur = db.execute(
        "INSERT INTO jobs (kind, config, created, estimate_s) VALUES (?, ?, ?, ?)",
        (kind, json.dumps(config), time.time(), estimate_s),
    )
    return cur.lastrowid


def _add_estimate_column(db: sqlite3.Connection) -> None:
    """A jobs.db made before jobs had estimates gets the column (empty for its jobs)."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
    if "estimate_s" not in columns:
        db.execute("ALTER TABLE jobs ADD COLUMN estimate_s REAL")


class JobStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                _add_estimate_column(db)
        except StoreWriteError:  # a damaged file (StoreDamagedError) included
            raise
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise
            raise StoreDamagedError(self.path.name, err) from err

    @contextmanager
    def _connect(self):
        """A connection; an I/O failure (a full disk fails reads of a WAL database too)
        raises StoreWriteError, a file that is no longer a database StoreDamagedError, a
        busy database waits up to 30 s."""
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA busy_timeout=30000")
                db.execute("PRAGMA synchronous=NORMAL")
                yield db
            finally:
                db.close()
        except sqlite3.DatabaseError as err:
            if _is_damage(err):
                raise StoreDamagedError(self.path.name, err) from err
            if not isinstance(err, sqlite3.OperationalError):
                raise  # a constraint or a programming error: not the file's fault
            if "locked" in str(err) or "busy" in str(err):
                raise
            raise StoreWriteError(err) from err

    @contextmanager
    def _write(self):
        """One write transaction, taken eagerly so that two writers never deadlock. A disk
        that takes no more writes raises StoreWriteError."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def probe(self) -> None:
        """A one-row write: StoreWriteError when jobs.db takes no writes now."""
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)", (time.time(),))

    def create(self, kind: str, config: dict, estimate_s: float | None = None) -> Job:
        with self._write() as db:
            job_id = _insert(db, kind, config, estimate_s)
        return self.get(job_id)

    def create_once(self, kind: str, config: dict, estimate_s: float | None = None) -> Job:
        """The queued or running job of this kind and config, or a new one: looked up and
        made in one transaction, so that requests at the same moment share one job."""
        with self._write() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE kind = ? AND state IN ('queued', 'running') ORDER BY id",
                (kind,),
            ).fetchall()
            found = (job for job in map(Job.from_row, rows) if job and job.config == config)
            job = next(found, None)
            job_id = job.id if job is not None else _insert(db, kind, config, estimate_s)
        return self.get(job_id)

    def get(self, job_id: int) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def list_jobs(
        self, state: str | None = None, kind: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[Job]:
        where, args = [], []
        if state:
            where.append("state = ?")
            args.append(state)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        with self._connect() as db:
            rows = db.execute(sql, (*args, limit, offset)).fetchall()
        return [job for job in map(Job.from_row, rows) if job is not None]

    def claim_next(self) -> Job | None:
        """Atomically move the oldest queued job to running (a damaged row is failed, and
        the next one taken)."""
        while True:
            job_id = self._claim_id()
            if job_id is None:
                return None
            job = self.get(job_id)
            if job is not None:
                return job
            self.finish(job_id, "failed", error="this job's row in jobs.db is damaged")

    def _claim_id(self) -> int | None:
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = 'running', started = ?, finished = NULL, error = NULL,"
                " traceback = NULL, worker_pid = NULL, attempts = attempts + 1 WHERE id = ?",
                (time.time(), row["id"]),
            )
        return row["id"]

    def set_pid(self, job_id: int, pid: int) -> None:
        with self._write() as db:
            db.execute("UPDATE jobs SET worker_pid = ? WHERE id = ?", (pid, job_id))

    def progress(self, job_id: int, fraction: float, text: str = "") -> bool:
        """Record progress; returns True when a cancel was requested meanwhile."""
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, progress_text = ? WHERE id = ?",
                (max(0.0, min(1.0, fraction)), text[:200], job_id),
            )
            row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def cancel_requested(self, job_id: int) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def add_metrics(self, job_id: int, epoch: int, data: dict) -> None:
        """One row per (job, epoch): a resumed job that re-reports an epoch replaces it."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO metrics (job_id, epoch, data) VALUES (?, ?, ?)",
                (job_id, epoch, json.dumps(data)),
            )

    def metrics(self, job_id: int) -> list[dict]:
        return self.metrics_of([job_id])[job_id]

    def metrics_of(self, job_ids: list[int]) -> dict[int, list[dict]]:
        """Per-epoch metrics of several jobs in one query (live charts poll many jobs)."""
        found: dict[int, list[dict]] = {job_id: [] for job_id in job_ids}
        if not job_ids:
            return found
        marks = ",".join("?" * len(job_ids))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT job_id, epoch, data FROM metrics WHERE job_id IN ({marks}) "
                "ORDER BY job_id, epoch",
                tuple(job_ids),
            ).fetchall()
        for r in rows:
            found[r["job_id"]].append({"epoch": r["epoch"], **json.loads(r["data"])})
        return found

    def log(self, job_id: int, line: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO logs (job_id, at, line) VALUES (?, ?, ?)",
                (job_id, time.time(), line[:4000]),
            )

    def logs(self, job_id: int) -> list[tuple[float, str]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT at, line FROM logs WHERE job_id = ? ORDER BY rowid", (job_id,)
            ).fetchall()
        return [(r["at"], r["line"]) for r in rows]

    def finish(
        self,
        job_id: int,
        state: str,
        error: str | None = None,
        traceback: str | None = None,
        run_id: str | None = None,
    ) -> None:
        if state not in STATES:
            raise ValueError(f"unknown job state {state!r}")
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET state = ?, error = ?, traceback = ?, finished = ?,"
                " run_id = COALESCE(?, run_id), worker_pid = NULL,"
                " progress = CASE WHEN ? = 'succeeded' THEN 1.0 ELSE progress END"
                " WHERE id = ?",
                (state, error, traceback, time.time(), run_id, state, job_id),
            )

    def request_cancel(self, job_id: int) -> Job | None:
        """Queued jobs are cancelled at once; running ones are asked to stop."""
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET state = 'cancelled', finished = ? "
                "WHERE id = ? AND state IN ('queued', 'interrupted')",
                (time.time(), job_id),
            )
            db.execute(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'",
                (job_id,),
            )
        return self.get(job_id)

    def requeue(self, job_id: int) -> Job | None:
        """Put an interrupted, failed or cancelled job back in the queue (to resume)."""
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET state = 'queued', cancel_requested = 0, error = NULL,"
                " traceback = NULL, finished = NULL "
                "WHERE id = ? AND state IN ('interrupted', 'failed', 'cancelled')",
                (job_id,),
            )
        return self.get(job_id)

    def mark_interrupted(self, reason: str) -> list[int]:
        """At server start: jobs still `running` lost their worker with the old server."""
        with self._write() as db:
            rows = db.execute("SELECT id FROM jobs WHERE state = 'running'").fetchall()
            ids = [r["id"] for r in rows]
            db.execute(
                "UPDATE jobs SET state = 'interrupted', error = ?, finished = ?,"
                " worker_pid = NULL WHERE state = 'running'",
                (reason, time.time()),
            )
        return ids
