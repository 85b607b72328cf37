"""The `visualize` job kind: optimised images of one neuron, a few, or a whole layer
(backend.services.feature_viz). Neurons already visualised are skipped, so asking again
costs nothing; the result is the run's id."""

from pydantic import BaseModel, Field, field_validator, model_validator

from backend.jobs import checks
from backend.jobs.builtin import _existing_run
from backend.jobs.context import JobContext
from backend.jobs.kinds import job_kind

MAX_NEURONS = 4096


class VisualizeJob(BaseModel):
    run: str
    layer: str | None = Field(None, description="every neuron of this probed layer")
    neurons: list[str] | None = Field(
        None, max_length=MAX_NEURONS, description="neuron names (conv3:5) or ids"
    )
    steps: int | None = Field(None, ge=8, le=4096, description="optimisation steps per image")
    device: str = "auto"

    _run = field_validator("run")(_existing_run)
    _device = field_validator("device")(checks.device_exists)

    @model_validator(mode="after")
    def _one_target(self):
        if (self.layer is None) == (not self.neurons):
            raise ValueError("give exactly one of `layer` or `neurons` (a non-empty list)")
        ids = self.neuron_ids()  # raises, naming what the run has
        if len(ids) > MAX_NEURONS:
            raise ValueError(f"at most {MAX_NEURONS} neurons per job, not {len(ids)}")
        return self

    def neuron_ids(self) -> list[int]:
        """The neurons asked for, as ids of the run (a name it lacks is refused)."""
        from backend.core.errors import SemvecError
        from backend.core.settings import get_settings
        from backend.runs.store import RunStore

        run = RunStore(get_settings().home).open(self.run)
        index = run.index()
        if self.layer is not None:
            try:
                layer = index.layer(self.layer)
            except SemvecError as err:
                what = f"run {self.run} has no probed layer {self.layer!r}"
                raise ValueError(f"{what}: {err}") from None
            return list(range(layer.offset, layer.offset + layer.width))
        return list(dict.fromkeys(_neuron_id(index, name, self.run) for name in self.neurons))


def _neuron_id(index, name: str, run: str) -> int:
    n = len(index)
    if name.isdigit():
        if int(name) >= n:
            raise ValueError(f"neuron id {name} is not in run {run}, which has 0..{n - 1}")
        return int(name)
    try:
        return index.id_of(name)
    except (ValueError, LookupError) as err:
        raise ValueError(f"run {run} has no neuron {name!r} ({err})") from None


@job_kind("visualize", VisualizeJob)
def visualize(ctx: JobContext, cfg: VisualizeJob) -> str:
    from backend.runs.store import RunStore
    from backend.services.feature_viz import visualize_neurons

    run = RunStore(ctx.home).open(cfg.run)
    visualize_neurons(run, cfg.neuron_ids(), cfg.device, cfg.steps, ctx.reporter)
    return run.id
