"""An interrupted student resumes from its last epoch checkpoint to the same result."""

import pytest
import torch

from backend.core.progress import Reporter
from backend.distill.config import DistillConfig
from backend.services.distill import distill_run


class StopAfter(Reporter):
    def __init__(self, epochs: int):
        self.epochs = epochs

    def epoch(self, metrics: dict) -> None:
        if metrics["epoch"] == self.epochs:
            raise KeyboardInterrupt("the process dies here")


def test_static_with_an_adapter_resumes_to_the_same_weights(kd_home, tmp_path):
    cfg = DistillConfig(
        teacher="digits-default",
        hint_layers=["conv3"],  # the adapter's weights and momentum are in the checkpoint
        epochs=4,
        train_size=200,
        device="cpu",
        align={"steps": 10},
    )
    whole = distill_run(cfg, name="whole", home=kd_home)
    folder = tmp_path / "job"
    with pytest.raises(KeyboardInterrupt):
        distill_run(cfg, name="resumed", home=kd_home, checkpoint_dir=folder, reporter=StopAfter(2))
    assert (folder / "epoch-checkpoint.pt").exists()
    resumed = distill_run(cfg, name="resumed", home=kd_home, checkpoint_dir=folder)
    a, b = whole.metrics()["history"], resumed.metrics()["history"]
    assert [h["epoch"] for h in b] == [1, 2, 3, 4]
    assert [h["train_loss"] for h in a] == pytest.approx([h["train_loss"] for h in b], rel=1e-5)
    wa, wb = whole.build_model().state_dict(), resumed.build_model().state_dict()
    assert all(torch.allclose(wa[k].float(), wb[k].float(), atol=1e-5) for k in wa)
