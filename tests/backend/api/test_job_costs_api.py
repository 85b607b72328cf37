"""Every job states its cost before it runs: the estimate comes back with the job, from
the estimate route before a submit, and a job estimated above the server's ceiling
(SEMVEC_MAX_JOB_HOURS) is refused with 422 naming the estimate and the ceiling."""

import pytest

from tests.backend.api.conftest import Server, wait_for_job

CEILING_H = 0.02
"""72 s: a ceiling the digits run's long jobs pass and its short ones stay under."""

LONG = [
    ("visualize", {"run": "digits-default", "layer": "conv3", "steps": 4096}, "4,096 steps"),
    ("distill", {"teacher": "digits-default", "epochs": 10000}, "10,000 epochs"),
    ("train", {"epochs": 10000}, "10,000 epochs"),
]


@pytest.fixture(scope="module")
def cost_server(quickstart_copy):
    srv = Server(quickstart_copy("costs"), SEMVEC_MAX_JOB_HOURS=str(CEILING_H)).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(("kind", "config", "basis"), LONG)
def test_a_job_above_the_ceiling_is_refused_with_its_estimate(cost_server, kind, config, basis):
    with cost_server.client() as client:
        answer = client.post("/api/jobs", json={"kind": kind, "config": config})
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert f"{kind} job is estimated at about" in detail and basis in detail, detail
        assert f"ceiling of {CEILING_H:g} h" in detail and "SEMVEC_MAX_JOB_HOURS" in detail
        assert client.get("/api/jobs").json()["count"] == 0


def test_the_estimate_route_costs_a_job_without_submitting_it(cost_server):
    with cost_server.client() as client:
        config = {"run": "digits-default", "layer": "conv3", "steps": 4096}
        answer = client.post("/api/jobs/estimate", json={"kind": "visualize", "config": config})
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert found["seconds"] > found["ceiling_s"] == CEILING_H * 3600
        assert found["words"].startswith("about ") and "128 neurons" in found["basis"]
        bad = {"kind": "visualize", "config": {"run": "digits-default", "layer": "conv9"}}
        assert client.post("/api/jobs/estimate", json=bad).status_code == 422
        assert client.get("/api/jobs").json()["count"] == 0


def test_an_accepted_job_carries_its_estimate(cost_server):
    with cost_server.client() as client:
        config = {"run": "digits-default", "method": "pca"}
        job = client.post("/api/jobs", json={"kind": "project", "config": config}).json()
        assert 0 < job["estimate_s"] < CEILING_H * 3600
        assert job["estimate"].startswith("about ") and job["estimate"].endswith(" s")
        done = wait_for_job(client, job["id"], ("succeeded",))
        assert done["estimate_s"] == job["estimate_s"]
