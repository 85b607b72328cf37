"""The newcomer's path (issue 6): a fresh clone, `make run`, time until the map is usable.

Clones this repository's HEAD into a new folder and runs the README's first command
there twice, as a person would: the first time `make run` builds `.venv` and makes the
digits run from the shipped checkpoint; the second time both are already there. Each
time it records, from the moment `make` starts: the set-up done (make echoes the
`semvec quickstart` line), the quickstart done (the `semvec serve` line), the server
answering `/api/health`, and the page usable: headless Chromium has drawn the map with a
point for every neuron of the default run. Then it stops the server.

`.venv` is built by pip from whatever index this machine's pip is set to (here a local
package mirror: no download time is in the figure). Run with
`make bench-first-run` or `.venv/bin/python -m bench.first_run`; writes
bench/out/first_run.json.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench import browser
from tests.backend.api.conftest import _free_port

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
MARKS = {"setup_done": ".venv/bin/semvec quickstart", "quickstart_done": ".venv/bin/semvec serve"}


def _watch(proc: subprocess.Popen, started: float, marks: dict, log: Path) -> None:
    """Copy make's output to `log`, noting when each phase's line first appears."""
    with log.open("w") as sink:
        for line in proc.stdout:
            sink.write(line)
            sink.flush()
            for mark, needle in MARKS.items():
                if mark not in marks and needle in line:
                    marks[mark] = time.monotonic() - started


def _wait_health(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`make run` exited with status {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}/api/health did not answer within {timeout:.0f} s")


def make_run(clone: Path, log: Path, timeout: float = 900) -> dict:
    """One `make run` in `clone`: seconds to each phase, and the map's point count."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEMVEC_", "VIRTUAL_ENV"))}
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and the server in a group of their own, stopped together
    )
    marks: dict = {}
    watcher = threading.Thread(target=_watch, args=(proc, started, marks, log), daemon=True)
    watcher.start()
    chrome = None
    try:
        _wait_health(url, proc, timeout)
        marks["server_up"] = time.monotonic() - started
        neurons = httpx.get(f"{url}/api/runs/digits-default").json()["neurons"]
        chrome = browser.chromium()
        opened = browser.open_map(chrome, f"{url}/", timeout=timeout)
        marks["map_usable"] = time.monotonic() - started
        marks.update(points=opened["points"], neurons=neurons)
        if opened["points"] != neurons:
            raise RuntimeError(f"the map drew {opened['points']} points for {neurons} neurons")
        return marks
    finally:
        if chrome is not None:
            chrome.quit()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        watcher.join(timeout=5)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="semvec-newcomer-") as tmp:
        clone = Path(tmp) / "semvec"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
        ).stdout.strip()
        result = {"commit": head, "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
        for attempt in ("first", "second"):
            log = OUT / f"first_run-{attempt}.log"
            result[attempt] = make_run(clone, log)
            print(f"{attempt}: {json.dumps(result[attempt])}", flush=True)
        result["loadavg_after"] = os.getloadavg()
    (OUT / "first_run.json").write_text(json.dumps(result, indent=2))
    print_table(result)


def print_table(result: dict) -> None:
    print(f"\nmake run in a fresh clone of {result['commit']} ({result['cpus']} CPUs), seconds:")
    print(f"{'':10}{'set-up':>10}{'quickstart':>12}{'server up':>11}{'map usable':>12}")
    for attempt in ("first", "second"):
        m = result[attempt]
        print(
            f"{attempt:10}{m.get('setup_done', 0):10.1f}{m['quickstart_done']:12.1f}"
            f"{m['server_up']:11.1f}{m['map_usable']:12.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
