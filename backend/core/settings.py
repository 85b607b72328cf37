"""One settings object, read from the environment (SEMVEC_*) once."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEMVEC_")

    home: Path = Path("semvec-data")
    """Data home: runs/, the job database, caches."""
    device: str = "auto"
    """auto | cpu | cuda | cuda:N"""
    job_slots: int = 0
    """Jobs run at once; 0 = one per GPU, or one on a CPU machine."""
    max_upload_mb: int = 512
    """Largest checkpoint the API accepts (bigger uploads get 413)."""

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"


def get_settings() -> Settings:
    """Read the environment now (tests change SEMVEC_HOME between cases)."""
    return Settings()
