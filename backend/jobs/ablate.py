"""The `ablate` job kind: knock a selection of a run's neurons out on its held-out split
and compare with random neurons of the same layers; or, given `layer`, knock out every
neuron of that layer alone (a sweep). The result is the run's id; what was measured is
in the run folder (backend/services/ablation.py) and at /api/runs/{run}/ablations."""

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from backend.jobs import checks
from backend.jobs.builtin import _existing_run
from backend.jobs.context import JobContext
from backend.jobs.kinds import job_kind

ABLATE_PHASES = (("baseline", "unablated pass", 0.2), ("ablating", "ablated passes", 0.8))


class AblateJob(BaseModel):
    run: str
    neurons: list[int | str] = Field(
        [], max_length=100_000, description="ids or names (conv3:5) of the neurons to ablate"
    )
    layer: str | None = Field(None, description="sweep: every neuron of this layer alone")
    mode: Literal["zero", "mean"] = Field(
        "zero", description="replace a channel by zeros, or by its mean map over the images"
    )
    draws: int = Field(5, ge=1, le=50, description="random control selections")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the control draws")
    device: str = "auto"

    _run = field_validator("run")(_existing_run)
    _device = field_validator("device")(checks.device_exists)

    @model_validator(mode="after")
    def _in_the_run(self):
        from backend.core.errors import SemvecError
        from backend.core.settings import get_settings
        from backend.runs.store import RunStore
        from backend.services.ablation import check_layer, selection_ids

        run = RunStore(get_settings().home).open(self.run)
        try:
            if self.layer is not None:
                if self.neurons:
                    raise SemvecError("give `neurons` or `layer` (a sweep), not both")
                check_layer(run, self.layer)
            else:
                self.neurons = selection_ids(run, self.neurons)
        except SemvecError as err:
            raise ValueError(str(err)) from err
        return self


@job_kind("ablate", AblateJob, ABLATE_PHASES)
def ablate(ctx: JobContext, cfg: AblateJob) -> str:
    from backend.runs.store import RunStore
    from backend.services.ablation import ablate_run, sweep_run

    run = RunStore(ctx.home).open(cfg.run)
    if cfg.layer is not None:
        sweep_run(run, cfg.layer, cfg.mode, cfg.device, ctx.reporter)
    else:
        ablate_run(run, cfg.neurons, cfg.mode, cfg.draws, cfg.seed, cfg.device, ctx.reporter)
    return run.id
