"""Next to the teacher: what it is (a trained run or a loaded model), the images its
students train on, and the knowledge file the static methods read in its place."""

from pathlib import PurePosixPath

from dash import Input, Output, State, callback, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.kd_summary import role
from app.components.ui import message


def human_bytes(n: int) -> str:
    """`1,160` -> `1.2 kB` (powers of 1,000, as file managers show sizes)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def knowledge_text(k: dict) -> str:
    """`1.2 kB — logit layer fc (10 × 64-d)`, the hint layers first as in the file."""
    parts = []
    for layer in k["layers"]:
        name = (
            f"logit layer {layer['path']}" if layer["path"] == k["logit_layer"] else layer["path"]
        )
        parts.append(f"{name} ({layer['width']:,} × {k['vector_dim']}-d)")
    return f"{human_bytes(k['bytes'])} — {', '.join(parts)}"


def _classes_text(classes: list[str]) -> str:
    shown = ", ".join(classes[:10]) + (", …" if len(classes) > 10 else "")
    return f"{len(classes)} classes: {shown}"


def _arch(arch: str) -> str:
    """A model file's reference by its file name (`petal_net.py:build`), others as they are."""
    path, _, attribute = arch.rpartition(":")
    return f"{PurePosixPath(path).name}:{attribute}" if "/" in path else arch


def _what(facts: dict) -> str:
    images = facts["train_images"]
    data = f"{facts['dataset']}, {images:,} training images" if images else facts["dataset"]
    if facts["kind"] == "align":
        source = f", weights from {facts['source']}" if facts.get("source") else ""
        return f"Loaded model {_arch(facts['arch'])}{source} · {data}"
    return f"Trained run of {_arch(facts['arch'])} · {data}"


def facts_view(facts: dict, infos: dict) -> list:
    k = facts["knowledge"]
    made = "" if k["exists"] else " (made from the teacher's vectors by the first static job)"
    lines = [
        html.Div(_what(facts), id="distill-teacher-what"),
        html.Div(
            [
                html.Abbr(
                    "Knowledge file",
                    title="What the knowledge-file methods read in place of the teacher: "
                    "each layer's semantic vectors (neurons × vector dimension). The teacher "
                    "itself is never loaded for them.",
                ),
                f": {knowledge_text(k)}; {_classes_text(k['classes'])}{made}",
            ],
            id="distill-knowledge",
            title=f"{k['file']}, {k['bytes']:,} bytes",
        ),
    ]
    if facts.get("data_problem"):
        text = (
            f"Its training images cannot be read, so no student can train: {facts['data_problem']}"
        )
        lines.append(message(text, "error"))
    if not facts["logits_are_classes"]:
        free = ", ".join(m for m, info in (infos or {}).items() if role(info) == "free")
        text = (
            f"Its logit layer has {facts['logits']:,} outputs of its own, not its dataset's "
            f"{len(k['classes'])} classes: only the methods that need no teacher ({free}) "
            "can use it."
        )
        lines.append(message(text, "warning"))
    return lines


@callback(
    Output("distill-teacher-facts", "children"),
    Output("distill-teacher-info", "data"),
    Input("distill-teacher", "value"),
    Input("distill-method-info", "data"),
    State("distill-teacher-info", "data"),
)
async def distill_teacher_facts(teacher, infos, shown):
    if not teacher:
        return None, None
    try:
        facts = await api_client.teacher(teacher)
    except ApiError as err:
        if shown and shown.get("run") == teacher:
            return no_update, no_update
        return message(await error_text(err, "Reading the teacher"), "error"), None
    return facts_view(facts, infos), facts
