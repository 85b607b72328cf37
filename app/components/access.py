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


async def error_text(err: ApiError, action: str, labels: dict[str, str] | None = None) -> str:
    """What went wrong with `action` ("Starting jobs"): for a refused write on a server with
    a token, how to get the right; for invalid input, each field by the name the page gives
    it (`labels`: API field -> label); otherwise the API's own words."""
    if err.status == 401:
        try:
            signed_in_helps = (await api_client.access())["token_required"]
        except ApiError:
            signed_in_helps = False
        if signed_in_helps:
            return f"{action} needs the server's token: Sign in (top right)."
    return in_words(err, labels or {})


_PYDANTIC = (
    ("Input should be less than or equal to ", "must be at most "),
    ("Input should be greater than or equal to ", "must be at least "),
    ("Input should be less than ", "must be below "),
    ("Input should be greater than ", "must be above "),
    ("Input should be a valid integer", "must be a whole number"),
    ("Input should be a valid number", "must be a number"),
    ("Field required", "is needed"),
    ("Value error, ", ""),
)
_PLUMBING = {"body", "query", "path", "config", "data"}
"""Parts of a validation path that name the request's structure, not a field."""


def in_words(err: ApiError, labels: dict[str, str]) -> str:
    """The API's refusal without validation paths: `Epochs must be at most 1000`."""
    if not err.errors:
        detail = err.detail
        for key, label in labels.items():
            detail = detail.replace(key, label)
        return detail
    parts = []
    for e in err.errors:
        keys = [str(p) for p in e.get("loc", []) if str(p) not in _PLUMBING]
        key = keys[-1] if keys else ""
        msg = str(e.get("msg", ""))
        for raw, said in _PYDANTIC:
            msg = msg.replace(raw, said)
        label = labels.get(key, key.replace("_", " "))
        if not label:
            parts.append(msg)
        else:
            parts.append(f"{label} {msg}" if msg.startswith("must") else f"{label}: {msg}")
    return "; ".join(parts)
