"""The built-in job kinds: train, align, analyze, project, place."""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from backend.jobs import checks
from backend.jobs.context import JobContext
from backend.jobs.kinds import job_kind
from backend.training.config import AnalyzeConfig, DataConfig, PostHocConfig, TrainConfig


def _known_arch(value: str | None) -> str | None:
    """An architecture the server knows (it never imports code a client sends)."""
    from backend.core.errors import SemvecError
    from backend.models import check_offered

    if value is not None:
        try:
            check_offered(value)
        except SemvecError as err:
            raise ValueError(str(err)) from err
    return value


def _weights_present(arch: str, download: bool) -> None:
    """Published weights named in `arch` must be in the server's cache (or be allowed to
    download), so the job does not fail later for a reason known now."""
    from backend.core.errors import SemvecError
    from backend.models.sources.torchvision_source import published_file

    if "@" in arch and not download:
        try:
            published_file(arch.partition(":")[2], download=False)
        except SemvecError as err:
            raise ValueError(str(err)) from err


def _known_dataset(data: DataConfig) -> DataConfig:
    """A registered dataset whose root, if any, lies inside the data home (see core.paths)
    and holds its files (unless it is to be downloaded)."""
    from backend.core.paths import require_inside
    from backend.core.settings import get_settings
    from backend.data import list_datasets

    if data.name not in list_datasets():
        raise ValueError(f"unknown dataset {data.name!r}; known: {', '.join(list_datasets())}")
    home = get_settings().home
    if data.root is not None:
        hint = (
            f"copy the dataset into {home.resolve() / 'datasets'}/, or use the CLI "
            "(`semvec train --root ...` takes any folder)"
        )
        root = Path(data.root).expanduser()
        if not root.is_absolute():  # the page names folders inside the data home
            root = home.resolve() / root
        require_inside(str(root), home, "dataset root", hint)
        data = data.model_copy(update={"root": str(root)})
    if not data.download:
        from backend.core.errors import DatasetMissingError
        from backend.services.datasets import check_present

        try:
            check_present(data.name, data.root, home)
        except DatasetMissingError as err:
            raise ValueError(str(err)) from err
    return data


def _uploaded_checkpoint(value: str | None) -> str | None:
    """A checkpoint stored by POST /api/checkpoints: its bare file name, its path, or its
    path relative to the data home (`uploads/NAME`, as job configs show it)."""
    from backend.core.paths import require_inside
    from backend.core.settings import get_settings

    if value is None:
        return None
    uploads = get_settings().uploads_dir
    if "/" not in value and "\\" not in value:
        value = str(uploads / value)
    elif not Path(value).expanduser().is_absolute():
        value = str(get_settings().home / value)
    hint = "upload the file with POST /api/checkpoints and pass the `checkpoint` it returns"
    return require_inside(value, uploads, "checkpoint", hint)


def _new_run_name(value: str | None) -> str | None:
    """A valid name that no run (nor anything else in runs/, a link included) has yet."""
    from backend.core.errors import SemvecError
    from backend.core.settings import get_settings
    from backend.runs.store import RunStore

    if value is not None:
        try:
            RunStore(get_settings().home).ensure_free(value)
        except SemvecError as err:
            raise ValueError(str(err)) from err
    return value


def _existing_run(value: str | None) -> str | None:
    from backend.core.settings import get_settings
    from backend.runs.store import RunStore

    if value is not None and value not in RunStore(get_settings().home).ids():
        raise ValueError(f"no run named {value!r}")
    return value


class TrainedRunJob(BaseModel):
    """What every job that trains a network into a new run takes besides its config."""

    name: str | None = Field(None, description="run name (default: made from the job)")
    analyze: bool = Field(True, description="analyse and draw a PCA map when done")
    gpus: int = Field(1, ge=1, le=64, description="processes on this machine (torchrun + DDP)")

    _name = field_validator("name")(_new_run_name)
    _gpus = field_validator("gpus")(checks.ranks_fit)
    _device = field_validator("device", check_fields=False)(checks.device_exists)


class TrainJob(TrainConfig, TrainedRunJob):
    name: str | None = Field(None, description="run name (default: <arch>-<dataset>-job<id>)")

    _arch = field_validator("arch")(_known_arch)
    _data = field_validator("data")(_known_dataset)

    @model_validator(mode="after")
    def _builds(self):
        if self.arch_kwargs or self.layers:
            checks.builds(self.arch, self.arch_kwargs, self.layers)
        return self


class AlignJob(PostHocConfig):
    name: str | None = None
    analyze: bool = True

    _arch = field_validator("arch")(_known_arch)
    _data = field_validator("data")(_known_dataset)
    _run = field_validator("run")(_existing_run)
    _name = field_validator("name")(_new_run_name)
    _checkpoint = field_validator("checkpoint")(_uploaded_checkpoint)
    _device = field_validator("device")(checks.device_exists)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.run is None) == (self.arch is None):
            raise ValueError(
                "give exactly one of `run` or `arch` (with a `checkpoint`, or published "
                "weights as in torchvision:resnet50@IMAGENET1K_V2)"
            )
        if self.checkpoint is not None and self.arch is None:
            raise ValueError("a checkpoint needs its architecture in `arch`")
        if self.arch is not None and self.checkpoint is None:
            if "@" not in self.arch:
                raise ValueError(
                    f"{self.arch} needs weights: a `checkpoint` (POST /api/checkpoints), or "
                    "published weights (torchvision:NAME@WEIGHTS)"
                )
            _weights_present(self.arch, self.download_weights)
        if self.arch is not None and (self.arch_kwargs or self.layers):
            checks.builds(self.arch, self.arch_kwargs, self.layers)
        if self.checkpoint is not None:
            checks.checkpoint_fits(self.arch, self.arch_kwargs, self.checkpoint)
        return self


