"""Which known architectures a checkpoint's keys fit best (for the error that says it
does not fit the one the user named)."""

import warnings
from functools import lru_cache

import torch

from backend.runs.key_diff import is_counter


def _shapes(model: torch.nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not is_counter(k)}


@lru_cache(maxsize=8)
def _candidates(num_classes: int | None) -> tuple:
    """(reference, key -> shape) of every zoo and torchvision model, built on the meta
    device (no memory, no init cost); the few that cannot be built there are skipped.
    Kept per head width: building the catalogue takes seconds, a server asks again."""
    return tuple(_build_candidates(num_classes))


def _build_candidates(num_classes: int | None):
    from backend.models.sources import torchvision_source, zoo

    hints = {"num_classes": num_classes} if num_classes else {}
    for source in (zoo, torchvision_source):
        for name in source.names():
            ref = f"{source.PREFIX}:{name}" if source.PREFIX else name
            try:
                # These models are only compared, never shown: their builders' warnings
                # (GoogLeNet's and Inception's FutureWarning on init_weights) are not the
                # user's concern.
                with torch.device("meta"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    record = source.build(name, {}, dict(hints), load_weights=False)
            except Exception:
                continue
            yield ref, _shapes(record.model)


def choose_instead(state: dict[str, torch.Tensor]) -> str:
    """What to do about weights that do not fit the architecture named, in words a page
    user and a caller of the API both act on: the closest known architectures."""
    best = [f"{ref} ({share:.0%} of keys)" for ref, share in closest_architectures(state)]
    closest = f"; closest: {', '.join(best)}" if best else ""
    return f"choose the architecture the weights were saved from{closest}"


def closest_architectures(
    state: dict[str, torch.Tensor], limit: int = 3
) -> list[tuple[str, float]]:
    """The known architectures whose keys and shapes overlap the checkpoint's most, with
    the share that matches (1.0: every key and shape agrees)."""
    wanted = {k: tuple(v.shape) for k, v in state.items() if not is_counter(k)}
    heads = [v for k, v in wanted.items() if k.endswith(".weight") and len(v) == 2]
    num_classes = heads[-1][0] if heads else None
    scores = []
    for ref, shapes in _candidates(num_classes):
        same = sum(1 for k, v in wanted.items() if shapes.get(k) == v)
        union = len(wanted.keys() | shapes.keys())
        scores.append((ref, same / union if union else 0.0))
    scores.sort(key=lambda item: -item[1])
    return [item for item in scores[:limit] if item[1] > 0]
