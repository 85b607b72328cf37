"""The Runs tab's *Load a model* form: an architecture the server knows (zoo, torchvision,
timm, installed packages, the owner's model files), its weights (an uploaded checkpoint or
published weights in the server's cache), an image folder inside the data home, the
preprocessing (prefilled from the weights), the layers to probe (with channel counts and
the total), then an `align` job whose progress the jobs table shows."""

import base64
from pathlib import PurePath

from dash import Input, Output, State, callback, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.folder_picker import folder_picker, picker_callback
from app.components.job_cost import cost_line, estimate, second_click
from app.components.ui import field, message

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".th", ".bin", ".ckpt", ".tar")
UPLOAD = "upload"


def _number(component_id: str, low: int, high: int, value=None, placeholder=""):
    return dcc.Input(
        id=component_id,
        type="number",
        min=low,
        max=high,
        step=1,
        value=value,
        placeholder=placeholder,
        debounce=True,
    )


def form() -> html.Fieldset:
    return html.Fieldset(
        [
            html.Legend("Load a model and align it"),
            field("Source", dcc.Dropdown(id="load-source", clearable=False)),
            field("Architecture", dcc.Dropdown(id="runs-align-arch", placeholder="search…")),
            field(
                "Weights",
                dcc.Dropdown(
                    id="load-weights",
                    value=UPLOAD,
                    clearable=False,
                    options=[{"label": "an uploaded checkpoint", "value": UPLOAD}],
                ),
            ),
            dcc.Upload(
                html.Div(
                    [
                        "Drop a checkpoint here, or ",
                        html.A("choose one"),
                        html.Div(
                            ".safetensors, or a weights-only torch file (.pt .pth .th .bin .ckpt)",
                            className="muted",
                        ),
                    ]
                ),
                id="runs-upload",
                className="upload",
            ),
            html.Div(id="runs-upload-name", className="muted"),
            folder_picker("runs-align"),
            html.Div(
                [
                    field("Resize (px)", _number("load-resize", 4, 1024, placeholder="dataset's")),
                    field("Crop (px)", _number("load-crop", 4, 1024, placeholder="= resize")),
                    field(
                        "Mean",
                        dcc.Input(id="load-mean", type="text", placeholder="e.g. 0.49,0.48,0.45"),
                    ),
                    field(
                        "Std", dcc.Input(id="load-std", type="text", placeholder="e.g. 0.2,0.2,0.2")
                    ),
                ],
                className="field-row",
            ),
            html.Div(id="load-preprocess-note", className="muted"),
            field("Layers to probe", dcc.Checklist(id="load-layers", className="layer-picker")),
            html.Div(id="load-layers-total", className="muted"),
            field(
                "Alignment steps after the eigen-start (0-100,000)",
                _number("load-steps", 0, 100_000, 200),
            ),
            dcc.Store(id="load-layer-order"),
            dcc.Store(id="load-confirm"),
            html.Button("Load and align", id="runs-align-go", className="primary", n_clicks=0),
            html.Div(id="load-cost"),
        ],
        className="form",
    )


def _ref(source: str, name: str) -> str:
    return name if source in ("zoo", "file") else f"{source}:{name}"


picker_callback("runs-align", ("runs-poll", "disabled"))


@callback(
    Output("load-source", "options"),
    Output("load-source", "value"),
    Output("load-architectures", "data"),
    Input("runs-poll", "disabled"),
)
async def load_choices(disabled):
    if disabled:  # the tab is not shown
        return no_update, no_update, no_update
    try:
        sources = await api_client.architectures()
    except ApiError:
        return no_update, no_update, no_update
    options = [
        {
            "label": f"{s['title']} ({len(s['names'])})",
            "value": s["source"],
            "disabled": not s["names"],
        }
        for s in sources
    ]
    catalogue = {s["source"]: [_ref(s["source"], n) for n in s["names"]] for s in sources}
    return options, "zoo", catalogue


@callback(
    Output("runs-align-arch", "options"),
    Input("load-source", "value"),
    State("load-architectures", "data"),
    prevent_initial_call=True,
)
def load_architectures(source, catalogue):
    return (catalogue or {}).get(source, [])


