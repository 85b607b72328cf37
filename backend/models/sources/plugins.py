"""`plugin:NAME`: architectures that installed packages register under the `semvec.models`
entry-point group, e.g. in a package's pyproject.toml:

    [project.entry-points."semvec.models"]
    my_net = "my_package.models:build_my_net"

The entry point is a function that returns an `nn.Module`; it gets `num_classes` and
`in_channels` when it takes them. The model may say its probed layers and logit layer as
`probed_layers` and `logit_layer` attributes; otherwise semvec's default rule applies.
"""

from importlib.metadata import entry_points

from backend.core.errors import SemvecError, UnknownNameError
from backend.models.record import ModelRecord
from backend.models.sources.common import call_builder, record_for

PREFIX = "plugin"
TITLE = "installed packages (semvec.models entry points)"
GROUP = "semvec.models"


def _points() -> dict:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    return sorted(_points())


def describe(name: str) -> str:
    ep = _points().get(name)
    return f"from {ep.value}" if ep else ""


def build(name: str, kwargs: dict, hints: dict, **_) -> ModelRecord:
    points = _points()
    if name not in points:
        raise UnknownNameError(f"{GROUP} entry point", name, sorted(points))
    try:
        builder = points[name].load()
    except Exception as err:
        raise SemvecError(
            f"entry point {name} ({points[name].value}) failed to load: {err}"
        ) from err
    used, model = call_builder(builder, f"plugin:{name}", {**hints, **kwargs})
    return record_for(f"{PREFIX}:{name}", model, used)
