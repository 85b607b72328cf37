"""The first thing every request meets, before any route reads a byte of its body.

- **Host names**: a server without a token answers only requests addressed to this
  machine (`localhost`, loopback addresses, `SEMVEC_ALLOWED_HOSTS`), so a DNS-rebinding
  page cannot read or write it under a name of its own.
- **Other sites**: a write (any method but GET/HEAD/OPTIONS) that a browser sends for a
  page of another origin (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not this
  host) is refused: a form or a `no-cors` fetch elsewhere cannot start a job here.
- **Token first**: an API write without the right token is answered 401 from its
  headers alone; its body is never read.
- **Body size**: every body has a cap by route (a few KB for job configs and sign-in,
  the upload limit for checkpoints, more for the page's callbacks when the caller may
  upload through them); a declared `Content-Length` over it is refused at once, a body
  that streams past it is cut off. Both answer 413.
- **Headers**: no framing by other sites, no MIME sniffing, no referrer to other sites;
  errors outside the API (the page's callbacks) are JSON with a `detail` too; a page
  answered with an error status (the page's "Page not found", 404) stays a page.
"""

import hmac
import json

from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.access import (
    CROSS_SITE,
    AccessDeniedError,
    check_write,
    is_cross_site,
    is_loopback,
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SMALL_BODY = 64 * 2**10  # job configs, resume, cancel, sign-in: a few KB at most
CALLBACK_BODY = 8 * 2**20  # the page's callbacks (a lasso of 10k neurons is ~1 MB)
UPLOAD_PATH = "/api/checkpoints"
CALLBACK_PREFIX = "/_dash-"
COOKIE = "semvec-token"  # app/auth.py sets it; the page's uploads go through callbacks

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def guard_first(app) -> None:
    """Put the RequestGuard before every other middleware of `app` (added later ones, e.g.
    Dash's, would otherwise see requests first and read their bodies)."""
    app.user_middleware.sort(key=lambda m: m.cls is not RequestGuard)


class BodyTooLargeError(Exception):
    """A body that went past its route's cap while being read (answered 413)."""

    def __init__(self, limit: int):
        super().__init__(
            f"request body over {_size(limit)}: this route takes at most that much"
            + (" (raise SEMVEC_MAX_UPLOAD_MB for bigger checkpoints)" if limit > SMALL_BODY else "")
        )


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n // 2**10} KB"


class RequestGuard:
    """ASGI middleware: see the module's docstring. `token` and `upload_bytes` come from
    the settings; `allowed_hosts` are host names accepted besides loopback ones."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        upload_bytes: int,
        allowed_hosts: tuple[str, ...] = (),
    ):
        self.app, self.token, self.upload_bytes = app, token, upload_bytes
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:  # the body is not read: the connection closes after this
            return await _json(send, *refusal, close=True)
        limit = self._cap(scope, headers)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            detail = str(BodyTooLargeError(limit)) if declared.isdigit() else "bad Content-Length"
            return await _json(send, 413 if declared.isdigit() else 400, detail, close=True)

        seen, started, answered = 0, False, False

        async def capped_receive() -> Message:
            # Past the cap: answer 413 now and tell the app the client left (FastAPI would
            # turn an exception raised while it parses the body into a 400).
            nonlocal seen, answered
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not started and not answered:
                        await _json(send, 413, str(BodyTooLargeError(limit)), close=True)
                    answered = True
                    return {"type": "http.disconnect"}
            return message

        api = scope["path"].startswith(("/api/", "/auth"))
        errors = _ErrorBodies(send, pages=scope["method"] == "GET") if not api else None

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out already
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await (errors.send(message) if errors else send(message))

        try:
            await self.app(scope, capped_receive, send_with_headers)
        except Exception:
            if not answered:
                raise

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        """(status, detail) for a request refused on its headers alone, else None."""
        host = _host_name(headers.get("host", ""))
        if self.token is None and not (is_loopback(host) or host in self.allowed_hosts):
            return 421, (
                f"this server has no SEMVEC_TOKEN and answers only requests addressed to this "
                f"machine (localhost, 127.0.0.1), not {host!r}; add the name to "
                "SEMVEC_ALLOWED_HOSTS, or set SEMVEC_TOKEN"
            )
        if scope["method"] in SAFE_METHODS:
            return None
        if is_cross_site(headers):
            return 403, CROSS_SITE
        if scope["path"].startswith("/api/"):
            scheme, credentials = get_authorization_scheme_param(headers.get("authorization"))
            try:
                check_write(
                    Request(scope), _Bearer(credentials) if scheme.lower() == "bearer" else None
                )
            except AccessDeniedError as err:
                return 401, str(err)
        if scope["path"] == UPLOAD_PATH and scope["method"] == "POST":
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/octet-stream":
                return 415, (
                    "send the checkpoint as the raw request body with "
                    "`Content-Type: application/octet-stream`"
                )
        return None

    def _cap(self, scope: Scope, headers: Headers) -> int:
        path = scope["path"]
        if path == UPLOAD_PATH:
            return self.upload_bytes
        if path.startswith(CALLBACK_PREFIX):
            # The page uploads a checkpoint through a callback, base64 in JSON: callers who
            # may write get room for that; anyone else the callbacks' own cap.
            if self._may_write_by_cookie(scope, headers):
                return max(CALLBACK_BODY, self.upload_bytes * 4 // 3 + 2**20)
            return CALLBACK_BODY
        return SMALL_BODY

    def _may_write_by_cookie(self, scope: Scope, headers: Headers) -> bool:
        if self.token is None:
            client = scope.get("client")
            return client is None or is_loopback(client[0])
        cookie = Request(scope).cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(errors="replace"), self.token.encode())


class _Bearer:
    """What `check_write` reads of FastAPI's HTTPAuthorizationCredentials."""

    def __init__(self, credentials: str):
        self.credentials = credentials


def _host_name(host: str) -> str:
    """The name of a Host header, without its port (`[::1]:8000` -> `::1`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _json(send: Send, status: int, detail: str, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if close:  # the body was not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ErrorBodies:
    """Makes error answers outside the API JSON with a `detail` (Dash answers its failed
    callbacks with HTML or `{"error", "message"}`); other answers pass unchanged, and so
    does an HTML page answering a GET when `pages` (a browser shows it, not a callback)."""

    def __init__(self, send: Send, pages: bool = False):
        self._send, self._start, self._chunks, self._pages = send, None, [], pages

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if message["status"] < 400 or (self._pages and _is_html(message)):
                return await self._send(message)
            self._start = message
            return None
        if self._start is None:
            return await self._send(message)
        self._chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return None
        raw = b"".join(self._chunks)
        try:
            found = json.loads(raw)
            detail = (
                found.get("detail") or found.get("message") if isinstance(found, dict) else None
            )
        except ValueError:
            detail = None
        status = self._start["status"]
        detail = detail or f"the request failed ({status}); the server's log says why"
        body = json.dumps({"detail": detail}).encode()
        kept = [
            (k, v)
            for k, v in self._start.get("headers", [])
            if k.lower() not in (b"content-type", b"content-length", b"content-encoding")
        ]
        kept += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await self._send({**self._start, "headers": kept})
        await self._send({"type": "http.response.body", "body": body})


def _is_html(start: Message) -> bool:
    """Whether a response's start message declares an HTML body."""
    headers = Headers(raw=start.get("headers", []))
    return headers.get("content-type", "").startswith("text/html")
