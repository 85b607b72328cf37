"""A job's cost, asked of the server before its start button is pressed: a line that
says it, and a second click for a job estimated above an hour."""

from dash import html

from app import api_client
from app.api_client import ApiError
from app.components.ui import message

CONFIRM_S = 3600
"""Jobs estimated above this ask for a second click before they start."""


async def estimate(kind: str, config: dict) -> dict | None:
    """{seconds, words, ceiling_s} from POST /api/jobs/estimate; None when the server
    cannot say (a reader without the token, a config it refuses: the submit says why)."""
    try:
        return await api_client.estimate_job(kind, config)
    except ApiError:
        return None


def cost_line(found: dict | None, what: str = "Estimated time") -> html.Div | None:
    """`Estimated time: about 12 min (…)`, and when it is above the server's ceiling,
    that the server refuses it."""
    if not found or found["seconds"] is None:
        return None
    text = f"{what}: {found['words']} ({found['basis']})."
    if found["seconds"] > found["ceiling_s"]:
        hours = found["ceiling_s"] / 3600
        text += f" That is above this server's ceiling of {hours:g} h a job: ask for less."
    return html.Div(text, className="job-cost muted")


async def second_click(kind: str, config: dict, asked, button: str):
    """(None, None) to start the job now; else (a warning to show, what to remember as
    asked) for a job above an hour that was not asked for just before with this config."""
    found = await estimate(kind, config)
    if not found or found["seconds"] is None or found["seconds"] <= CONFIRM_S:
        return None, None
    if asked == [kind, config]:
        return None, None
    text = (
        f"This {kind} job is estimated at {found['words']} ({found['basis']}). "
        f"Press {button} again to start it."
    )
    return message(text, "warning"), [kind, config]