@callback(
    Output("load-weights", "options"),
    Output("load-weights", "value"),
    Output("load-layers", "options"),
    Output("load-layers", "value"),
    Output("load-layers-total", "children"),
    Output("load-layer-order", "data"),
    Input("runs-align-arch", "value"),
    prevent_initial_call=True,
)
async def load_arch_details(arch):
    upload = [{"label": "an uploaded checkpoint", "value": UPLOAD}]
    if not arch:
        return upload, UPLOAD, [], [], "", []
    try:
        published = await api_client.published_weights(arch)
        traced = await api_client.architecture_layers(arch)
    except ApiError as err:
        return upload, UPLOAD, [], [], message(err.detail, "error"), []
    weights = upload + [
        {
            "label": f"published {w['name']} ({w['classes']} classes)"
            + (
                ""
                if w["present"]
                else f" — not in the server's cache: put {w['file']} into "
                "$TORCH_HOME/hub/checkpoints"
            ),
            "value": w["name"],
            "disabled": not w["present"],
        }
        for w in published
    ]
    layers = [
        {"label": f"{row['path']} ({row['type']}, {row['channels']} ch)", "value": row["path"]}
        for row in traced["layers"]
        if row["probed"] or row["type"] not in ("Identity", "Dropout", "Flatten")
    ]
    # The default probe first (it is what most people keep), the other modules below.
    layers.sort(key=lambda option: option["value"] not in traced["probed"])
    order = [row["path"] for row in traced["layers"]]
    total = _total(traced["layers"], traced["probed"])
    return weights, UPLOAD, layers, traced["probed"], total, order


def in_run_order(chosen: list[str], order: list[str]) -> list[str]:
    """The chosen layers in the order the modules run (the picker keeps the order of the
    clicks), so the logit layer stays last."""
    return sorted(chosen, key=lambda path: order.index(path) if path in order else len(order))


def _total(rows: list[dict], chosen: list[str]) -> str:
    widths = {row["path"]: row["channels"] for row in rows}
    chosen = in_run_order(chosen, [row["path"] for row in rows])
    count = sum(widths.get(p, 0) for p in chosen)
    last = f"; the last one, {chosen[-1]}, is read as the logit layer" if chosen else ""
    return f"{count:,} neurons in {len(chosen)} layers{last}"


@callback(
    Output("load-layers-total", "children", allow_duplicate=True),
    Input("load-layers", "value"),
    State("runs-align-arch", "value"),
    prevent_initial_call=True,
)
async def load_layers_total(chosen, arch):
    if not arch:
        return no_update
    try:
        traced = await api_client.architecture_layers(arch)
    except ApiError:
        return no_update
    return _total(traced["layers"], chosen or [])


@callback(
    Output("load-resize", "value"),
    Output("load-crop", "value"),
    Output("load-mean", "value"),
    Output("load-std", "value"),
    Output("load-preprocess-note", "children"),
    Input("load-weights", "value"),
    State("runs-align-arch", "value"),
    prevent_initial_call=True,
)
async def load_prefill(weights, arch):
    if weights == UPLOAD or not arch:
        return None, None, "", "", "Leave the preprocessing empty to use the dataset's."
    try:
        published = {w["name"]: w for w in await api_client.published_weights(arch)}
    except ApiError:
        return no_update, no_update, no_update, no_update, no_update
    pre = published.get(weights, {}).get("preprocess", {})
    text = lambda v: ",".join(f"{x:g}" for x in v) if v else ""  # noqa: E731
    return (
        pre.get("image_size"),
        pre.get("crop"),
        text(pre.get("mean")),
        text(pre.get("std")),
        f"Prefilled from the {weights} weights' own transforms.",
    )


@callback(
    Output("runs-upload-name", "children"),
    Input("runs-upload", "filename"),
    prevent_initial_call=True,
)
def runs_upload_name(filename):
    if not filename:
        return ""
    if not filename.lower().endswith(CHECKPOINT_SUFFIXES):
        return message(
            f"{filename} is not a checkpoint semvec reads: use a .safetensors file or a "
            "weights-only torch file (.pt, .pth, .th, .bin, .ckpt)",
            "error",
        )
    return f"ready: {filename}"


def _floats(text: str | None, what: str) -> list[float] | None:
    if not (text or "").strip():
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be numbers separated by commas, e.g. 0.5,0.5,0.5") from None


