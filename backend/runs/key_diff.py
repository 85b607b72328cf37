"""Say how a checkpoint's keys differ from a model's, the differences that matter first.

Keys are grouped by module (`layer2.0.shortcut.0.weight` -> `layer2.0.shortcut.0`), a
module missing on one side whose parameters match, shape for shape, one module only on
the other side is a rename (`fc` in the model is `linear` in the checkpoint), and
BatchNorm's `num_batches_tracked` counters never count as a difference.
"""

from collections import defaultdict

Shapes = dict[str, tuple[int, ...]]
COUNTER = "num_batches_tracked"


def is_counter(key: str) -> bool:
    return key.rpartition(".")[2] == COUNTER


def _modules(keys: list[str], shapes: Shapes) -> dict[str, tuple]:
    """module path -> its (parameter name, shape) pairs, sorted: the module's signature."""
    groups: dict[str, list] = defaultdict(list)
    for key in keys:
        module, _, leaf = key.rpartition(".")
        groups[module].append((leaf, shapes[key]))
    return {module: tuple(sorted(params)) for module, params in groups.items()}


def _outermost(paths: list[str]) -> list[str]:
    """Siblings shown once by their parent (`layer2.0.shortcut.*` for `.0` and `.1`), in
    the order they first appear."""
    parents: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        parents[path.rpartition(".")[0]].append(path)
    out: list[str] = []
    for path in paths:
        parent = path.rpartition(".")[0]
        shown = f"{parent}.*" if parent and len(parents[parent]) > 1 else path
        if shown not in out:
            out.append(shown)
    return out


def _listed(items: list[str], limit: int = 6) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _count(n: int, noun: str, plural: str) -> str:
    return f"{n} {noun if n == 1 else plural}"


def differences(checkpoint: Shapes, model: Shapes, arch: str, shapes: bool = True) -> list[str]:
    """Readable differences, most telling first; empty when the checkpoint fits. Without
    `shapes`, only the keys are compared (a model built before the data says its classes
    and channels)."""
    missing = [k for k in model if k not in checkpoint and not is_counter(k)]
    extra = [k for k in checkpoint if k not in model and not is_counter(k)]
    mismatches = [
        f"{k}: checkpoint {tuple(checkpoint[k])} vs {arch} {tuple(v)}"
        for k, v in model.items()
        if shapes and k in checkpoint and tuple(checkpoint[k]) != tuple(v)
    ]
    gone, new = _modules(missing, model), _modules(extra, checkpoint)
    renames = []
    by_signature: dict[tuple, list[str]] = defaultdict(list)
    for module, signature in new.items():
        by_signature[signature].append(module)
    taken: dict[tuple, int] = defaultdict(int)
    for signature in gone.values():
        taken[signature] += 1
    for module, signature in list(gone.items()):
        candidates = by_signature.get(signature, [])
        if len(candidates) == 1 and taken[signature] == 1:
            renames.append(f"{arch}'s `{module}` is `{candidates[0]}` in the checkpoint")
            del gone[module], new[candidates[0]]
    out = list(renames)
    if gone:
        shown = _listed(_outermost(list(gone)))
        out.append(
            f"the checkpoint lacks {_count(len(gone), 'module', 'modules')} of {arch}: {shown}"
        )
    if new:
        shown = _listed(_outermost(list(new)))
        out.append(
            f"the checkpoint has {_count(len(new), 'module', 'modules')} that {arch} lacks: {shown}"
        )
    if mismatches:
        many = _count(len(mismatches), "shape mismatch", "shape mismatches")
        out.append(f"{many}: {_listed(mismatches, 4)}")
    return out
