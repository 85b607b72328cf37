"""Signing in on the page, Jupyter-style: the page never uses the server's own token.

`/auth` takes the server's SEMVEC_TOKEN once (a form, or a pasteable
`/auth?token=...&next=/runs` link) and keeps it in an HttpOnly, SameSite=Strict cookie.
`CallerMiddleware` copies that cookie's token and the browser's address into
`api_client.caller` for the length of each request, so the Dash callbacks answering it
call the API with the browser's rights. The API itself reads only the Authorization
header: the cookie alone opens nothing.
"""

import hmac
import logging
from html import escape
from urllib.parse import parse_qs, unquote_plus, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api_client import Caller, caller

COOKIE = "semvec-token"
MAX_FORM = 4096  # bytes of a sign-in form worth reading
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)


def hide_tokens(target: str) -> str:
    """`target` (a path with its query) with the value of every `token` parameter hidden.
    Names are compared as the server reads them, percent-decoded (`to%6Ben=` is `token=`
    to Starlette too); everything else is left as sent."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    parts = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        hidden = eq and unquote_plus(name).strip().lower() == "token"
        parts.append(f"{name}=(hidden)" if hidden else part)
    return f"{path}?{'&'.join(parts)}"


class HideTokens(logging.Filter):
    """Keeps `/auth?token=...` out of the access log (uvicorn's record args are client,
    method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = hide_tokens(str(args[2]))
            record.args = tuple(args)
        return True


HIDE_TOKENS = HideTokens()


class CallerMiddleware:
    """Sets `api_client.caller` from the request's cookie and client address."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        token = HTTPConnection(scope).cookies.get(COOKIE)
        if token is not None and not (token.isascii() and token.isprintable()):
            token = None  # not one we set; it would not even fit in a header
        reset = caller.set(Caller(token=token or None, client=scope.get("client")))
        try:
            await self.app(scope, receive, send)
        finally:
            caller.reset(reset)


def local_path(target: str | None) -> str:
    """`target` if it is a path on this server, else `/` (no open redirect)."""
    target = target or "/"
    parts = urlsplit(target)
    unsafe = not target.startswith("/") or target.startswith("//") or "\\" in target
    if unsafe or parts.scheme or parts.netloc or not target.isprintable():
        return "/"
    return target


@router.get("/auth")
def sign_in_page(
    request: Request, token: str | None = None, next_path: str = Query("/", alias="next")
) -> Response:
    if token is not None:
        return _sign_in(request, token, next_path)
    if request.app.state.token is None:  # nothing to sign in to
        return RedirectResponse(local_path(next_path), status_code=303)
    return _form(next_path)


@router.post("/auth")
async def sign_in_form(request: Request) -> Response:
    body = await request.body()
    form = parse_qs(body[:MAX_FORM].decode("utf-8", errors="replace"))
    return _sign_in(request, form.get("token", [""])[0], form.get("next", ["/"])[0])


@router.get("/auth/logout")
def sign_out(next_path: str = Query("/", alias="next")) -> Response:
    response = RedirectResponse(local_path(next_path), status_code=303, headers=NO_STORE)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _sign_in(request: Request, token: str, next_path: str) -> Response:
    expected: str | None = request.app.state.token
    if expected is None:
        return RedirectResponse(local_path(next_path), status_code=303)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return _form(next_path, "Wrong token: use the SEMVEC_TOKEN the server was started with.")
    response = RedirectResponse(local_path(next_path), status_code=303, headers=NO_STORE)
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _form(next_path: str, error: str | None = None) -> HTMLResponse:
    """The sign-in form; with `error`, answered 401."""
    note = f'<p class="error">{escape(error)}</p>' if error else ""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>semvec · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 15px system-ui, sans-serif; color: #222; background: #f6f7f9; }}
form {{ max-width: 380px; margin: 12vh auto; padding: 24px; background: #fff;
  border: 1px solid #dde1e6; border-radius: 6px; }}
h1 {{ font-size: 19px; margin: 0 0 8px; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: 6px; margin: 8px 0 12px; }}
.error {{ color: #b3261e; }}
</style></head>
<body><form method="post" action="/auth">
<h1>semvec · sign in</h1>
<p>Starting, cancelling and uploading need the server's token (SEMVEC_TOKEN; a Docker
container prints it, with a sign-in link, when it starts). Reading needs none.</p>
{note}
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus>
<input type="hidden" name="next" value="{escape(local_path(next_path))}">
<button type="submit">Sign in</button>
</form></body></html>"""
    return HTMLResponse(html, status_code=401 if error else 200, headers=NO_STORE)
