"""Requests Dash would answer 500, answered 4xx in words before they reach it.

Dash treats a component file of a package the page never registered
(`/_dash-component-suites/os/path.py`) and a callback request whose body is not a JSON
callback (`text/plain`, `{}`) as its own errors. They are the client's: 404, 415, 400.
"""

import json

from dash import Dash
from dash._validate import validate_js_path
from dash.exceptions import DependencyException
from dash.fingerprint import check_fingerprint
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SUITES = "/_dash-component-suites/"
CALLBACK = "/_dash-update-component"


class DashRequests:
    """ASGI middleware in front of Dash's own (see the module's docstring)."""

    def __init__(self, app: ASGIApp, dash_app: Dash):
        self.app, self.dash_app = app, dash_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path.startswith(SUITES) and not self._registered(path.removeprefix(SUITES)):
            return await _answer(scope, receive, send, 404, "no such component file")
        if path == CALLBACK and scope["method"] == "POST":
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            if not content_type.startswith("application/json"):
                return await _answer(
                    scope, receive, send, 415, "a callback is sent as application/json"
                )
            body, replay = await _read_body(receive)
            if not _is_callback(body):
                return await _answer(
                    scope, receive, send, 400, "not a callback: a JSON object with `output`"
                )
            receive = replay
        await self.app(scope, receive, send)

    def _registered(self, rest: str) -> bool:
        package, _, fingerprinted = rest.partition("/")
        try:
            path_in_package, _has_fingerprint = check_fingerprint(fingerprinted)
            validate_js_path(self.dash_app.registered_paths, package, path_in_package)
        except DependencyException:
            return False
        return True


def _is_callback(body: bytes) -> bool:
    try:
        found = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        return False
    return isinstance(found, dict) and isinstance(found.get("output"), str)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (the RequestGuard caps it first), and a `receive` that replays it."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive  # the client left
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
