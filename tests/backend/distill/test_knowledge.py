"""The knowledge file: what it holds, that it reads back, and where it goes."""

import pytest
import torch
import torch.nn.functional as F

from backend.core.errors import CheckpointError, SemvecError
from backend.distill.knowledge import (
    KNOWLEDGE_FILE,
    ensure_knowledge,
    export_knowledge,
    load_knowledge,
)
from backend.runs.store import RunStore


@pytest.fixture
def teacher(kd_home):
    return RunStore(kd_home).open("digits-default")


def test_default_file_holds_the_logit_layer_vectors_with_names_and_metadata(teacher):
    path = export_knowledge(teacher)
    assert path == teacher.folder / KNOWLEDGE_FILE
    k = load_knowledge(path)
    assert (k.teacher, k.arch, k.logit_layer, k.vector_dim) == (
        "digits-default",
        "digits_cnn",
        "fc",
        64,
    )
    assert k.classes == [str(c) for c in range(10)]
    assert k.dataset["name"] == "digits"
    assert [lay.path for lay in k.layers] == ["fc"] and k.hint_layers() == []
    fc = k.layer("fc")
    assert fc.names == [f"fc:{c}" for c in range(10)]
    rows = teacher.vectors()[224:234]  # fc comes after 32 + 64 + 128 conv neurons
    assert torch.equal(fc.vectors, rows)
    unit = F.normalize(rows, dim=1)
    assert torch.allclose(fc.similarity(), unit @ unit.T, atol=1e-6)
    assert path.stat().st_size < 5_000


def test_hint_layers_come_in_the_teachers_order_with_the_logits_last(teacher, tmp_path):
    path = export_knowledge(teacher, ["fc", "conv3", "conv1"], tmp_path / "k.safetensors")
    k = load_knowledge(path)
    assert [(lay.path, lay.width) for lay in k.layers] == [
        ("conv1", 32),
        ("conv3", 128),
        ("fc", 10),
    ]
    assert k.layer("conv3").spatial and not k.layer("fc").spatial
    with pytest.raises(SemvecError, match="unknown knowledge layer 'conv2'"):
        k.layer("conv2")
    with pytest.raises(SemvecError, match="unknown layer 'conv9'"):
        export_knowledge(teacher, ["conv9"], tmp_path / "bad.safetensors")


def test_a_weights_file_is_not_knowledge(teacher):
    with pytest.raises(CheckpointError, match="not a semvec knowledge file"):
        load_knowledge(teacher.folder / "weights.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_knowledge(teacher.folder / "nothing.safetensors")


def test_ensure_knowledge_never_overwrites_a_users_file(teacher):
    export_knowledge(teacher, ["conv3"])  # the user's knowledge.safetensors holds conv3 too
    logits_only = ensure_knowledge(teacher, [])
    assert logits_only.name == "knowledge-logits.safetensors"
    assert load_knowledge(logits_only).hint_layers() == []
    assert ensure_knowledge(teacher, ["conv3"]) == teacher.folder / KNOWLEDGE_FILE
    conv2 = ensure_knowledge(teacher, ["conv2"])
    assert conv2.name == "knowledge-conv2.safetensors"
    assert load_knowledge(teacher.folder / KNOWLEDGE_FILE).hint_layers() == ["conv3"]
