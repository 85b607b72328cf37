"""Choosing a dataset and the folder of the data home that holds it: the dataset list says
which datasets have files here, the folder list offers only folders inside the data home
and says what each holds. Any form that reads a dataset reuses it (ids prefixed).

    folder_picker("runs-train")  ->  dropdowns runs-train-dataset and runs-train-root
    dataset_choices(folders_answer, dataset) -> (dataset options, root options, root
    disabled, the note under them)
"""

from dash import dcc, html

from app.components.ui import choice, field

BUILT_IN_NOTE = "built in: no folder needed"


def folder_picker(prefix: str, default: str = "digits") -> html.Div:
    return html.Div(
        [
            field("Dataset", choice(f"{prefix}-dataset", default)),
            field(
                "Dataset folder",
                dcc.Dropdown(
                    id=f"{prefix}-root", placeholder=BUILT_IN_NOTE, disabled=True, clearable=True
                ),
            ),
            html.Div(id=f"{prefix}-root-note", className="muted"),
        ],
        className="folder-picker",
    )


def dataset_choices(answer: dict, names: list[str], dataset: str | None):
    """What the picker shows for `answer` (GET /api/datasets/folders) and the registered
    dataset `names`, with `dataset` chosen."""
    folders, built_in = answer["data"], set(answer["built_in"])
    holding = {name: [f for f in folders if name in f["datasets"]] for name in names}

    def label(name: str) -> str:
        if name in built_in:
            return f"{name} (built in)"
        n = len(holding[name])
        return (
            f"{name} ({n} folder{'s' if n != 1 else ''} here)" if n else f"{name} (no files here)"
        )

    dataset_options = [{"label": label(n), "value": n} for n in names]
    if dataset in built_in or dataset is None:
        return dataset_options, [], True, ""
    roots = [
        {
            "label": f"{f['name']}/ — "
            + (", ".join(f["datasets"]) if f["datasets"] else "no dataset files"),
            "value": f["path"],
        }
        for f in sorted(folders, key=lambda f: dataset not in f["datasets"])
    ]
    where = f"the data home's {answer['folder']}/"  # the server shows no absolute paths
    if holding.get(dataset):
        note = f"Folders inside {where} that hold {dataset} come first."
    else:
        note = (
            f"No folder here holds {dataset}: copy its files into a folder inside {where} "
            f"(e.g. {answer['folder']}/{dataset}), then choose it."
        )
    return dataset_options, roots, False, note


def picker_callback(prefix: str, shown_when: tuple[str, str]) -> None:
    """Fill the picker `prefix` while the input `shown_when` (an Interval's `disabled`,
    False while its tab is shown) says it is on screen."""
    from dash import Input, Output, State, callback, no_update

    from app import api_client
    from app.api_client import ApiError

    @callback(
        Output(f"{prefix}-dataset", "options"),
        Output(f"{prefix}-root", "options"),
        Output(f"{prefix}-root", "disabled"),
        Output(f"{prefix}-root-note", "children"),
        Output(f"{prefix}-root", "value"),
        Input(f"{prefix}-dataset", "value"),
        Input(*shown_when),
        State(f"{prefix}-root", "options"),
        State(f"{prefix}-root", "value"),
    )
    async def fill(dataset, hidden, shown_roots, root):
        if hidden:
            return (no_update,) * 5
        try:
            names, answer = await api_client.datasets(), await api_client.dataset_folders()
        except ApiError:
            return (no_update,) * 5
        datasets, roots, disabled, note = dataset_choices(answer, names, dataset)
        holding = [f["path"] for f in answer["data"] if dataset in f["datasets"]]
        # Keep a folder that holds the dataset; else offer the first one that does.
        root = no_update if root in holding else (holding[0] if holding else None)
        return datasets, no_update if roots == shown_roots else roots, disabled, note, root
