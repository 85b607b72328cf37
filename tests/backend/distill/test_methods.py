"""The methods registry and every method on a real digits batch, student and teacher."""

import pytest
import torch

import model_zoo
from backend.core.errors import SemvecError
from backend.data import DataSpec, load_split
from backend.distill.knowledge import knowledge_of
from backend.distill.methods import MethodSetup
from backend.distill.registry import get_method, list_methods
from backend.distill.taps import Taps
from backend.distill.teacher import LiveTeacher
from backend.runs.store import RunStore

METHODS = ["ce", "ls", "tfkd", "kd", "rkd", "sp", "static", "static_free", "static_corr"]


def test_every_method_is_registered_and_unknown_names_list_them():
    assert list_methods() == METHODS
    with pytest.raises(ValueError) as err:
        get_method("fitnet")
    assert "fitnet" in str(err.value)
    for name in METHODS:
        assert name in str(err.value)
    assert [m for m in METHODS if get_method(m).needs_teacher] == ["kd", "rkd", "sp"]
    assert [m for m in METHODS if get_method(m).reads_knowledge] == ["static", "static_corr"]


@pytest.fixture(scope="module")
def teacher_run(quickstart_home):
    return RunStore(quickstart_home).open("digits-default")


@pytest.fixture(scope="module")
def batch():
    x, y, _ = next(iter(load_split(DataSpec(), "train").batches(32, shuffle=True)))
    return x, y


def _setup(method, teacher_run, batch, **kw):
    torch.manual_seed(0)
    student = model_zoo.get_model("digits_cnn_small").train()
    info = get_method(method)
    setup = MethodSetup(
        student=student,
        sample=batch[0][:1],
        lam=kw.pop("lam", info.default_lam),
        knowledge=knowledge_of(teacher_run, kw.pop("knowledge_layers", None)),
        teacher=teacher_run.meta,
        **kw,
    )
    return student, info.cls(setup)


def _loss(student, method, teacher_run, batch):
    x, y = batch
    head = student.logit_layer if method.student_embedding else None
    teacher = LiveTeacher(
        teacher_run, torch.device("cpu"), method.teacher_layers, method.teacher_embedding
    )
    t = teacher(x)
    with Taps(student, method.student_layers, head) as taps:
        return method(taps.features(student(x)), y, t)


@pytest.mark.parametrize("name", METHODS)
def test_each_method_gives_a_finite_loss_whose_gradient_reaches_the_student(
    name, teacher_run, batch
):
    student, method = _setup(name, teacher_run, batch)
    loss, term = _loss(student, method, teacher_run, batch)
    assert torch.isfinite(loss) and torch.isfinite(term)
    loss.backward()
    grads = [p.grad for p in student.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    if name != "ce":
        assert term.item() != 0.0


def test_ce_is_plain_cross_entropy(teacher_run, batch):
    student, method = _setup("ce", teacher_run, batch)
    loss, term = _loss(student, method, teacher_run, batch)
    expected = torch.nn.functional.cross_entropy(student(batch[0]), batch[1])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5) and term.item() == 0.0


@pytest.mark.parametrize("name", ["static", "static_corr"])
def test_static_hint_layer_of_another_width_gets_a_trained_adapter(name, teacher_run, batch):
    student, method = _setup(name, teacher_run, batch, knowledge_layers=["conv3"])
    adapters = (method.hints if name == "static" else method.targets).adapters
    assert list(adapters) == ["0"]  # conv3: student 32 wide, teacher 128; the logits: none
    assert adapters["0"].weight.shape == (128, 32)
    assert method.student_layers == ["conv3"]
    loss, _ = _loss(student, method, teacher_run, batch)
    loss.backward()
    assert adapters["0"].weight.grad.abs().sum() > 0


def test_hint_layers_name_valid_choices(teacher_run, batch):
    with pytest.raises(SemvecError, match="unknown teacher layer 'conv9'"):
        _setup("sp", teacher_run, batch, hint_layers=["conv9"])
    with pytest.raises(SemvecError, match="write conv3=STUDENT_LAYER"):
        _setup("sp", teacher_run, batch, hint_layers=["conv3=layer3.0"])
    _, method = _setup("sp", teacher_run, batch, hint_layers=["conv3=conv2"])
    assert (method.teacher_layers, method.student_layers) == (["conv3"], ["conv2"])
    with pytest.raises(SemvecError, match="0 <= lam < 1"):
        _setup("ls", teacher_run, batch, lam=1.5)
