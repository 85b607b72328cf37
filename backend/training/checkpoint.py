"""Epoch checkpoints for resuming training: model, vectors, optimisers, history.

Saved with torch.save and read back with `weights_only=True`: the payload is only
tensors, numbers, strings, lists and dicts, so resuming never unpickles code.
"""

from pathlib import Path

import torch


class EpochCheckpoint:
    def __init__(self, folder: Path):
        self.path = Path(folder) / "epoch-checkpoint.pt"

    def save(self, epoch: int, step: int, modules: dict, history: list[dict]) -> None:
        """`modules`: name -> anything with state_dict() (model, vectors, optimisers)."""
        payload = {
            "epoch": epoch,
            "step": step,
            "history": history,
            "states": {name: m.state_dict() for name, m in modules.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(payload, tmp)
        tmp.replace(self.path)

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        return torch.load(self.path, map_location="cpu", weights_only=True)

    def restore(self, modules: dict) -> tuple[int, int, list[dict]]:
        """Load states into `modules`; returns (epochs done, steps done, history)."""
        payload = self.load()
        if payload is None:
            return 0, 0, []
        for name, module in modules.items():
            module.load_state_dict(payload["states"][name])
        return payload["epoch"], payload["step"], payload["history"]

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