@callback(
    Output("load-cost", "children"),
    Input("runs-align-arch", "value"),
    Input("load-weights", "value"),
    Input("runs-align-dataset", "value"),
    Input("runs-align-root", "value"),
    Input("load-resize", "value"),
    Input("load-crop", "value"),
    Input("load-layers", "value"),
    Input("load-steps", "value"),
)
async def load_cost(arch, weights, dataset, root, resize, crop, layers, steps):
    """What the job would take, before Load and align is pressed (published weights: an
    uploaded checkpoint is costed once it is uploaded, on the click)."""
    if not arch or not weights or weights == UPLOAD:
        return None
    try:
        data = _data(dataset, root, resize, crop, None, None)
    except ValueError:
        return None
    config = {
        "arch": f"{arch.partition('@')[0]}@{weights}",
        "data": data,
        "align": {"steps": 200 if steps is None else steps},
    }
    if layers:
        config["layers"] = layers
    return cost_line(await estimate("align", config))


def _data(dataset, root, resize, crop, mean, std) -> dict:
    data = {
        "name": dataset or "digits",
        "image_size": resize,
        "crop": crop,
        "mean": _floats(mean, "Mean"),
        "std": _floats(std, "Std"),
    }
    if (root or "").strip():
        data["root"] = root.strip()
    return {k: v for k, v in data.items() if v is not None}


@callback(
    Output("runs-message", "children", allow_duplicate=True),
    Output("load-confirm", "data"),
    Input("runs-align-go", "n_clicks"),
    State("runs-upload", "contents"),
    State("runs-upload", "filename"),
    State("runs-align-arch", "value"),
    State("load-weights", "value"),
    State("runs-align-dataset", "value"),
    State("runs-align-root", "value"),
    State("load-resize", "value"),
    State("load-crop", "value"),
    State("load-mean", "value"),
    State("load-std", "value"),
    State("load-layers", "value"),
    State("load-layer-order", "data"),
    State("load-steps", "value"),
    State("load-confirm", "data"),
    prevent_initial_call=True,
)
async def load_and_align(
    _go,
    contents,
    filename,
    arch,
    weights,
    dataset,
    root,
    resize,
    crop,
    mean,
    std,
    layers,
    layer_order,
    steps,
    asked,
):
    """Upload (or name published weights), then start the `align` job; one estimated above
    an hour on the second click (the stored checkpoint is kept for it)."""
    if weights == UPLOAD and not contents:
        return message("Choose a checkpoint file first, or published weights.", "error"), None
    if not arch:
        return message("Choose the model's architecture.", "error"), None
    if weights == UPLOAD and not filename.lower().endswith(CHECKPOINT_SUFFIXES):
        return message(f"{filename} is not a checkpoint semvec reads.", "error"), None
    try:
        config = {
            "data": _data(dataset, root, resize, crop, mean, std),
            "align": {"steps": 200 if steps is None else steps},
        }
    except ValueError as err:
        return message(str(err), "error"), None
    if layers:
        config["layers"] = in_run_order(layers, layer_order or [])
    try:
        if weights == UPLOAD and asked and asked[1].get("upload") == filename:
            config |= {"arch": arch, "checkpoint": asked[1]["checkpoint"]}  # stored before
            what = f"{filename}: alignment"
        elif weights == UPLOAD:
            raw = base64.b64decode(contents.split(",", 1)[1])
            stored = await api_client.upload_checkpoint(PurePath(filename).name, raw)
            config |= {"arch": arch, "checkpoint": stored["checkpoint"]}
            what = f"Uploaded {filename} ({stored['parameters']:,} parameters); alignment"
        else:
            config["arch"] = f"{arch.partition('@')[0]}@{weights}"
            what = f"{config['arch']}: alignment"
        ask, remember = await second_click("align", config, _plain(asked), "Load and align")
        if ask:
            kept = (
                {"upload": filename, "checkpoint": config["checkpoint"]}
                if weights == UPLOAD
                else {}
            )
            return message(ask, "warning"), [remember, kept]
        job = await api_client.submit_job("align", config)
    except ApiError as err:
        text = await error_text(err, "Uploading and starting jobs")
        return message(f"Not started: {text}", "error"), None
    return message(f"{what} job {job['id']} started: follow it in the jobs table."), None


def _plain(asked):
    """The [kind, config] asked for before, out of the page's [that, the upload kept]."""
    return asked[0] if asked else None
