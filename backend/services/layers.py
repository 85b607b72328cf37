"""A model's layers as `semvec layers` and the page's layer picker show them."""

from dataclasses import dataclass

import torch

from backend.core.errors import SemvecError
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


def _blank_record(target: str):
    """The architecture on the meta device where it builds there (no memory, no init:
    tracing a 600M-parameter ViT for its shapes costs nothing), else on the CPU."""
    try:
        with torch.device("meta"):
            return build_record(target, load_weights=False)
    except SemvecError:
        raise
    except Exception:  # a few builders compute on tensors: build for real
        return build_record(target, load_weights=False)


def _guess_input(record) -> tuple[int, int]:
    """(channels, side) for an architecture traced without data."""
    if record.preprocess and record.preprocess.crop:
        return 3, record.preprocess.crop
    if ":" in record.ref:
        return 3, 224
    return (1, 8) if record.ref.startswith("digits") else (3, 32)


def layer_table(target: str, data: DataConfig | None, layers: list[str] | None) -> LayerTable:
    """The modules of `target` (a run, or an architecture reference) traced on one batch of
    `data` (the run's own data, or a blank image of the model's input size when None)."""
    from backend.data import load_split
    from backend.services.loading import with_preprocess

    found = _run_model(target)
    if found is not None:
        run, model, run_data = found
        data = data or run_data
        model.probed_layers = layers or run.layer_paths()
        label_model = f"run {run.id} ({run.meta.arch})"
    else:
        record = _blank_record(target) if data is None else build_record(target, load_weights=False)
        model, label_model = record.model, target
    if data is not None:
        if found is None:
            data = with_preprocess(data, record)
            split = load_split(data.spec(), "test")
            record = build_record(
                target,
                hints={"num_classes": len(split.classes), "in_channels": split.in_channels},
                load_weights=False,
            )
            model = record.model
        else:
            split = load_split(data.spec(), "test")
        x = next(iter(split.batches(2)))[0]
        label_input = f"{data.name} images {tuple(x.shape[1:])}"
    else:
        channels, side = _guess_input(record)
        x = torch.zeros(2, channels, side, side, device=next(model.parameters()).device)
        label_input = f"a blank {channels}x{side}x{side} input (pass --dataset to use images)"
    try:
        modules = trace(model, x)
    except RuntimeError as err:
        raise SemvecError(f"{label_model} failed on {label_input}: {err}") from err
    chosen = probed_layers(model, layers)
    widths = {m.path: m.channels for m in modules}
    return LayerTable(
        label_model, label_input, modules, chosen, sum(widths.get(p, 0) for p in chosen)
    )
