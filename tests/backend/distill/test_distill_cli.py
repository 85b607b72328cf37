"""`semvec knowledge` and `semvec distill`, run as a user would, in subprocesses."""

from backend.distill.knowledge import load_knowledge
from backend.runs.store import RunStore
from tests.conftest import run_semvec


def test_knowledge_then_distill_two_seeds_from_the_file_with_a_table(kd_home, tmp_path):
    out = tmp_path / "k.safetensors"
    proc = run_semvec(
        kd_home, "knowledge", "digits-default", "--layers", "conv3", "--out", str(out)
    )
    assert "conv3 (128), fc (10)" in proc.stdout and str(out) in proc.stdout
    assert load_knowledge(out).hint_layers() == ["conv3"]
    proc = run_semvec(
        kd_home,
        *("distill", "--knowledge", str(out), "--method", "static", "--seeds", "2"),
        *("--epochs", "2", "--train-size", "200", "--align-steps", "10", "--no-analyze"),
        "--name",
        "cli",
    )
    lines = proc.stdout.splitlines()
    assert any(line.startswith("cli-s0 ") and " static " in line for line in lines)
    assert any(line.startswith("cli-s1 ") for line in lines)
    assert any(line.startswith("mean ± std") and " 2 " in line for line in lines)
    runs = RunStore(kd_home)
    assert runs.open("cli-s1").metrics()["distill"]["seed"] == 1
    assert runs.open("cli-s0").metrics()["distill"]["hint_layers"] is None  # the file's: conv3


def test_a_mistake_is_one_line_naming_the_choices(kd_home):
    proc = run_semvec(kd_home, "distill", "--teacher", "digits-default", "--method", "x", expect=2)
    assert (
        "unknown distillation method 'x'; choose one of: ce, ls, tfkd, kd, rkd, sp" in proc.stderr
    )
    assert "Traceback" not in proc.stderr
