"""Job kinds by name: each has a pydantic config and a function that does the work.

A kind registers itself with `@job_kind(name, ConfigModel)`; the runner and the API look
kinds up here, so a new kind (e.g. `distill`) needs no change to either.
"""

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from backend.core.errors import UnknownNameError

Phase = tuple[str, str, float]
"""(the stage name its code reports, what the page calls it, its share of the job's time)."""


@dataclass(frozen=True)
class JobKind:
    name: str
    config: type[BaseModel]
    run: Callable  # (ctx: JobContext, cfg: BaseModel) -> run id or None
    phases: tuple[Phase, ...] = ()
    """The stages in the order they run: one progress bar goes over all of them."""


_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, config: type[BaseModel], phases: tuple[Phase, ...] = ()):
    def wrap(fn: Callable) -> Callable:
        _KINDS[name] = JobKind(name, config, fn, phases)
        return fn

    return wrap


def list_kinds() -> list[str]:
    _load_builtin()
    return sorted(_KINDS)


def get_kind(name: str) -> JobKind:
    _load_builtin()
    if name not in _KINDS:
        raise UnknownNameError("job kind", name, sorted(_KINDS))
    return _KINDS[name]


def _load_builtin() -> None:
    # Importing them registers train, align, analyze, project, distill, ablate, visualize,
    # pictures.
    from backend.jobs import ablate, builtin, distill, pictures, visualize  # noqa: F401
