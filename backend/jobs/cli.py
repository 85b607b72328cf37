"""`semvec jobs ...` and `semvec serve`."""

import json
import os
import sys
import time

from backend.core.errors import SemvecError
from backend.core.settings import get_settings
from backend.jobs import home_lock
from backend.jobs.store import FINAL, Job, JobStore
from backend.services import jobs as job_service


def _store() -> JobStore:
    return JobStore(get_settings().home / "jobs.db")


def _line(job: Job) -> str:
    text = f"{job.id:5d}  {job.kind:8s} {job.state:11s} {100 * job.progress:5.1f}%  "
    text += job.progress_text[:50]
    if job.error:
        text += f"  error: {job.error[:80]}"
    if job.run_id:
        text += f"  run: {job.run_id}"
    return text


def jobs_command(args) -> int:
    store = _store()
    action = args.jobs_command
    if action == "list":
        for job in store.list_jobs(state=args.state, kind=args.kind):
            print(_line(job))
        return 0
    if action == "submit":
        try:
            config = json.loads(args.config)
        except json.JSONDecodeError as err:
            raise SemvecError(f"config must be JSON: {err}") from err
        job, cost = job_service.submit_estimated(store, args.kind, config)
        print(
            f"job {job.id} queued ({job.kind}), estimated at "
            f"{cost.words() if cost else 'no estimate: this model is not costed before it runs'}"
            "; a running `semvec serve` or `semvec jobs work` picks it up"
        )
        return follow(store, job.id) if args.follow else 0
    if action == "show":
        job = job_service.get(store, args.job_id)
        print(_line(job))
        for row in store.metrics(job.id):
            print("  " + json.dumps(row))
        if job.traceback:
            print(job.traceback)
        return 0
    if action == "follow":
        return follow(store, args.job_id)
    if action == "cancel":
        print(_line(job_service.cancel(store, args.job_id)))
        return 0
    if action == "resume":
        print(_line(job_service.resume(store, args.job_id)))
        return 0
    if action == "work":
        return work(args.slots)
    raise SemvecError(f"unknown jobs action {action!r}")


def follow(store: JobStore, job_id: int) -> int:
    """A live progress bar until the job ends."""
    from tqdm import tqdm

    job = job_service.get(store, job_id)
    bar = tqdm(total=100, desc=f"job {job_id}", unit="%", file=sys.stderr, dynamic_ncols=True)
    seen_epochs = 0
    while True:
        job = store.get(job_id)
        bar.n = round(100 * job.progress, 1)
        bar.set_postfix_str(f"{job.state} {job.progress_text[:60]}")
        rows = store.metrics(job_id)
        for row in rows[seen_epochs:]:
            bar.write(json.dumps(row))
        seen_epochs = len(rows)
        if job.state in (*FINAL, "interrupted"):
            break
        time.sleep(0.5)
    bar.close()
    print(_line(job))
    return 0 if job.state == "succeeded" else 1


def work(slots: int) -> int:
    """Run queued jobs in this process's runner until none are queued or running."""
    from backend.jobs.runner import Runner

    home_lock.hold(get_settings().home)  # one runner per data home
    runner = Runner(get_settings().home, slots=slots or None)
    try:
        while True:
            runner.tick()
            if not runner.workers and not store_has_queued(runner.store):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        runner.stop()
        return 130


def store_has_queued(store: JobStore) -> bool:
    return bool(store.list_jobs(state="queued", limit=1))


def serve(args) -> int:
    import uvicorn

    from backend.api.access import is_loopback

    if not is_loopback(args.host) and get_settings().token is None:
        raise SemvecError(
            f"--host {args.host} lets other machines reach this server, so it needs a token: "
            "set SEMVEC_TOKEN to a long random secret (e.g. `export SEMVEC_TOKEN=$(python -c "
            "'import secrets; print(secrets.token_urlsafe(32))')`); requests that start, "
            "cancel or upload must then send `Authorization: Bearer <SEMVEC_TOKEN>`, and people "
            "using the page sign in at /auth"
        )
    home_lock.hold(get_settings().home)  # refused here, in one line, when in use
    # A damaged or read-only (immutable) jobs.db: one line here, not a traceback from the
    # job runner once uvicorn starts.
    JobStore(get_settings().home / "jobs.db").probe()
    if args.slots:
        os.environ["SEMVEC_JOB_SLOTS"] = str(args.slots)

    class AnnouncingServer(uvicorn.Server):
        """Ends uvicorn's start-up lines with the one a person looks for: where the page is."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                address = page_address(self.config.host, self.config.port)
                print(f"semvec is ready: open {address} (API docs: {address}docs)", flush=True)

    # The page (app/) is composed with the API by name, so backend never imports the front end.
    config = uvicorn.Config(
        "app.server:create_server",
        factory=True,
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=args.access_log,
    )
    AnnouncingServer(config).run()
    return 0


def page_address(host: str, port: int) -> str:
    """Where a browser on this machine opens the page (0.0.0.0 and :: listen everywhere)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"
