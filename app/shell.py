"""The page around the tabs: header, tab bar, and which tab the URL's path shows
(`/` the map, `/runs` the runs, `/distill` the distillation; `/manual/...` the manual)."""

from dash import Input, Output, callback, ctx, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import badge
from app.pages import distill, explorer, manual, runs

TABS = {"map": "/", "runs": "/runs", "distill": "/distill"}
TAB_STYLE = {"padding": "6px 14px", "lineHeight": "22px", "background": "#fff"}
TAB_SELECTED = TAB_STYLE | {"borderTop": "2px solid #2b59c3", "fontWeight": 600}


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="shell-url", refresh=False),
            html.Header(
                [
                    html.Img(src="/assets/logo.svg", alt="", className="logo"),
                    html.H1("semvec"),
                    html.Div(id="shell-run-info", className="run-info"),
                    html.Div(id="shell-access", className="access"),
                    html.A(
                        "Help",
                        id="shell-help",
                        href=manual.help_href("map", "/"),
                        target="_blank",
                        title="The manual's page for this tab (opens in a new tab)",
                        className="docs-link",
                    ),
                    html.A("API docs", href="/docs", target="_blank", className="docs-link"),
                ],
                className="header",
            ),
            dcc.Tabs(
                id="shell-tabs",
                value="map",
                children=[
                    dcc.Tab(label=label, value=value, style=TAB_STYLE, selected_style=TAB_SELECTED)
                    for value, label in (
                        ("map", "Map"),
                        ("runs", "Runs"),
                        ("distill", "Distillation"),
                    )
                ],
                style={"height": "36px"},
            ),
            html.Main(
                [
                    html.Div(explorer.layout(), id="shell-page-map"),
                    html.Div(runs.layout(), id="shell-page-runs", style={"display": "none"}),
                    html.Div(distill.layout(), id="shell-page-distill", style={"display": "none"}),
                    html.Div(id="shell-page-missing", style={"display": "none"}),
                    html.Div(manual.layout(), id="shell-page-manual", style={"display": "none"}),
                ]
            ),
        ],
        className="shell",
    )


def tab_of(pathname: str | None) -> str | None:
    """The tab of a path; None for a path the page does not have."""
    path = (pathname or "/").rstrip("/") or "/"
    return next((tab for tab, p in TABS.items() if p == path), None)


def is_page(pathname: str | None) -> bool:
    """Whether the page has this path: a tab's, or a page of the manual's."""
    return tab_of(pathname) is not None or manual.is_known_page(pathname)


def _not_found(pathname: str) -> list:
    return [
        html.H2("Page not found"),
        html.P(f"There is no page {pathname}. The pages are:"),
        html.Ul([html.Li(dcc.Link(f"{label} ({p})", href=p)) for label, p in PAGE_NAMES]),
    ]


PAGE_NAMES = (
    ("Map", "/"),
    ("Runs", "/runs"),
    ("Distillation", "/distill"),
    ("Manual", manual.PREFIX + "/index"),
    ("API docs", "/docs"),
)


@callback(
    Output("shell-url", "pathname"),
    Output("shell-tabs", "value"),
    Output("shell-page-map", "style"),
    Output("shell-page-runs", "style"),
    Output("shell-page-distill", "style"),
    Output("runs-poll", "disabled"),
    Output("distill-poll", "disabled"),
    Output("shell-page-missing", "style"),
    Output("shell-page-missing", "children"),
    Output("shell-page-manual", "style"),
    Input("shell-url", "pathname"),
    Input("shell-tabs", "value"),
)
def shell_tab(pathname, tab):
    shown, hidden = {}, {"display": "none"}
    if ctx.triggered_id != "shell-tabs":
        if manual.is_manual(pathname):  # the manual: no tab is selected
            return no_update, None, hidden, hidden, hidden, True, True, hidden, None, shown
        tab = tab_of(pathname)
        if tab is None:  # an unknown path: say so, keep the path, show no tab's page
            page = html.Div(_not_found(pathname), className="not-found", id="shell-not-found")
            return no_update, None, hidden, hidden, hidden, True, True, shown, page, hidden
    return (
        TABS[tab],
        tab,
        shown if tab == "map" else hidden,
        shown if tab == "runs" else hidden,
        shown if tab == "distill" else hidden,
        tab != "runs",
        tab != "distill",
        hidden,
        None,
        hidden,
    )


@callback(
    Output("shell-help", "href"),
    Input("shell-tabs", "value"),
    Input("shell-url", "pathname"),
)
def shell_help(tab, pathname):
    return manual.help_href(tab, pathname)


@callback(
    Output("shell-access", "children"),
    Input("shell-url", "pathname"),
    Input("shell-url", "search"),
)
async def shell_access(pathname, search):
    try:
        state = await api_client.access()
    except ApiError:
        return []
    return badge(state, (pathname or "/") + (search or ""))
