"""The Distillation tab's summary chart: differences to CE paired by seed, their spread,
what each method took of the teacher, and ties with CE shown as ties."""

import pytest

from app.components.kd_summary import paired, paired_summary

INFOS = {
    "ce": {"needs_teacher": False, "reads_knowledge": False, "description": "CE alone."},
    "kd": {"needs_teacher": True, "reads_knowledge": False, "description": "Hinton KD."},
    "static": {"needs_teacher": False, "reads_knowledge": True, "description": "Ours."},
    "tfkd": {"needs_teacher": False, "reads_knowledge": False, "description": "Tf-KD."},
}
FINAL = {  # method -> test accuracy (%) at the last epoch, seeds 0, 1, 2
    "ce": [90.0, 91.0, 92.0],
    "static": [91.0, 93.0, 92.5],  # +1.0, +2.0, +0.5: clear of the spread
    "kd": [90.2, 90.8, 92.1],  # +0.2, -0.2, +0.1: a tie
    "tfkd": [88.0, 88.5],  # -2.0, -2.5 on the two seeds it shares with CE
}


def _jobs_and_metrics():
    jobs, metrics = [], {}
    for method, finals in FINAL.items():
        for seed, acc in enumerate(finals):
            job_id = len(jobs) + 1
            jobs.append({"id": job_id, "state": "succeeded",
                         "config": {"method": method, "seed": seed}})  # fmt: skip
            metrics[job_id] = [{"epoch": 1, "test_accuracy": 0.1},
                               {"epoch": 2, "test_accuracy": acc / 100}]  # fmt: skip
    jobs.append({"id": 99, "state": "running", "config": {"method": "kd", "seed": 3}})
    metrics[99] = [{"epoch": 1, "test_accuracy": 0.99}]  # unfinished: left out
    return jobs, metrics


def test_differences_are_paired_by_seed_with_their_spread():
    jobs, metrics = _jobs_and_metrics()
    from app.components.kd_charts import final_by_seed

    rows = {p.method: p for p in paired(final_by_seed(jobs, metrics))}
    assert set(rows) == {"static", "kd", "tfkd"}
    assert rows["static"].diffs == pytest.approx([1.0, 2.0, 0.5])
    assert rows["static"].mean == pytest.approx(7 / 6) and rows["static"].wins == 3
    assert rows["static"].std == pytest.approx(0.7638, abs=1e-4) and not rows["static"].tie
    assert rows["kd"].tie and len(rows["kd"].diffs) == 3
    assert rows["tfkd"].diffs == pytest.approx([-2.0, -2.5])


def test_the_chart_marks_what_each_method_took_and_greys_ties():
    jobs, metrics = _jobs_and_metrics()
    fig = paired_summary(jobs, metrics, INFOS)
    by_name = {}
    for trace in fig.data:
        by_name.setdefault(trace.name, []).append(trace)
    assert {"ran the teacher", "knowledge file only", "no teacher"} <= set(by_name)
    (static,) = by_name["knowledge file only"]
    assert list(static.y) == ["static (ours)"] and static.marker.symbol == "diamond"
    (kd,) = by_name["ran the teacher"]
    assert kd.marker.symbol == "circle-open" and kd.marker.color == "#98A2B3"
    assert "within the seed spread of CE: a tie" in kd.hovertemplate[0]
    assert "within" not in static.hovertemplate[0]
    assert "standard error" in static.hovertemplate[0] and "3 of 3 seeds" in static.hovertemplate[0]
    assert any("within the seed spread" in (t.name or "") for t in fig.data)  # the legend says it
    assert "± 1 std" in fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "method"
    assert "CE: 91.00 % ± 1.00 (3 seeds)" in fig.layout.annotations[0].text


def test_without_ce_the_chart_says_to_add_it():
    jobs, metrics = _jobs_and_metrics()
    kept = [j for j in jobs if j["config"]["method"] != "ce"]
    fig = paired_summary(kept, metrics, INFOS)
    assert not fig.data and "Add CE" in fig.layout.annotations[0].text


def test_a_method_whose_first_job_has_no_epochs_yet_keeps_its_legend_entry():
    from app.components.kd_charts import accuracy_curves

    jobs = [
        {"id": 1, "state": "cancelled", "config": {"method": "static", "seed": 0}},
        {"id": 2, "state": "succeeded", "config": {"method": "static", "seed": 1}},
    ]
    fig = accuracy_curves(jobs, {2: [{"epoch": 1, "test_accuracy": 0.5}]})
    assert [(t.name, t.showlegend) for t in fig.data if len(t.x)] == [("static (ours)", True)]


def test_one_seed_is_drawn_open_and_said_to_be_no_result():
    jobs, metrics = _jobs_and_metrics()
    kept = [j for j in jobs if j["config"]["seed"] == 0]  # one seed of each method
    fig = paired_summary(kept, metrics, INFOS)
    (static,) = [t for t in fig.data if t.name == "knowledge file only"]
    assert static.marker.symbol == "diamond-open" and list(static.text) == ["+1.00 (1 seed)"]
    assert "1 seed: no spread, so not a result yet" in static.hovertemplate[0]
    assert "on 1 of 1 seed<br>" in static.hovertemplate[0]
    assert any(t.name == "open: 1 seed, no spread (not a result yet)" for t in fig.data)
    assert "CE: 90.00 % (1 seed)" in fig.layout.annotations[0].text
    assert all(t.marker.symbol.endswith("-open") for t in fig.data if t.x[0] is not None)