class AnalyzeJob(AnalyzeConfig):
    run: str

    _run = field_validator("run")(_existing_run)
    _device = field_validator("device")(checks.device_exists)


class ProjectJob(BaseModel):
    run: str
    method: Literal["umap", "tsne", "pca"] = "umap"
    params: dict[str, Any] = {}

    _run = field_validator("run")(_existing_run)

    @model_validator(mode="after")
    def _params_valid(self):
        from backend.projection.methods import resolve_params

        resolve_params(self.method, self.params)  # raises ValueError naming the valid ones
        checks.projection_fits(self.run, self.method, self.params)
        return self


class PlaceJob(BaseModel):
    """Draw `student`'s neurons on `teacher`'s map (runs both models on held-out images)."""

    student: str
    teacher: str
    device: str = "auto"

    _student = field_validator("student")(_existing_run)
    _teacher = field_validator("teacher")(_existing_run)
    _device = field_validator("device")(checks.device_exists)


# What each kind's stages are called on the page, and a rough share of its time (digits on
# a CPU; the bar only has to move forward and end at 100 %).
_FINISH = (("quality", "quality", 0.03), ("analysis", "analysis", 0.08), ("pca map", "map", 0.02))


def _fitting(share: float) -> tuple:
    """align_frozen's stages: one pass of activations when they are cached, the
    eigen-start's reference, the steps."""
    return (
        ("activations", "fitting vectors: reading activations", share * 0.3),
        ("reference", "fitting vectors: eigen-start", share * 0.3),
        ("align", "fitting vectors", share * 0.4),
    )


_FINISH_RUN = (*_fitting(0.12), *_FINISH)
TRAIN_PHASES = (("train", "training", 0.75), *_FINISH_RUN)
DISTILL_PHASES = (("distill", "training the student", 0.75), *_FINISH_RUN)
ALIGN_PHASES = (
    # backend/analysis/one_pass.py: one read of the images for everything, then the fit
    ("one pass", "reading the images", 0.6),
    *_fitting(0.2),
    *_FINISH,
)
DEMO_PHASES = (*_FINISH, ("umap map", "UMAP map", 0.07))


class DemoJob(BaseModel):
    """Make the digits demo run `digits-default` from the shipped checkpoint (what
    `semvec quickstart` does): no training, ~20 s on 2 cores. Takes no settings."""

    model_config = {"extra": "forbid"}


def _open(ctx: JobContext, run_id: str):
    from backend.runs.store import RunStore

    return RunStore(ctx.home).open(run_id)


def _analysis(ctx: JobContext, analyze: bool, device: str):
    """What a new run needs before it appears: its analysis and a PCA map (or nothing)."""
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run

    def finish(run) -> None:
        analyze_run(run, device=device, reporter=ctx.reporter)
        project_run(run, "pca", {}, ctx.reporter)

    return finish if analyze else None


def trained_run(ctx: JobContext, cfg: TrainedRunJob, service, default_name: str) -> str | None:
    """Run a training service (`train_run`, `distill_run`) as this job: checkpoints in the
    job's folder (so a resume continues), torchrun's world, analysis before the run appears.
    The run's id, or None on the ranks other than 0 under torchrun."""
    run = service(
        cfg,
        name=cfg.name or default_name,
        reporter=ctx.reporter,
        home=ctx.home,
        checkpoint_dir=ctx.folder,
        world=ctx.world,
        before_commit=_analysis(ctx, cfg.analyze, cfg.device),
    )
    return run.id if run is not None else None


@job_kind("train", TrainJob, TRAIN_PHASES)
def train(ctx: JobContext, cfg: TrainJob) -> str | None:
    from backend.models import slug
    from backend.services.vectors import train_run

    return trained_run(ctx, cfg, train_run, f"{slug(cfg.arch)}-{cfg.data.name}-job{ctx.job_id}")


@job_kind("align", AlignJob, ALIGN_PHASES)
def align(ctx: JobContext, cfg: AlignJob) -> str:
    from backend.models import slug
    from backend.services.vectors import align_run

    name = cfg.name or f"{slug(cfg.arch) if cfg.arch else cfg.run}-aligned-job{ctx.job_id}"
    finish = _analysis(ctx, cfg.analyze, cfg.device)
    run = align_run(cfg, name=name, reporter=ctx.reporter, home=ctx.home, before_commit=finish)
    return run.id


@job_kind("analyze", AnalyzeJob)
def analyze(ctx: JobContext, cfg: AnalyzeJob) -> str:
    from backend.services.analysis import analyze_run

    run = _open(ctx, cfg.run)
    analyze_run(run, cfg=cfg, reporter=ctx.reporter)
    return run.id


@job_kind("project", ProjectJob)
def project(ctx: JobContext, cfg: ProjectJob) -> str:
    from backend.services.projection import project_run

    run = _open(ctx, cfg.run)
    project_run(run, cfg.method, cfg.params, ctx.reporter)
    return run.id


@job_kind("place", PlaceJob)
def place(ctx: JobContext, cfg: PlaceJob) -> str:
    from backend.services.placement import place_on_teacher

    student = _open(ctx, cfg.student)
    place_on_teacher(student, _open(ctx, cfg.teacher), cfg.device, ctx.reporter)
    return student.id


@job_kind("demo", DemoJob, DEMO_PHASES)
def demo(ctx: JobContext, _cfg: DemoJob) -> str:
    from backend.services.default_run import ensure_default_run

    return ensure_default_run(reporter=ctx.reporter, home=ctx.home).id
