"""The pieces of bench/kd_cifar.py that decide what a student sees: the on-device crop and
flip, the replayed teacher's rows, and the paired table (small data of their own)."""

import numpy as np
import pytest
import torch

from bench import cifar_data
from bench.cifar_teacher import ReplayTeacher, TeacherTable
from bench.kd_cifar_report import paired, report


def test_crop_flip_is_a_padded_crop_or_its_mirror():
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = cifar_data.crop_flip(x, torch.Generator().manual_seed(3), pad=2)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2,) * 4)
    flipped = 0
    for i in range(len(x)):
        windows = [padded[i, :, r : r + 8, c : c + 8] for r in range(5) for c in range(5)]
        plain = any(torch.equal(out[i], w) for w in windows)
        mirror = any(torch.equal(out[i], w.flip(-1)) for w in windows)
        assert plain or mirror, f"image {i} is no crop of its padded self"
        flipped += mirror and not plain
    assert 0 < flipped < len(x)  # some flipped, some not


def test_crop_flip_depends_only_on_the_generator_seed():
    x = torch.randint(0, 256, (32, 3, 8, 8), dtype=torch.uint8)
    a = cifar_data.crop_flip(x, torch.Generator().manual_seed(7))
    b = cifar_data.crop_flip(x, torch.Generator().manual_seed(7))
    c = cifar_data.crop_flip(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_stratified_takes_the_same_count_of_every_class():
    labels = torch.arange(10).repeat_interleave(30)
    keep = cifar_data.stratified(labels, 7, seed=1)
    assert labels[keep].bincount().tolist() == [7] * 10
    assert torch.equal(keep, cifar_data.stratified(labels, 7, seed=1))


def test_replay_answers_the_announced_batch_in_its_order(tmp_path):
    table = TeacherTable(tmp_path, ["block"])
    rows = np.arange(20, dtype=np.float16)
    np.save(tmp_path / "e000-logits.npy", np.stack([rows, -rows], 1))
    np.save(tmp_path / "e000-embedding.npy", rows[:, None] * 2)
    np.save(tmp_path / "e000-block.npy", rows[:, None, None, None] * 3)
    replay = ReplayTeacher(table, torch.device("cpu"))
    idx = torch.tensor([9, 2, 17, 0])
    replay.at(0, idx)
    f = replay(torch.zeros(4, 3, 8, 8))
    assert f.logits[:, 0].tolist() == [9, 2, 17, 0]
    assert f.embedding[:, 0].tolist() == [18, 4, 34, 0]
    assert f.outputs["block"].flatten().tolist() == [27, 6, 51, 0]
    assert f.logits.dtype == torch.float32


def test_paired_differences_use_common_seeds_only():
    d = paired({0: 0.8, 1: 0.7, 2: 0.9}, {0: 0.75, 1: 0.72})
    assert d["seeds"] == [0, 1] and d["wins"] == 1
    assert abs(d["mean"] - (0.05 - 0.02) / 2) < 1e-12


def test_report_pairs_against_ce_and_the_best_teacher_free_rival():
    def row(label, seed, acc, teacher=False):
        return {
            "label": label,
            "seed": seed,
            "accuracy": acc,
            "seconds_per_epoch": 1.0,
            "teacher_forward": teacher,
            "reads_knowledge": label == "static",
        }

    rows = [
        row(label, s, base + 0.01 * s)
        for s in range(3)
        for label, base in (("ce", 0.70), ("ls", 0.72), ("tfkd", 0.71), ("static", 0.74))
    ] + [row("kd", s, 0.75, teacher=True) for s in range(3)]
    out = report(rows, {"teacher_seconds_per_epoch": 2.5}, ["ls", "tfkd", "static_free"])
    assert out["best_teacher_free_rival"] == "ls"
    static = out["methods"]["static"]
    assert abs(static["minus_ce"]["mean"] - 0.04) < 1e-9 and static["minus_ce"]["wins"] == 3
    assert abs(static["minus_best_rival"]["mean"] - 0.02) < 1e-9
    assert out["methods"]["kd"]["seconds_per_epoch_live_teacher"] == 3.5
    assert out["methods"]["static"]["seconds_per_epoch_live_teacher"] == 1.0
    assert "| static | knowledge | 75.00" in out["markdown"]


def test_a_variant_label_names_its_method_and_the_settings_it_overrides():
    from bench.kd_cifar import Protocol, code_stamp, method_of, overrides

    assert method_of("static:rho=1+beta=2") == "static"
    assert method_of("static_shuffled:rho=1") == "static" and method_of("kd") == "kd"
    assert overrides("static:rho=1+beta=2+t=10") == {"rho": 1.0, "beta": 2.0, "temperature": 10.0}
    assert overrides("static") == {}
    cpu = torch.device("cpu")
    assert code_stamp("static:rho=1", Protocol(), cpu) != code_stamp("static", Protocol(), cpu)


def test_a_changed_default_of_a_method_changes_its_stamp(monkeypatch):
    """A method's source names DEFAULT_RHO, not its value: the value is stamped too, so a
    new default never reuses results trained with the old one."""
    import dataclasses

    from backend.distill import registry
    from bench.kd_cifar import Protocol, code_stamp

    cpu = torch.device("cpu")
    before = code_stamp("static", Protocol(), cpu), code_stamp("ce", Protocol(), cpu)
    info = registry.get_method("static")
    monkeypatch.setitem(registry._METHODS, "static", dataclasses.replace(info, default_rho=99.0))
    assert code_stamp("static", Protocol(), cpu) != before[0]
    assert code_stamp("ce", Protocol(), cpu) == before[1]


def test_the_s_controls_put_the_teachers_s_where_their_names_say():
    from backend.distill.knowledge import Knowledge, KnowledgeLayer
    from backend.distill.relation import (
        SoftRelation,
        class_soft_targets,
        profile_similarity,
        simplex_similarity,
    )
    from bench.kd_cifar import S_CONTROLS, method_of, set_control

    torch.manual_seed(0)
    v, hidden = (torch.nn.functional.normalize(torch.randn(n, 4), dim=1) for n in (5, 7))
    teacher = v @ v.T
    knowledge = Knowledge(
        "t",
        "a",
        {},
        {},
        list("abcde"),
        "fc",
        4,
        [
            KnowledgeLayer("h", hidden, list("hijklmn"), False),
            KnowledgeLayer("fc", v, list("abcde"), False),
        ],
    )
    simplex = simplex_similarity(5)
    template, from_teacher = (class_soft_targets(s, 4.0, 20.0) for s in (simplex, teacher))
    soft = {}
    for control in S_CONTROLS:
        assert method_of(control) == "static"
        targets = SoftRelation(teacher, 4.0, 20.0)  # as static builds it: soft from the simplex
        assert torch.allclose(targets.soft, template)
        set_control(targets, control, knowledge)
        soft[control] = targets.soft
        relation = targets.similarity
        assert torch.allclose(relation.diag(), torch.ones(5)) and torch.allclose(
            relation, relation.T
        )
        if control == "static_shuffled":
            assert not torch.allclose(relation, teacher)
        elif control == "static_amplified":  # twice as far from the simplex, within [-1, 1]
            inside = (2 * teacher - simplex).abs() <= 1
            assert torch.allclose(relation[inside], (2 * teacher - simplex)[inside])
            assert torch.equal(relation[~inside].abs(), torch.ones(int((~inside).sum())))
        elif control == "static_profile":
            assert torch.allclose(relation, profile_similarity(v, hidden))
        else:
            assert torch.allclose(relation, simplex if control == "static_softonly" else teacher)
    for control in ("static_shuffled", "static_amplified", "static_profile"):
        assert torch.allclose(soft[control], template)  # static's soft target, kept
    assert torch.allclose(soft["static_both"], from_teacher)
    assert torch.allclose(soft["static_softonly"], from_teacher)
    with pytest.raises(ValueError, match="hint layer"):
        set_control(SoftRelation(teacher, 4.0, 20.0), "static_profile")
