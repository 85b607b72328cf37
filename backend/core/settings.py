"""One settings object, read from the environment (SEMVEC_*) once."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEMVEC_")

    home: Path = Path("semvec-data")
    """Data home: runs/, the job database, caches."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N"""
    job_slots: int = 0
    """Jobs run at once; 0 = one per GPU, or one on a CPU machine."""
    job_nice: int = Field(10, ge=0, le=19)
    """Niceness job workers give themselves (0-19; 0 = the server's priority). A training
    job would otherwise take every core and leave the explorer's requests waiting."""
    max_job_hours: float = Field(4.0, gt=0)
    """Longest job the server accepts, by its estimate at submit (backend/jobs/estimate.py);
    a longer one is refused (422) with the estimate and this ceiling."""
    max_upload_mb: int = 512
    """Largest checkpoint the API accepts (bigger uploads get 413)."""
    max_upload_tensors: int = Field(20_000, ge=1)
    """Most tensors an uploaded checkpoint may hold (a real one has hundreds to a few
    thousand); its safetensors header may take 256 bytes a tensor. More gets 413."""
    token: str | None = None
    """Secret that API requests which start, cancel or upload must send as
    `Authorization: Bearer <token>`. Required to serve on a non-loopback address."""

    allowed_hosts: str = ""
    """Host names (comma-separated) a server without a token answers besides localhost and
    loopback addresses; other names are refused (DNS rebinding)."""
    model_files: str = ""
    """Model files the server offers to clients, besides its zoo, torchvision, timm and
    entry points: comma-separated `path/to/file.py:function` references (the owner's
    code; a client can never send code of its own)."""

    @field_validator("token")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    def model_file_refs(self) -> list[str]:
        return [ref.strip() for ref in self.model_files.split(",") if ref.strip()]

    @property
    def allowed_host_names(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"


def get_settings() -> Settings:
    """Read the environment now (tests change SEMVEC_HOME between cases)."""
    return Settings()
