"""The `pictures` job kind: a run's picture sheet (backend.services.pictures), made once
for the map's Pictures view; the result is the run's id."""

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from backend.jobs.builtin import _existing_run, _open
from backend.jobs.context import JobContext
from backend.jobs.kinds import job_kind


class PicturesJob(BaseModel):
    run: str
    source: Literal["top", "optimised"] = Field(
        "top", description="top-image crops, or optimised images where made"
    )

    _run = field_validator("run")(_existing_run)


@job_kind("pictures", PicturesJob)
def pictures(ctx: JobContext, cfg: PicturesJob) -> str:
    from backend.services.pictures import make_sheet

    run = _open(ctx, cfg.run)
    make_sheet(run, ctx.reporter, cfg.source)
    return run.id
