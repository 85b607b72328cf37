"""Distillation methods by name. A method registers itself with `@register_method`;
`get_method(name)` raises a ValueError that lists the known names."""

from dataclasses import dataclass

from backend.core.errors import UnknownNameError


@dataclass(frozen=True)
class MethodInfo:
    name: str
    cls: type
    default_lam: float
    """λ when the config leaves it out."""
    needs_teacher: bool
    """Runs the teacher model on every batch (kd, rkd, sp)."""
    reads_knowledge: bool
    """Reads the teacher's knowledge file and nothing else of the teacher (static)."""
    description: str
    default_beta: float | None = None
    """β when the config leaves it out; None: the method takes no β (nor ρ)."""
    default_rho: float | None = None
    """ρ, the relation term's weight, when the config leaves it out."""


_METHODS: dict[str, MethodInfo] = {}


def register_method(
    name: str,
    *,
    default_lam: float,
    needs_teacher: bool = False,
    reads_knowledge: bool = False,
    default_beta: float | None = None,
    default_rho: float | None = None,
):
    """Decorator for a `Method` subclass (see backend.distill.methods)."""

    def wrap(cls: type) -> type:
        if name in _METHODS:
            raise RuntimeError(f"distillation method {name!r} registered twice")
        doc = (cls.__doc__ or "").strip().splitlines()
        _METHODS[name] = MethodInfo(
            name,
            cls,
            default_lam,
            needs_teacher,
            reads_knowledge,
            doc[0] if doc else "",
            default_beta,
            default_rho,
        )
        return cls

    return wrap


def _load() -> None:
    from backend.distill import methods  # noqa: F401  (registers the built-in methods)


def list_methods() -> list[str]:
    _load()
    return list(_METHODS)


def get_method(name: str) -> MethodInfo:
    _load()
    if name not in _METHODS:
        raise UnknownNameError("distillation method", name, list(_METHODS))
    return _METHODS[name]
