"""Checks at submit for what would otherwise fail only in the worker: processes the
machine cannot run, devices it does not have, architecture arguments and layers that do
not build, map parameters past the run's size."""

import os


def max_ranks() -> int:
    """Processes a job may start here: one per GPU; on a CPU machine at most 4 (and no
    more than its cores), as every gloo rank holds a whole copy of the model and data."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, min(4, os.cpu_count() or 1))


def ranks_fit(gpus: int) -> int:
    cap = max_ranks()
    if gpus > cap:
        import torch

        what = f"{cap} GPU(s)" if torch.cuda.is_available() else f"no GPU; at most {cap} on CPU"
        raise ValueError(f"gpus {gpus} is more processes than this machine runs ({what})")
    return gpus


def device_exists(name: str) -> str:
    from backend.core.devices import resolve_device
    from backend.core.errors import SemvecError

    try:
        resolve_device(name)
    except SemvecError as err:
        raise ValueError(str(err)) from err
    return name


def builds(arch: str, kwargs: dict, layers: list[str] | None) -> None:
    """Build `arch` with `kwargs` on the meta device (no memory, no weights read) and check
    `layers` against it; ValueError saying what does not fit."""
    import torch

    from backend.services.models import build_model, probed_layers

    try:
        with torch.device("meta"):
            model = build_model(arch, kwargs)
    except Exception as err:  # a wrong argument name, type or value: any error the builder has
        raise ValueError(f"arch_kwargs {kwargs} do not build {arch}: {err}") from err
    try:
        probed_layers(model, layers)
    except Exception as err:
        raise ValueError(str(err)) from err


def projection_fits(run: str, method: str, params: dict) -> None:
    from backend.core.settings import get_settings
    from backend.projection.methods import check_fits
    from backend.runs.store import RunStore

    check_fits(method, params, len(RunStore(get_settings().home).open(run).index()))
