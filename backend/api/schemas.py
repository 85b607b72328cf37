"""What the API sends and receives."""

from typing import Any

from pydantic import BaseModel, Field, computed_field, field_serializer


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """Every 4xx answer: what is wrong in words, and per field for invalid input."""

    detail: str
    errors: list[FieldError] | None = None


class JobCreate(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"kind": "project", "config": {"run": "digits-default", "method": "pca"}}]
        }
    }

    kind: str = Field(description="train | align | analyze | project (see GET /api/jobs/kinds)")
    config: dict[str, Any] = Field(default_factory=dict, description="the kind's settings")


class JobPublic(BaseModel):
    id: int
    kind: str
    config: dict[str, Any]
    state: str
    progress: float
    progress_text: str
    error: str | None
    cancel_requested: bool
    created: float
    started: float | None
    finished: float | None
    run_id: str | None
    attempts: int
    estimate_s: float | None = Field(
        None, description="seconds the job was estimated to take at submit (none: not costed)"
    )

    @field_serializer("config")
    def _paths_in_home(self, config: dict[str, Any]) -> dict[str, Any]:
        # A config's paths (a dataset root, an uploaded checkpoint) are stored as the
        # worker needs them, absolute; shown relative to the data home, as they are taken.
        from backend.core.paths import shown_in
        from backend.core.settings import get_settings

        return shown_in(config, get_settings().home)

    @computed_field(description="the estimate in words: `about 12 min`")
    @property
    def estimate(self) -> str | None:
        from backend.jobs.estimate import duration

        return duration(self.estimate_s) if self.estimate_s is not None else None


class JobEstimate(BaseModel):
    """What a job would cost here, before it is submitted."""

    seconds: float | None = Field(description="estimated seconds (none: not costed)")
    words: str | None = Field(description="`about 2.8 h`")
    basis: str | None = Field(description="what it was counted from: `4,096 steps × 4 batches …`")
    ceiling_s: float = Field(description="the longest job this server accepts (seconds)")


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class EpochMetrics(BaseModel):
    data: list[dict[str, Any]]
    count: int


class JobsMetrics(BaseModel):
    data: dict[int, list[dict[str, Any]]]
    """Job id -> its per-epoch rows (empty for an unknown id or a job with none yet)."""


class JobLog(BaseModel):
    lines: list[str]
    traceback: str | None


class Access(BaseModel):
    """What the request's own credentials allow (the page shows it as a badge)."""

    token_required: bool = Field(description="the server has a SEMVEC_TOKEN")
    can_write: bool = Field(description="this request may start, cancel and upload")


class Health(BaseModel):
    status: str
    """`ok`, or `degraded` (answered 503) when jobs.db cannot be used (a full disk, a
    read-only file system, a damaged file)"""
    version: str
    home: str
    """the data home's folder name"""
    jobs_running: int
    """jobs whose worker process is alive"""
    job_slots: int
    store: str = "ok"
    """`ok`, or why jobs.db cannot be used and what to do"""


class DatasetFolder(BaseModel):
    path: str = Field(
        description="relative to the data home (`datasets/cifar`): give it as a job's `data.root`"
    )
    name: str
    datasets: list[str] = Field(description="the registered datasets whose files it holds")


class DatasetFolders(BaseModel):
    data: list[DatasetFolder]
    folder: str = Field(
        description="where dataset folders go, relative to the data home: `datasets`"
    )
    built_in: list[str] = Field(description="datasets that need no folder")
