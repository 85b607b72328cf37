"""A distill job with no name gets a run name a run can have (no colon from the student)."""

import pytest

from backend.jobs.distill import DistillJob, distill_name
from backend.runs.store import check_run_id


@pytest.mark.parametrize("student", ["torchvision:resnet18", "timm:resnet18", "digits_cnn_small"])
def test_the_default_run_name_is_valid_for_any_student(student):
    cfg = DistillJob.model_construct(student=student, method="static", seed=0, name=None)
    name = distill_name(cfg, 19)
    assert check_run_id(name) == name and name.endswith("-static-s0-job19")
