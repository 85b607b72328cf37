"""Ablation through the API of a real server on the real digits run: what is refused and
why, a selection's job and its cached answer, a layer sweep and the map's effects."""

import shutil

import pytest

from tests.backend.api.conftest import Server, wait_for_job

FINAL = {"succeeded", "failed", "cancelled", "interrupted"}
RUN = "/api/runs/digits-default"


@pytest.fixture(scope="module")
def served(quickstart_copy):
    home = quickstart_copy("ablation")
    server = Server(home).start()
    with server.client() as client:
        yield client, home
    server.stop()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"neurons": []}, ["selection is empty", "at least one neuron"]),
        (
            {"neurons": ["conv3:5", "layer3.1:17"]},
            ["'layer3.1:17' is not a neuron of run digits-default", "conv1, conv2, conv3, fc"],
        ),
        ({"neurons": [3, 234]}, ["neuron id 234 is not a neuron of run digits-default", "0..233"]),
        ({"neurons": ["conv3:128"]}, ["layer conv3 has channels 0..127"]),
    ],
)
def test_a_selection_that_is_not_of_this_run_is_refused(served, body, words):
    client, _home = served
    job = {"kind": "ablate", "config": {"run": "digits-default"} | body}
    for answer in (client.post(f"{RUN}/ablations", json=body), client.post("/api/jobs", json=job)):
        assert answer.status_code == 422, answer.text
        assert all(w in answer.json()["detail"] for w in words), answer.json()["detail"]


def test_a_layer_the_model_does_not_have_is_refused(served):
    client, _home = served
    answer = client.post(f"{RUN}/ablation-sweeps", json={"layer": "layer4"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "no layer 'layer4'" in detail and "conv1, conv2, conv3, fc" in detail
    job = {"kind": "ablate", "config": {"run": "digits-default", "layer": "conv9"}}
    answer = client.post("/api/jobs", json=job)
    assert answer.status_code == 422 and "no layer 'conv9'" in answer.json()["detail"]
    answer = client.post(f"{RUN}/ablations", json={"neurons": [1], "mode": "half"})
    assert answer.status_code == 422 and "mode" in answer.json()["detail"]


def test_ablation_runs_as_a_job_then_answers_from_its_cache(served):
    client, _home = served
    body = {"neurons": ["fc:3", "conv3:5", 200], "mode": "zero", "draws": 3}
    first = client.post(f"{RUN}/ablations", json=body)
    assert first.status_code == 202, first.text
    pending = first.json()
    job = wait_for_job(client, pending["job_id"], FINAL)
    assert job["state"] == "succeeded", job["error"]
    assert job["progress"] == pytest.approx(1.0)
    again = client.post(f"{RUN}/ablations", json=body | {"neurons": [200, "conv3:5", "fc:3"]})
    assert again.status_code == 200  # the same neurons in another order: the cache
    result = again.json()
    assert result["key"] == pending["key"]
    assert result["neurons"] == [101, 200, 227]  # conv3 starts at 32 + 64, fc at 96 + 128
    assert result["names"] == ["conv3:5", "conv3:104", "fc:3"]
    assert result["layers"] == {"conv3": 2, "fc": 1}
    assert len(result["control"]["draws"]) == 3
    assert all(len(d["neurons"]) == 3 for d in result["control"]["draws"])
    # Knocking out the logit of class 3 costs class 3 nearly all its images, no other class.
    delta = result["selection"]["delta_accuracy"]
    assert delta[3] < -50 and all(abs(d) < 10 for c, d in enumerate(delta) if c != 3)
    ablate_jobs = client.get("/api/jobs", params={"kind": "ablate"}).json()["data"]
    assert len(ablate_jobs) == 1  # answered from the cache, no second job
    linked = client.get(f"{RUN}/ablations/{pending['key']}")
    assert linked.status_code == 200 and linked.json() == result
    missing = client.get(f"{RUN}/ablations/0123456789abcdef")
    assert missing.status_code == 404 and "no ablation 0123456789abcdef" in missing.json()["detail"]


def test_a_layer_sweep_colours_the_map(served):
    client, _home = served
    before = client.get(f"{RUN}/ablation-effects").json()
    assert before["swept"] == [] and set(before["values"]) == {None}
    answer = client.post(f"{RUN}/ablation-sweeps", json={"layer": "fc"})
    assert answer.status_code == 202
    job = wait_for_job(client, answer.json()["job_id"], FINAL)
    assert job["state"] == "succeeded", job["error"]
    sweep = client.post(f"{RUN}/ablation-sweeps", json={"layer": "fc"}).json()
    assert sweep["width"] == 10 and len(sweep["class_delta_accuracy"]) == 10
    # fc:k is the logit of class k: knocking it out hurts class k most.
    for k, row in enumerate(sweep["class_delta_accuracy"]):
        assert min(range(10), key=lambda c: row[c]) == k
    effects = client.get(f"{RUN}/ablation-effects").json()
    assert effects["swept"] == ["fc"]
    assert effects["values"][:224] == [None] * 224
    assert effects["values"][224:] == sweep["delta_accuracy"]


def test_a_crashing_ablation_job_fails_with_its_reason(served):
    client, home = served
    shutil.copytree(home / "runs" / "digits-default", home / "runs" / "digits-broken")
    (home / "runs" / "digits-broken" / "weights.safetensors").write_bytes(b"not a file")
    job = {"kind": "ablate", "config": {"run": "digits-broken", "neurons": [1]}}
    answer = client.post("/api/jobs", json=job)
    assert answer.status_code == 201, answer.text
    done = wait_for_job(client, answer.json()["id"], FINAL)
    assert done["state"] == "failed" and "weights.safetensors" in done["error"]
