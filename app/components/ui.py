"""Small pieces every tab uses: a message, a form field, a table, a number or a dash."""

from html import escape as html_escape

from dash import dcc, html

from app.components.glossary import hint

CHART_CONFIG = {"displayModeBar": False}


def plain(text: str) -> str:
    """`text` shown as itself in a Plotly figure: Plotly reads `<a href>`, `<span style>`
    and the like in names, hovers and ticks, and class names come from folder names."""
    return html_escape(str(text), quote=False)


def message(text: str, kind: str = "info") -> html.Div:
    return html.Div(text, className=f"message message-{kind}", role="status")


def field(label: str, component) -> html.Label:
    return html.Label([html.Span(label), component], className="field")


def choice(component_id: str, default: str) -> dcc.Dropdown:
    """A dropdown whose default is an option from the start (a value missing from the
    options is dropped); the real options arrive from the API later."""
    return dcc.Dropdown(id=component_id, options=[default], value=default, clearable=False)


def table(head: list[str], rows: list) -> html.Table:
    """A table whose head cells say what they mean on hover (from the glossary)."""
    cells = [html.Th(html.Abbr(h, title=hint(h)) if hint(h) else h) for h in head]
    return html.Table([html.Thead(html.Tr(cells)), html.Tbody(rows)])


def fmt(value, spec: str) -> str:
    """`value` formatted with `spec`, or "—" when there is none."""
    return "—" if value is None else format(value, spec)
