"""Checks at submit for what would otherwise fail only in the worker: processes the
machine cannot run, devices it does not have, architecture arguments and layers that do
not build, a checkpoint saved from another architecture, map parameters past the run's
size."""

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


def checkpoint_fits(arch: str, kwargs: dict, checkpoint: str) -> None:
    """The checkpoint's keys (from its header: no weights read) against `arch` built on the
    meta device; ValueError naming the differences and the closest known architectures.
    Shapes are left to the worker: they follow the data's classes and channels."""
    import torch

    from backend.models.fit import choose_instead
    from backend.runs.checkpoint import header_shapes
    from backend.runs.key_diff import differences
    from backend.services.models import build_model

    shapes = header_shapes(checkpoint)
    if shapes is None:  # not safetensors: the worker reads it and says what is wrong
        return
    try:
        with torch.device("meta"):
            model = build_model(arch, kwargs)
    except Exception:  # builders that cannot run on meta: the worker checks with real weights
        return
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    problems = differences(shapes, expected, arch, shapes=False)
    if problems:
        with torch.device("meta"):
            state = {k: torch.empty(s) for k, s in shapes.items()}
        raise ValueError(
            f"these weights do not fit {arch}: {choose_instead(state)}. "
            f"How they differ: {'; '.join(problems)}"
        )


def projection_fits(run: str, method: str, params: dict) -> None:
    from backend.core.settings import get_settings
    from backend.projection.methods import check_fits
    from backend.runs.store import RunStore

    check_fits(method, params, len(RunStore(get_settings().home).open(run).index()))


def student_fits(student: str, dataset: dict) -> None:
    """A distillation student takes the teacher's images: built on the meta device for the
    dataset's channels; ValueError when it cannot take them (a torchvision model and grey
    digits)."""
    import torch

    from backend.core.errors import SemvecError
    from backend.jobs.cost_model import data_facts
    from backend.services.models import build_record

    facts = data_facts(dataset)
    if facts is None:  # the dataset check says what is missing
        return
    try:
        with torch.device("meta"):
            build_record(student, {}, {"in_channels": facts.channels}, load_weights=False)
    except SemvecError as err:
        if "channel" not in str(err):
            raise ValueError(f"the student {student} does not build: {err}") from err
        raise ValueError(
            f"the student {student} takes 3-channel images and the teacher's dataset "
            f"({dataset.get('name')}) has {facts.channels}: choose a student that takes "
            f"{facts.channels} (the zoo's models, or a timm model, which adapts its first layer)"
        ) from err
    except Exception:  # a builder that cannot run on meta: the worker builds it for real
        return
