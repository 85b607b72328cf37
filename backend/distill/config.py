"""Validated settings of one student (shared by the CLI, the job kind and the bench)."""

from pydantic import BaseModel, Field, field_validator, model_validator

from backend.training.config import AlignConfig

BETA_RANGE = (0.1, 10.0)
RHO_RANGE = (0.0, 100.0)
"""Validated on digits (docs/research/static-distillation.md, stability): nothing collapses at
either end."""
TEMPERATURE_RANGE = (0.5, 100.0)
"""Softmax temperatures that train: far below 1 every soft target is one-hot and the
T² scaling vanishes, far above it they are uniform."""
LAM_MAX = 300_000.0
"""100 times the largest default (SP's 3000); each method's own bound is checked with the
job (backend/jobs/distill.py)."""


class DistillConfig(BaseModel):
    """One student, one method, one seed.

    Every method trains with the same loop, data, augmentation, schedule and seeds: only
    `method`, `lam`, `temperature`, `beta`, `rho` and `hint_layers` change what is minimised.
    """

    teacher: str | None = Field(
        None, description="the teacher's run id (kd, rkd, sp run it; static reads its knowledge)"
    )
    knowledge: str | None = Field(
        None,
        description="static: a knowledge file to train from (default: the teacher run's, "
        "made from its vectors when missing)",
    )
    student: str = Field("digits_cnn_small", description="the student's architecture")
    method: str = "static"
    seed: int = Field(
        0, ge=0, le=2**31 - 1, description="initialisation, batch order and the train subset"
    )
    epochs: int = Field(30, ge=1, le=10_000)
    lam: float | None = Field(
        None,
        ge=0,
        le=LAM_MAX,
        description="weight of the method's term (None: default); at most 100 times the "
        "method's default",
    )
    temperature: float | None = Field(
        None,
        ge=TEMPERATURE_RANGE[0],
        le=TEMPERATURE_RANGE[1],
        description="kd, tfkd, static, static_free (None: 4, 20, 20, 20)",
    )
    beta: float | None = Field(
        None,
        ge=BETA_RANGE[0],
        le=BETA_RANGE[1],
        description="static, static_free: sharpness β of the soft target softmax(β P[y] / T), "
        "P the equiangular simplex: a true-class margin of about β (None: 4)",
    )
    rho: float | None = Field(
        None,
        ge=RHO_RANGE[0],
        le=RHO_RANGE[1],
        description="static, static_free: weight ρ of the feature-relation term (None: 1)",
    )
    train_size: int | None = Field(
        None, ge=10, description="a stratified subset of the train split (None: all of it)"
    )
    hint_layers: list[str] | None = Field(
        None,
        description="static and sp: layers to match, `path` or `teacher_path=student_path` "
        "(static default: the hint layers in the knowledge file, sp: the last before the logits)",
    )
    batch_size: int = Field(64, ge=4, le=8192)
    lr: float = Field(0.05, gt=0, le=10.0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(5e-4, ge=0, le=1)
    augment: bool = True
    device: str = "auto"
    amp: bool = True
    align: AlignConfig = Field(
        AlignConfig(),
        description="the student's own semantic vectors, after training: post hoc, from the "
        "eigen-start (600 steps there gained P@10 +0.005 on the digits student and were most "
        "of a short job's time)",
    )

    @field_validator("lam", mode="before")
    @classmethod
    def _lam_bounded(cls, value):
        if isinstance(value, int | float) and value > LAM_MAX:
            raise ValueError(
                f"lam {value:g} is too large: at most {LAM_MAX:,.0f}, and for each method 100 "
                "times its default"
            )
        return value

    @field_validator("temperature", mode="before")
    @classmethod
    def _temperature_trains(cls, value):
        low, high = TEMPERATURE_RANGE
        if isinstance(value, int | float) and not low <= value <= high:
            raise ValueError(
                f"temperature {value:g} is outside {low:g}–{high:g}: far below 1 every soft "
                "target is one-hot, far above it uniform"
            )
        return value

    def teacher_hint_layers(self) -> list[str] | None:
        """The teacher side of the `path` / `teacher_path=student_path` hint entries."""
        if self.hint_layers is None:
            return None
        return [entry.partition("=")[0].strip() for entry in self.hint_layers]

    @model_validator(mode="after")
    def _subset_fills_a_batch(self):
        if self.train_size is not None and self.train_size < self.batch_size:
            raise ValueError(
                f"train_size {self.train_size} is smaller than one batch ({self.batch_size})"
            )
        return self
