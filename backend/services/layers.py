"""A model's layers as `semvec layers` and the page's layer picker show them."""

import re
from dataclasses import dataclass
from functools import lru_cache

import torch

from backend.core.errors import SemvecError
from backend.models.shapes_only import shapes_only, to_meta
from backend.models.trace import TracedModule, trace
from backend.services.models import build_record, probed_layers
from backend.training.config import DataConfig


@dataclass
class LayerTable:
    model: str
    input_label: str
    modules: list[TracedModule]
    probed: list[str]
    neurons: int


def _run_model(target: str):
    from backend.core.settings import get_settings
    from backend.runs.store import RunStore

    store = RunStore(get_settings().home)
    if target not in store.ids():
        return None
    run = store.open(target)
    return run, run.build_model(), DataConfig.model_validate(run.meta.dataset)


class NotTraceableError(SemvecError):
    """An architecture whose shapes only a real build would give, where none is allowed."""


def _blank_record(target: str, for_real: bool):
    """The architecture built for its shapes only (no memory, no init: tracing a
    600M-parameter ViT costs nothing); where that fails, built for real if `for_real`
    (the CLI, in the user's own process), else refused: a server never builds a model
    in full to list its layers."""
    try:
        with shapes_only():
            record = build_record(target, load_weights=False)
        to_meta(record.model)
        return record
    except Exception as err:
        if for_real:
            return build_record(target, load_weights=False)
        if isinstance(err, SemvecError) and not re.search(r"\bmeta\b", str(err)):
            raise  # the model's own fault (no logit layer, ...), not the meta device's
        raise NotTraceableError(
            f"{target} cannot be traced without building it in full, which the server does "
            f"not do for a listing: run `semvec layers {target}` on a machine of yours to "
            "see its layers, or pick them from a run of it"
        ) from err


def _guess_input(record) -> tuple[int, int]:
    """(channels, side) for an architecture traced without data."""
    if record.preprocess and record.preprocess.crop:
        return 3, record.preprocess.crop
    if ":" in record.ref:
        return 3, 224
    return (1, 8) if record.ref.startswith("digits") else (3, 32)


def _model_and_input(target: str, data: DataConfig | None, for_real: bool):
    """(model, label, a batch of two inputs, its label) for a run or a reference."""
    from backend.data import load_split
    from backend.services.loading import with_preprocess
    from backend.services.models import data_hints

    found = _run_model(target)
    if found is not None:
        run, model, run_data = found
        model.probed_layers = run.layer_paths()
        label, data = f"run {run.id} ({run.meta.arch})", data or run_data
    elif data is None:
        record = _blank_record(target, for_real)
        channels, side = _guess_input(record)
        x = torch.zeros(2, channels, side, side, device=next(record.model.parameters()).device)
        blank = f"a blank {channels}x{side}x{side} input (pass --dataset to use images)"
        return record.model, target, x, blank
    else:
        data = with_preprocess(data, build_record(target, load_weights=False))
        label = target
    split = load_split(data.spec(), "test")
    if found is None:
        model = build_record(target, hints=data_hints(split), load_weights=False).model
    x = next(iter(split.batches(2)))[0]
    return model, label, x, f"{data.name} images {tuple(x.shape[1:])}"


def layer_table(
    target: str, data: DataConfig | None, layers: list[str] | None, for_real: bool = True
) -> LayerTable:
    """The modules of `target` (a run, or an architecture reference) traced on one batch of
    `data` (the run's own data, or a blank image of the model's input size when None).
    `for_real=False` (the server) refuses an architecture that only a full build traces."""
    model, label, x, input_label = _model_and_input(target, data, for_real)
    try:
        modules = trace(model, x)
    except RuntimeError as err:
        raise SemvecError(f"{label} failed on {input_label}: {err}") from err
    chosen = probed_layers(model, layers)
    widths = {m.path: m.channels for m in modules}
    neurons = sum(widths.get(path, 0) for path in chosen)
    return LayerTable(label, input_label, modules, chosen, neurons)


@lru_cache(maxsize=256)
def _shapes_of(target: str) -> LayerTable:
    return layer_table(target, None, None, for_real=False)


def architecture_layers(target: str) -> LayerTable:
    """`layer_table` of an architecture reference for the server: shapes only (never a real
    build), kept while the server runs since a catalogue name's layers never change (a
    user's file may, so its table is traced afresh)."""
    from backend.models import is_user_code

    if is_user_code(target):
        return layer_table(target, None, None, for_real=False)
    return _shapes_of(target)
