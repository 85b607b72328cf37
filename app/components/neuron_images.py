"""The images of the neuron panel: the top images with their heatmaps, bottom-activating
and random samples beside them (as OpenAI Microscope shows), each with its dataset index,
true and predicted class; a click enlarges one."""

from dash import html

from app import api_client

TILE_PX, SAMPLE_PX, ZOOM_PX = 240, 160, 512
"""Sizes fetched (about twice the shown size, for sharp screens)."""

HEAT_LEGEND = (
    "heatmap: the photo stays bright where the neuron fires and dims where it does not "
    "(relative to each image's peak); orange line: half the peak; grey: outside the "
    "centre crop the model saw. Number: activation; #: dataset index. Click an image to "
    "enlarge it."
)


def _classes_line(row: dict) -> str:
    """`true flower · model: china 91%` (parts left out when unknown)."""
    parts = []
    if row.get("label_name") is not None:
        parts.append(f"true {row['label_name']}")
    if row.get("prediction_name") is not None:
        confidence = row.get("confidence")
        share = f" {confidence:.0%}" if confidence is not None else ""
        parts.append(f"model: {row['prediction_name']}{share}")
    return " · ".join(parts)


def zoom_url(run: str, zoom_id: dict) -> str:
    """The large image a tile's id stands for."""
    if zoom_id["kind"] == "top":
        return api_client.image_url(run, zoom_id["neuron"], zoom_id["rank"], ZOOM_PX)
    return api_client.dataset_image_url(run, zoom_id["image"], ZOOM_PX)


def _tile(src: str, zoom: dict, row: dict, what: str, css: str) -> html.Button:
    """One image: a button that enlarges it (`zoom`: what `zoom_url` reads), with its
    value, index and classes below."""
    caption = [
        html.Span(f"{row['value']:.2f}", className="tile-value"),
        html.Span(f" #{row['image']}", className="tile-index", title="dataset index"),
    ]
    classes = _classes_line(row)
    text = f"{what}, image #{row['image']}, activation {row['value']:.3f}"
    return html.Button(
        [
            html.Img(src=src, alt=text, className="tile-image"),
            html.Span(caption, className="tile-caption"),
            html.Span(classes, className="tile-classes") if classes else None,
        ],
        id={"type": "explorer-zoom-open", **zoom},
        className=f"tile {css}",
        title=f"{text}. {classes}",
        n_clicks=0,
    )


def _samples(run: str, d: dict, kind: str, title: str, hint: str, element_id: str):
    rows = d.get(kind, [])
    if not rows:
        return None
    tiles = [
        _tile(
            api_client.dataset_image_url(run, r["image"], SAMPLE_PX),
            {"kind": kind, "neuron": d["id"], "rank": i, "image": r["image"]},
            r,
            title.lower(),
            "sample-tile",
        )
        for i, r in enumerate(rows)
    ]
    return html.Div(
        [html.H5(title, title=hint), html.Div(tiles, className="sample-grid", id=element_id)],
        className="samples",
    )


def _model_view(d: dict) -> html.Div | None:
    """What the model itself calls the top images, when its classes are not the images'."""
    if not d.get("model_classes_differ") or not d.get("model_top_classes"):
        return None
    counts = ", ".join(f"{c['name']} ×{c['count']}" for c in d["model_top_classes"])
    return html.Div(
        [html.B("The model calls these top images: "), counts],
        className="model-view",
        id="neuron-model-classes",
        title="the model's own top class (argmax of its output) for each top image",
    )


def top_images(run: str, d: dict) -> html.Div:
    if not d["top"]:
        return html.P("No top images: this run has not been analysed.", className="muted")
    tiles = [
        _tile(
            api_client.image_url(run, d["id"], t["rank"], TILE_PX),
            {"kind": "top", "neuron": d["id"], "rank": t["rank"], "image": t["image"]},
            t,
            f"top image {t['rank'] + 1}",
            "top-tile",
        )
        for t in d["top"]
    ]
    parts = [
        html.H4(
            "Top image" if len(tiles) == 1 else f"Top {len(tiles)} images",
            title="the images with the highest mean activation",
        ),
        html.Div(tiles, className="top-grid", id="neuron-top-images"),
        html.Div(HEAT_LEGEND, className="muted", id="neuron-heat-legend"),
        _model_view(d),
        html.Div(
            [
                _samples(
                    run,
                    d,
                    "bottom",
                    "Bottom",
                    "the images with the lowest activation",
                    "neuron-bottom-images",
                ),
                _samples(
                    run,
                    d,
                    "random",
                    "Random",
                    "images drawn at random (the same for every neuron): what the neuron "
                    "does on ordinary images",
                    "neuron-random-images",
                ),
            ],
            className="sample-rows",
        ),
        html.Div(id={"type": "explorer-zoom", "panel": "neuron"}, className="zoom-box"),
    ]
    return html.Div([p for p in parts if p is not None])


def zoomed(src: str, caption: str) -> html.Div:
    """The enlarged image, over the panel; a click anywhere on it closes it."""
    return html.Button(
        [html.Img(src=src, alt=caption, className="zoom-image"), html.Span(caption)],
        id={"type": "explorer-zoom-close", "panel": "neuron"},
        className="zoom",
        title="click to close",
        n_clicks=0,
    )
