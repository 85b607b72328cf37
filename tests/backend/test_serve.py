"""`semvec serve` as `make run` ends with it: its last start-up line says where the page
is, it logs no line per request (unless `--access-log`), and the page's WebSocket is served
(no "No supported WebSocket library detected")."""

import re
import time
from pathlib import Path

import httpx

from tests.backend.api.conftest import Server

ROOT = Path(__file__).resolve().parents[2]


def test_the_last_start_up_line_says_where_the_page_is(tmp_path):
    with Server(tmp_path) as server:
        deadline = time.monotonic() + 10
        while "semvec is ready" not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.1)
        lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
        start_up = [line for line in lines if "GET " not in line]
        assert start_up[-1] == (
            f"semvec is ready: open {server.url}/ (API docs: {server.url}/docs)"
        ), start_up[-3:]
        assert httpx.get(server.url + "/").status_code == 200
        httpx.get(server.url + "/api/health")
        time.sleep(0.5)  # a line it would log is written by now
        log = server.log_path.read_text()
        assert "GET /" not in log  # no access log unless asked for (--access-log)


def test_the_runtime_requirements_hold_a_websocket_library_uvicorn_uses():
    pinned = {
        m.group(1).lower()
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", (ROOT / "requirements.txt").read_text(), re.M)
    }
    assert pinned & {"websockets", "wsproto"}, "uvicorn would answer the page's WebSocket 404"
    import websockets  # noqa: F401  (installed from requirements.txt)
