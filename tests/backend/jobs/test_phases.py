"""One progress fraction per job over all its phases (a real SQLite job store)."""

from backend.jobs.builtin import TRAIN_PHASES
from backend.jobs.context import JobReporter
from backend.jobs.store import JobStore


def test_progress_never_goes_back_and_names_the_phase(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    job = store.create("train", {})
    reporter = JobReporter(store, job.id, TRAIN_PHASES, interval=0)
    seen, texts = [], []
    stages = (("train", 5), ("activations", 2), ("reference", 1), ("align", 4), ("quality", 3))
    for stage, steps in (*stages, ("analysis", 2)):
        reporter.stage(stage, steps)
        for _ in range(steps):
            reporter.advance(1)
            row = store.get(job.id)
            seen.append(row.progress)
            texts.append(row.progress_text)
    reporter.stage("an extra step", 3)  # not in the plan: the bar waits, never drops
    reporter.advance(3)
    seen.append(store.get(job.id).progress)
    reporter.stage("pca map", 1)
    reporter.advance(1)
    seen.append(store.get(job.id).progress)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert texts[0] == "1/7 training 1/5"
    assert "2/7 fitting vectors: reading activations 1/2" in texts
    assert "3/7 fitting vectors: eigen-start 1/1" in texts and "4/7 fitting vectors 1/4" in texts
