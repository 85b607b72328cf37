"""A distillation job's series: its method and the settings it gave, so that jobs with
different settings are never pooled in one chart entry."""

from app.components.kd_charts import final_by_seed, method_label, ordered, series
from app.components.kd_summary import paired


def _job(job_id, method, seed, **settings):
    return {
        "id": job_id,
        "state": "succeeded",
        "config": {"method": method, "seed": seed, **settings},
    }


def test_settings_make_a_series_of_their_own_and_its_label_says_them():
    assert series({"method": "static"}) == "static"
    assert series({"method": "static", "rho": 1.0, "lam": 3}) == "static λ=3 ρ=1"
    assert method_label("static λ=3 ρ=1") == "static (ours) λ=3 ρ=1"
    assert method_label("static") == "static (ours)"
    assert ordered(["static ρ=1", "ce", "static", "ls"]) == ["ce", "ls", "static", "static ρ=1"]


def test_two_settings_of_one_method_are_paired_with_ce_apart():
    jobs = [
        _job(1, "ce", 0),
        _job(2, "static", 0),
        _job(3, "static", 0, rho=1.0),
        _job(4, "ce", 1),
        _job(5, "static", 1, rho=1.0),
    ]
    accuracy = {1: 0.90, 2: 0.88, 3: 0.93, 4: 0.91, 5: 0.95}
    metrics = {i: [{"epoch": 1, "test_accuracy": a}] for i, a in accuracy.items()}
    by_seed = final_by_seed(jobs, metrics)
    assert by_seed["static"] == {0: 88.0}
    assert by_seed["static ρ=1"] == {0: 93.0, 1: 95.0}
    rows = {p.method: p for p in paired(by_seed)}
    assert [round(d, 6) for d in rows["static ρ=1"].diffs] == [3.0, 4.0]
    assert [round(d, 6) for d in rows["static"].diffs] == [-2.0]
