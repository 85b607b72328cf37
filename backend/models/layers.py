"""Which modules of a model are probed: a default for any model, and `--layers` patterns.

The default is the outputs of the model's blocks plus its logit layer. A block is a child
of one of the model's outermost containers (`nn.Sequential`, `nn.ModuleList`) with at
least two children, e.g. `layer3.4` of a ResNet, `features.7` of a MobileNet,
`encoder.layers.encoder_layer_5` of a ViT; a child that is itself a container of such
blocks is opened one level (`features.1.0` of a ConvNeXt). The head's container (the one
holding the logit layer) is left out. Families whose blocks nest otherwise give their own
rule (see the sources).
"""

import fnmatch

from torch import nn

from backend.core.errors import SemvecError

_CONTAINERS = (nn.Sequential, nn.ModuleList)


def logit_layer_of(model: nn.Module, num_classes: int | None = None) -> str:
    """The last `nn.Linear` (or 1x1 `nn.Conv2d` head) in module order: the class scores.

    With `num_classes`, only a layer with that many outputs qualifies.
    """
    found = None
    for name, module in model.named_modules():
        width = getattr(module, "out_features", None)
        if isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1):
            width = module.out_channels
        elif not isinstance(module, nn.Linear):
            continue
        if name and (num_classes is None or width == num_classes):
            found = name
    if found is None:
        wanted = f" with {num_classes} outputs" if num_classes else ""
        raise SemvecError(
            f"found no linear layer{wanted} to use as the logit layer; name it yourself "
            "(the last entry of --layers is the logit layer)"
        )
    return found


def _composite(module: nn.Module) -> bool:
    return any(True for _ in module.children())


def default_blocks(model: nn.Module, logit_layer: str) -> list[str]:
    """Block outputs by the rule in the module docstring, in module order."""
    head = logit_layer.rpartition(".")[0]
    blocks: list[str] = []

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            if type(child) in _CONTAINERS and len(child) >= 2 and path != head:
                blocks.extend(_open(path, child))
            elif _composite(child) and type(child) not in _CONTAINERS:
                visit(f"{path}.", child)

    visit("", model)
    return blocks


def _open(path: str, container: nn.Module) -> list[str]:
    out = []
    for name, child in container.named_children():
        grand = list(child.children())
        if isinstance(child, _CONTAINERS) and len(grand) >= 2 and all(map(_composite, grand)):
            out.extend(f"{path}.{name}.{g}" for g, _ in child.named_children())
        elif _composite(child) or isinstance(child, nn.Conv2d | nn.Linear):
            out.append(f"{path}.{name}")
    return out


def top_level_blocks(model: nn.Module, logit_layer: str) -> list[str]:
    """The children of the model's top level that hold parameters (Inception-style nets,
    whose blocks are top-level attributes, and models with no block containers)."""
    return [
        name
        for name, child in model.named_children()
        if any(True for _ in child.parameters()) and name != logit_layer
    ]


def default_layers(model: nn.Module, logit_layer: str, top_level: bool = False) -> list[str]:
    """Blocks, then the logit layer (see the module docstring); with `top_level`, or when
    the model has no block containers, the top-level children instead."""
    blocks = [] if top_level else default_blocks(model, logit_layer)
    if not blocks:
        blocks = top_level_blocks(model, logit_layer)
    return [b for b in blocks if b != logit_layer and not logit_layer.startswith(f"{b}.")] + [
        logit_layer
    ]


def expand_layers(model: nn.Module, patterns: list[str]) -> list[str]:
    """Module paths and globs (`layer3.*`, `features.?`) to paths, in the order given.

    A glob matches whole paths; `*` matches within one level only when written `name.*`
    (so `layer3.*` is layer3's children, not every module below it).
    """
    names = [name for name, _ in model.named_modules() if name]
    depth = {name: name.count(".") for name in names}
    out: list[str] = []
    for pattern in patterns:
        if not any(ch in pattern for ch in "*?["):
            out.append(pattern)
            continue
        levels = pattern.count(".")
        hits = [n for n in names if depth[n] == levels and fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise SemvecError(f"no module matches the pattern {pattern!r}")
        out.extend(h for h in hits if h not in out)
    return out
