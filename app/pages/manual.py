"""The manual, shown by the page itself at `/manual/<page>` (the header's Help link opens
the page for the current tab): the same Markdown files the MkDocs site is built from,
read through the API and drawn by dcc.Markdown, so it works with no network and no build.
"""

import posixpath
import re

from dash import Input, Output, callback, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from backend.services import manual as manual_pages  # the same nav the API serves, for 404s

PREFIX = "/manual"
HELP_FOR_TAB = {"map": "map", "runs": "runs", "distill": "distillation"}
# A Markdown link or image target: `](target)` (titles and angle brackets are not used).
_TARGET = re.compile(r"\]\(([^)\s]+)\)")


def layout() -> html.Div:
    return html.Div(
        [
            html.Nav(id="manual-nav", className="manual-nav", **{"aria-label": "manual"}),
            html.Article(
                dcc.Markdown(id="manual-body", className="manual-body", link_target="_self"),
                id="manual-article",
            ),
        ],
        className="manual",
    )


def is_manual(pathname: str | None) -> bool:
    path = pathname or "/"
    return path == PREFIX or path.startswith(PREFIX + "/")


def is_known_page(pathname: str | None) -> bool:
    """Whether a manual path names a page of the manual's navigation (else it is a 404)."""
    names = {entry.name for entry in manual_pages.contents()}
    return is_manual(pathname) and page_name(pathname or "") in names


def help_href(tab: str | None, pathname: str | None) -> str:
    """Where the header's Help link goes: the manual's page for the tab, or on a manual
    page that page itself."""
    if is_manual(pathname):
        return pathname
    return f"{PREFIX}/{HELP_FOR_TAB.get(tab or '', 'index')}"


def page_name(pathname: str) -> str:
    return pathname.removeprefix(PREFIX).strip("/") or "index"


def rewrite_links(markdown: str, name: str) -> str:
    """Relative links between the manual's pages point at `/manual/<page>`, its pictures
    at the API; other links (web addresses, the server's /docs) stay as written."""
    folder = posixpath.dirname(name)

    def target(match: re.Match) -> str:
        link = match.group(1)
        if re.match(r"^[a-z]+:|^/|^#", link):
            return match.group(0)
        path, _, anchor = link.partition("#")
        resolved = posixpath.normpath(posixpath.join(folder, path))
        if resolved.startswith("images/"):
            return f"](/api/manual/images/{resolved.removeprefix('images/')})"
        if resolved.endswith(".md"):
            return f"]({PREFIX}/{resolved.removesuffix('.md')}{'#' + anchor if anchor else ''})"
        return match.group(0)

    return _TARGET.sub(target, markdown)


def _nav(contents: list[dict], current: str) -> list:
    items, section = [], None
    for entry in contents:
        if entry["section"] != section:
            section = entry["section"]
            if section:
                items.append(html.Div(section, className="manual-section"))
        link_class = "manual-link current" if entry["name"] == current else "manual-link"
        href = f"{PREFIX}/{entry['name']}"
        items.append(dcc.Link(entry["title"], href=href, className=link_class))
    return items


@callback(
    Output("manual-nav", "children"),
    Output("manual-body", "children"),
    Input("shell-url", "pathname"),
)
async def show_page(pathname):
    if not is_manual(pathname):  # another tab: the hidden manual keeps what it shows
        return no_update, no_update
    name = page_name(pathname)
    try:
        contents = await api_client.manual_contents()
    except ApiError as err:
        return [], f"The manual could not be read: {err.detail}"
    try:
        page = await api_client.manual_page(name)
    except ApiError as err:
        return _nav(contents, name), f"# Page not found\n\n{err.detail}."
    return _nav(contents, name), rewrite_links(page["markdown"], name)
