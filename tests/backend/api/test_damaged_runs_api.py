"""One damaged run (a 0-byte vectors file, a malformed run.json) is listed apart with the
reason; the healthy runs are listed as before, and opening the damaged one says why."""

import shutil

import pytest

from tests.backend.api.conftest import Server


def damaged_home(quickstart_copy, name: str):
    """A copy of the quickstart home with two damaged copies of its run: `empty-vectors`
    (0-byte vectors.safetensors) and `bad-json` (run.json cut short)."""
    home = quickstart_copy(name)
    runs = home / "runs"
    for name in ("empty-vectors", "bad-json"):
        shutil.copytree(runs / "digits-default", runs / name)
    (runs / "empty-vectors" / "vectors.safetensors").write_bytes(b"")
    meta = runs / "bad-json" / "run.json"
    meta.write_text(meta.read_text()[:40])
    return home


@pytest.fixture(scope="module")
def damaged_server(quickstart_copy):
    srv = Server(damaged_home(quickstart_copy, "damaged")).start()
    yield srv
    srv.stop()


def test_a_damaged_run_is_flagged_and_the_others_are_listed(damaged_server):
    with damaged_server.client() as client:
        listed = client.get("/api/runs")
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert [r["id"] for r in body["data"]] == ["digits-default"] and body["count"] == 1
        damaged = {d["id"]: d["reason"] for d in body["damaged"]}
        assert set(damaged) == {"empty-vectors", "bad-json"}
        assert "run.json" in damaged["bad-json"] or "JSON" in damaged["bad-json"]
        assert str(damaged_server.home) not in str(damaged)  # no server paths
        for run in ("empty-vectors", "bad-json"):
            opened = client.get(f"/api/runs/{run}")
            assert opened.status_code == 422 and "damaged" in opened.json()["detail"]
            neurons = client.get(f"/api/runs/{run}/neurons")
            assert neurons.status_code == 422
        assert client.get("/api/runs/digits-default").status_code == 200
