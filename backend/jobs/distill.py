"""The `distill` job kind: one student, one method, one seed (the UI submits one job per
(method, seed)). The result is the student's run id; its per-epoch metrics rows hold
epoch, train_loss, distill_loss, test_accuracy and seconds."""

from pydantic import Field, field_validator, model_validator

from backend.distill.config import DistillConfig
from backend.jobs import checks
from backend.jobs.builtin import (
    DISTILL_PHASES,
    TrainedRunJob,
    _existing_run,
    _known_arch,
    trained_run,
)
from backend.jobs.context import JobContext
from backend.jobs.kinds import job_kind


def _known_method(value: str) -> str:
    from backend.distill.registry import list_methods

    if value not in list_methods():
        raise ValueError(f"unknown method {value!r}; known: {', '.join(list_methods())}")
    return value


LAM_FACTOR = 100
"""lam up to this many times the method's default (1 where it is 0): beyond it the
method's term swamps the labels, its gradients blow up and the neurons die."""


def _lam_in_range(method: str, lam: float | None) -> None:
    from backend.distill.registry import get_method

    top = LAM_FACTOR * (get_method(method).default_lam or 1.0)
    if lam is not None and lam > top:
        raise ValueError(
            f"lam {lam:g} is too large for {method}: use at most {top:g} "
            f"({LAM_FACTOR} times its default, {get_method(method).default_lam:g})"
        )


def distill_name(cfg: "DistillJob", job_id: int) -> str:
    """The run's name when the job names none: `resnet18-static-s0-job19` for the
    student `timm:resnet18` (a run name takes no colon)."""
    from backend.models import slug

    return cfg.name or f"{slug(cfg.student)}-{cfg.method}-s{cfg.seed}-job{job_id}"


def _knowledge_in_home(value: str | None) -> str | None:
    """A knowledge file inside the data home (made by `semvec knowledge` or by a job)."""
    from backend.core.paths import require_inside
    from backend.core.settings import get_settings

    if value is None:
        return None
    home = get_settings().home
    hint = (
        f"make it with `semvec knowledge RUN` (written into the run's folder in {home}/runs), "
        "or leave `knowledge` empty to use the teacher run's"
    )
    return require_inside(value, home, "knowledge file", hint)


def _data_present(teacher) -> None:
    """The students train on the teacher's dataset: its files must still be there."""
    from backend.core.errors import DatasetMissingError
    from backend.core.settings import get_settings
    from backend.services.datasets import check_present

    data = teacher.meta.dataset
    try:
        check_present(data["name"], data.get("root"), get_settings().home)
    except DatasetMissingError as err:
        raise ValueError(f"the teacher's dataset cannot be read: {err}") from err


def _teaches(teacher, method: str) -> None:
    """A method that uses the teacher needs one whose logits are its dataset's classes."""
    from backend.distill.registry import get_method, list_methods

    info = get_method(method)
    if teacher.meta.model_classes and (info.needs_teacher or info.reads_knowledge):
        free = [
            m
            for m in list_methods()
            if not (get_method(m).needs_teacher or get_method(m).reads_knowledge)
        ]
        raise ValueError(
            f"the teacher {teacher.id}'s logits are its own {len(teacher.meta.model_classes):,} "
            f"classes, not its dataset's, so {method} cannot learn from it; the methods that "
            f"need no teacher ({', '.join(free)}) can, or align a model whose last layer is "
            "the dataset's classes"
        )


class DistillJob(DistillConfig, TrainedRunJob):
    teacher: str = Field(..., description="the teacher's run id")
    name: str | None = Field(
        None, description="run name (default: <student>-<method>-s<seed>-job<id>)"
    )

    _teacher = field_validator("teacher")(_existing_run)
    _student = field_validator("student")(_known_arch)
    _method = field_validator("method")(_known_method)
    _knowledge = field_validator("knowledge")(_knowledge_in_home)

    @model_validator(mode="after")
    def _fits_method_and_teacher(self):
        from backend.core.settings import get_settings
        from backend.runs.store import RunStore

        if self.method == "ls" and self.lam is not None and self.lam >= 1:
            raise ValueError("for label smoothing lam is ε and must be below 1")
        _lam_in_range(self.method, self.lam)
        teacher = RunStore(get_settings().home).open(self.teacher)
        _data_present(teacher)
        _teaches(teacher, self.method)
        checks.student_fits(self.student, teacher.meta.dataset)
        if self.hint_layers:
            layers = teacher.layer_paths()
            for path in self.teacher_hint_layers():
                if path not in layers:
                    raise ValueError(
                        f"the teacher has no layer {path!r}; its layers: {', '.join(layers)}"
                    )
        return self


@job_kind("distill", DistillJob, DISTILL_PHASES)
def distill(ctx: JobContext, cfg: DistillJob) -> str | None:
    from backend.services.distill import distill_run

    return trained_run(ctx, cfg, distill_run, distill_name(cfg, ctx.job_id))
