"""Server paths that a job config may name: only inside the data home.

Job configs come from the API (and `semvec jobs submit`), so a path in one is a request to
read (or, for a dataset download, write) a file on the server. The rule is one a user can
predict: the real location, after resolving `..` and symbolic links, must lie inside
`$SEMVEC_HOME` (uploads inside `$SEMVEC_HOME/uploads`). The CLI commands that take a
path (`semvec train --root`, `semvec align --checkpoint`, ...) are the machine owner's
and take any path.
"""

from pathlib import Path

from backend.core.errors import SemvecError


class PathOutsideError(SemvecError, ValueError):
    """A path in a job config that is outside the folder it must lie in."""


def is_inside(path: Path, root: Path) -> bool:
    """Whether `path`, with links and `..` resolved, is `root` or lies below it."""
    try:
        return Path(path).expanduser().resolve().is_relative_to(Path(root).resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte: not inside
        return False


def require_inside(path: str, root: Path, what: str, hint: str) -> str:
    """`path` unchanged when it lies inside `root`, else a PathOutsideError saying the rule.

    Args:
        path: as the client sent it (absolute, or relative to the server's folder).
        root: the folder it must lie in.
        what: what the path is, for the message ("dataset root").
        hint: how to get a file there ("upload it with POST /api/checkpoints").
    """
    if not is_inside(Path(path), root):
        raise PathOutsideError(
            f"{what} {path!r} is outside {root.resolve()}: through the API a {what} must "
            f"lie inside that folder (links are followed before checking); {hint}"
        )
    return path


def shown(value: str, home: Path) -> str:
    """`value` as the API shows it: a path inside the data home relative to it
    (`datasets/cifar`), so that answers never tell where the server keeps its files; any
    other string unchanged. Job configs take such relative paths back."""
    if not isinstance(value, str) or not Path(value).is_absolute():
        return value
    try:
        return Path(value).resolve().relative_to(Path(home).resolve()).as_posix() or "."
    except (OSError, RuntimeError, ValueError):
        return value


def shown_in(found: object, home: Path) -> object:
    """`shown` for every string in a job config (dicts and lists, at any depth)."""
    if isinstance(found, dict):
        return {key: shown_in(value, home) for key, value in found.items()}
    if isinstance(found, list):
        return [shown_in(value, home) for value in found]
    return shown(found, home) if isinstance(found, str) else found
