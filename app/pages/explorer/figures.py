"""Download figure: which button was pressed goes to assets/figure.js, which makes the
file from what is on screen; the note says which file was saved (or why none was)."""

from dash import ALL, Input, Output, State, clientside_callback

clientside_callback(
    """async function(_png, _svg, panel, view) {
        const ctx = window.dash_clientside.callback_context;
        const id = ctx.triggered_id;
        if (!id) { return window.dash_clientside.no_update; }
        let kind = id === 'explorer-figure-svg' ? 'svg' : 'png';
        if (typeof id === 'object') {
            if (!(panel || []).some(Boolean)) { return window.dash_clientside.no_update; }
            kind = 'panel';
        }
        return await window.semvecFigure.download(kind, view);
    }""",
    Output("explorer-figure-note", "children"),
    Input("explorer-figure-png", "n_clicks"),
    Input("explorer-figure-svg", "n_clicks"),
    Input({"type": "explorer-figure", "panel": ALL}, "n_clicks"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
