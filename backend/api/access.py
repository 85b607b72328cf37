"""Who may start, cancel and upload: reads are open, writes need the server's token.

With `SEMVEC_TOKEN` set, every request that starts a job, cancels or resumes one, or
uploads a checkpoint must send `Authorization: Bearer <token>`. Without it the server
only listens on loopback (`semvec serve` refuses another host), and as a second guard
writes are taken only from clients on this machine, should the app be served some
other way.

The API reads only that header, never a cookie. People on the page get write rights by
signing in once (`/auth`, app/auth.py): that sets an HttpOnly, SameSite=Strict cookie
holding the token, and while Dash answers the browser's request the page's in-process
API client sends that cookie's token (and the browser's address) as its own. So the page
acts with the rights of whoever is using it, never with the server's own token.
`GET /api/access` says what a request's credentials allow.
"""

import hmac
import ipaddress

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.core.errors import SemvecError

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="The server's SEMVEC_TOKEN; needed to start, cancel and upload.",
)


class AccessDeniedError(SemvecError):
    """A write without the right token (answered 401)."""


class CrossSiteError(SemvecError):
    """A write that a browser sent for a page of another site (answered 403)."""


CROSS_SITE = (
    "a write sent by a page of another site is refused: use semvec's own page, or an API "
    "client (which sends no Origin)"
)


def is_cross_site(headers) -> bool:
    """Whether a browser sent this for a page of another origin: `Sec-Fetch-Site` says so,
    or the `Origin` is not this host. API clients send neither."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or origin.split("://", 1)[-1].lower() != headers.get("host", "").lower()


def is_loopback(host: str | None) -> bool:
    """True for a loopback address or `localhost`; False for anything else, names included."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_write(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Raise AccessDeniedError unless this request may start, cancel or upload (and
    CrossSiteError for one that a page of another site made a browser send)."""
    if is_cross_site(request.headers):
        raise CrossSiteError(CROSS_SITE)
    token: str | None = request.app.state.token
    if token is None:
        client = request.scope.get("client")
        if client is None or is_loopback(client[0]):  # in-process (no client) or this machine
            return
        raise AccessDeniedError(
            "this server has no SEMVEC_TOKEN, so it starts, cancels and uploads only for "
            "clients on its own machine"
        )
    if credentials is None:
        raise AccessDeniedError(
            "starting, cancelling or uploading needs the server's token: send the header "
            "`Authorization: Bearer <SEMVEC_TOKEN>`"
        )
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise AccessDeniedError("wrong token: send the server's SEMVEC_TOKEN as a Bearer token")


def may_write(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Whether `check_write` would let this request through."""
    try:
        check_write(request, credentials)
    except AccessDeniedError:
        return False
    return True
