"""Where the page's user stands: the header's sign-in badge, and 401s that say to sign in."""

from urllib.parse import quote

from dash import html

from app import api_client
from app.api_client import ApiError


def badge(state: dict | None, here: str) -> list:
    """Nothing without a server token; else read-only · Sign in, or signed in · Sign out."""
    if not state or not state["token_required"]:
        return []
    back = quote(here, safe="/")
    if state["can_write"]:
        return [
            html.Span("signed in", className="access-state"),
            " · ",
            html.A("Sign out", href=f"/auth/logout?next={back}", id="shell-sign-out"),
        ]
    return [
        html.Span("read-only", className="access-state access-read-only"),
        " · ",
        html.A("Sign in", href=f"/auth?next={back}", id="shell-sign-in"),
    ]


async def error_text(err: ApiError, action: str) -> str:
    """What went wrong with `action` ("Starting jobs"): for a refused write on a server with
    a token, how to get the right; otherwise the API's own words."""
    if err.status == 401:
        try:
            signed_in_helps = (await api_client.access())["token_required"]
        except ApiError:
            signed_in_helps = False
        if signed_in_helps:
            return f"{action} needs the server's token: Sign in (top right)."
    return err.detail
