"""Ablating a run's neurons on its held-out split, and the cached results.

Results live in the run folder, `ablations/<key>.json` for a selection (the key is made
from the neurons, the mode and the control's draws and seed, so the same question is
answered from the cache, and a link holding the key restores it) and
`ablations/sweep-<mode>-<layer>.json` for a whole-layer sweep.
"""

import hashlib
import json
from pathlib import Path

from backend.core.devices import resolve_device
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.runs.store import Run, write_json
from backend.training.config import DataConfig

MODES = ("zero", "mean")
SPLIT = "test"


class AblationNotFoundError(SemvecError, LookupError):
    pass


def selection_ids(run: Run, refs: list[int | str]) -> list[int]:
    """The neurons named by ids (`17`) or names (`conv3:5`), sorted and without repeats;
    SemvecError naming the first that is not a neuron of `run`."""
    if not refs:
        raise SemvecError(
            "the selection is empty: give at least one neuron (an id such as 17 or a name "
            "such as conv3:5), or `layer` to sweep a whole layer"
        )
    index = run.index()
    n, paths = len(index), [layer.path for layer in index.layers]
    ids = set()
    for ref in refs:
        text = str(ref).strip()
        if text.isdigit():
            if int(text) >= n:
                raise SemvecError(
                    f"neuron id {text} is not a neuron of run {run.id}: its ids are 0..{n - 1}"
                )
            ids.add(int(text))
            continue
        path, _, channel = text.rpartition(":")
        if path not in paths:
            raise SemvecError(
                f"neuron {text!r} is not a neuron of run {run.id} (a neuron of another run?): "
                f"it has no layer {path!r}; its layers are {', '.join(paths)}"
            )
        width = index.layer(path).width
        if not channel.isdigit() or int(channel) >= width:
            raise SemvecError(
                f"neuron {text!r} is not a neuron of run {run.id}: layer {path} has "
                f"channels 0..{width - 1}"
            )
        ids.add(index.layer(path).offset + int(channel))
    return sorted(ids)


def check_layer(run: Run, path: str) -> str:
    paths = run.layer_paths()
    if path not in paths:
        raise SemvecError(
            f"run {run.id} has no layer {path!r} to sweep: its layers are {', '.join(paths)}"
        )
    return path


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise SemvecError(f"unknown ablation mode {mode!r}: use zero or mean")
    return mode


def ablation_key(ids: list[int], mode: str, draws: int, seed: int) -> str:
    text = json.dumps({"neurons": sorted(ids), "mode": mode, "draws": draws, "seed": seed})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def result_path(run: Run, key: str) -> Path:
    if not (len(key) == 16 and all(c in "0123456789abcdef" for c in key)):
        raise AblationNotFoundError(f"{key!r} is not an ablation key (16 hex digits)")
    return run.folder / "ablations" / f"{key}.json"


def sweep_path(run: Run, layer: str, mode: str) -> Path:
    # Module paths are dotted names; the digest keeps any other character out of the name.
    digest = hashlib.sha256(layer.encode()).hexdigest()[:8]
    return run.folder / "ablations" / f"sweep-{mode}-{digest}.json"


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def cached_result(run: Run, key: str) -> dict | None:
    return _read(result_path(run, key))


def cached_sweep(run: Run, layer: str, mode: str) -> dict | None:
    return _read(sweep_path(run, layer, mode))


def result(run: Run, key: str) -> dict:
    found = cached_result(run, key)
    if found is None:
        raise AblationNotFoundError(
            f"run {run.id} has no ablation {key}: it was never run here (or the run was "
            "made again); select the neurons and press Ablate"
        )
    return found


def _prepare(run: Run, device: str, reporter: Reporter):
    """(model, held-out split, baseline, device)."""
    from backend.ablation.measure import baseline
    from backend.data import load_split

    dev = resolve_device(device)
    split = load_split(DataConfig.model_validate(run.meta.dataset).spec(), SPLIT)
    if not split.labelled:
        raise SemvecError(
            f"run {run.id}'s images have no labels: ablation measures each class's accuracy, "
            "so it needs a dataset with classes"
        )
    model = run.build_model().to(dev)
    batch = 256
    reporter.stage("baseline", -(-len(split) // batch))
    base = baseline(
        model, run.layer_paths(), split.batches(batch, shuffle=False), dev, reporter.advance
    )
    return model, split, base, dev


def ablate_run(
    run: Run,
    ids: list[int],
    mode: str = "zero",
    draws: int = 5,
    seed: int = 0,
    device: str = "auto",
    reporter: Reporter | None = None,
) -> dict:
    """Ablate `ids` and their control on the held-out split; writes and returns the result."""
    from backend.ablation.experiment import ablate_selection

    reporter = reporter or Reporter()
    model, split, base, dev = _prepare(run, device, reporter)
    out = ablate_selection(model, run.index(), base, split, ids, mode, draws, seed, dev, reporter)
    key = ablation_key(ids, mode, draws, seed)
    out = {"run": run.id, "key": key, "split": SPLIT} | out
    path = result_path(run, key)
    path.parent.mkdir(exist_ok=True)
    write_json(path, out)
    reporter.message(
        f"ablated {len(ids)} neurons of {run.id} ({mode}): accuracy "
        f"{out['base']['accuracy']:.1%} -> {out['selection']['accuracy']:.1%}"
    )
    return out


def sweep_run(
    run: Run, layer: str, mode: str = "zero", device: str = "auto", reporter=None
) -> dict:
    """Every neuron of `layer` ablated alone; writes and returns the result."""
    from backend.ablation.experiment import sweep_layer

    reporter = reporter or Reporter()
    model, split, base, dev = _prepare(run, device, reporter)
    out = {"run": run.id, "split": SPLIT} | sweep_layer(
        model, run.index(), base, split, layer, mode, dev, reporter
    )
    path = sweep_path(run, layer, mode)
    path.parent.mkdir(exist_ok=True)
    write_json(path, out)
    return out


def effects(run: Run, mode: str) -> dict:
    """Every neuron's own ablation effect (change of accuracy, points) where its layer
    has been swept in `mode`; None elsewhere."""
    index = run.index()
    values: list[float | None] = [None] * len(index)
    swept = []
    for layer in index.layers:
        found = cached_sweep(run, layer.path, mode)
        if found is None or found.get("width") != layer.width:
            continue
        swept.append(layer.path)
        values[layer.offset : layer.offset + layer.width] = found["delta_accuracy"]
    return {"mode": mode, "swept": swept, "values": values}
