"""Server start, this checkout against an earlier revision (issue 11: "nothing here slows
the server's start"), side by side in one run.

For each of the two source trees (HEAD's, and `--against`'s checked out in a temporary
git worktree), `semvec quickstart` makes a data home once with that tree's own code; then,
round by round and alternating the two so that the machine's load hits both alike, it
starts `semvec serve` on that home and times how long until `/api/health` answers and
until the page (`/`) is served, then stops it. Both trees run with this `.venv`'s
packages. The default `--against` is 615fbb5, the last commit before issue 11's work.

Run with `make bench-serve-start` or `.venv/bin/python -m bench.serve_start`; writes
bench/out/serve_start.json.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.timing import paired_ratio
from tests.backend.api.conftest import _free_port

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"


def _env(tree: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMVEC_")}
    return env | {"SEMVEC_HOME": str(home), "PYTHONPATH": str(tree)}


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_once(tree: Path, home: Path, timeout: float = 120) -> dict:
    """Seconds from `semvec serve` until /api/health answers, and until / is served."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
        cwd=tree,
        env=_env(tree, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        marks = {}
        for mark, path in (("health_s", "/api/health"), ("page_s", "/")):
            while not _answers(url + path):
                if proc.poll() is not None or time.monotonic() - started > timeout:
                    raise RuntimeError(f"the server of {tree} did not answer {path}")
                time.sleep(0.05)
            marks[mark] = time.monotonic() - started
        return marks
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="615fbb5", help="the revision to compare with")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="semvec-start-") as tmp:
        old = Path(tmp) / "old"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(old), args.against],
            cwd=REPO,
            check=True,
        )
        try:
            trees = {"head": REPO, args.against: old}
            homes = {name: Path(tmp) / f"home-{i}" for i, name in enumerate(trees)}
            for name, tree in trees.items():
                subprocess.run(
                    [sys.executable, "-m", "backend.cli", "quickstart"],
                    cwd=tree,
                    env=_env(tree, homes[name]),
                    check=True,
                    capture_output=True,
                )
            times: dict[str, list[dict]] = {name: [] for name in trees}
            load = [os.getloadavg()[0]]
            for _ in range(args.rounds + 1):  # the first round warms the disk cache
                for name, tree in trees.items():
                    times[name].append(start_once(tree, homes[name]))
            load.append(os.getloadavg()[0])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=REPO)
    result = {"against": args.against, "rounds": args.rounds, "load_average": load}
    for mark in ("health_s", "page_s"):
        runs = {name: [t[mark] for t in rows[1:]] for name, rows in times.items()}
        result[mark] = {name: statistics.median(v) for name, v in runs.items()}
        result[mark]["head_over_against"] = paired_ratio(runs["head"], runs[args.against])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "serve_start.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
