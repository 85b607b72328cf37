"""The live teacher of the KD baselines (kd, rkd, sp): built from its run, frozen, in eval
mode, run without gradients on every batch the student sees. `static` never uses it."""

import torch

from backend.core.devices import autocast
from backend.distill.taps import Features, Taps
from backend.runs.store import Run


class LiveTeacher:
    def __init__(
        self,
        run: Run,
        device: torch.device,
        layers: list[str] | None = None,
        embedding: bool = False,
        amp: bool = True,
    ):
        self.run, self.device, self.amp = run, device, amp
        self.model = run.build_model().to(device).eval().requires_grad_(False)
        self.layers = list(layers or [])
        # The hooks stay for the teacher's lifetime: nothing else runs this model.
        self._taps = Taps(self.model, self.layers, run.meta.logit_layer if embedding else None)
        self._taps.__enter__()

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> Features:
        with autocast(self.device, self.amp):
            logits = self.model(x)
        return self._taps.features(logits)
