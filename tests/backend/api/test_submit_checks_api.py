"""Configs that used to be accepted at submit and fail only in the worker (or take the
machine down, as 16 gloo ranks on a CPU machine did) get a 422 that says why."""

import pytest

from tests.backend.api.conftest import Server

BAD = [
    ("train", {"gpus": 16}, "more processes than this machine runs"),
    ("distill", {"teacher": "digits-default", "gpus": 16}, "more processes"),
    ("train", {"seed": 2**64}, "seed"),
    ("train", {"data": {"seed": 2**40}}, "seed"),
    ("train", {"arch_kwargs": {"bogus": 1}}, "do not build digits_cnn"),
    ("train", {"arch_kwargs": {"num_classes": "ten"}}, "do not build"),
    ("train", {"layers": ["conv9"]}, "unknown layer 'conv9'"),
    ("train", {"device": "cuda:99"}, "cuda:99"),
    ("analyze", {"run": "digits-default", "device": "tpu"}, "device"),
    (
        "project",
        {"run": "digits-default", "method": "umap", "params": {"n_neighbors": 400}},
        "n_neighbors",
    ),
    (
        "project",
        {"run": "digits-default", "method": "tsne", "params": {"perplexity": 900}},
        "perplexity",
    ),
    ("distill", {"teacher": "digits-default", "lam": 1e308}, "lam 1e+308 is too large"),
    ("distill", {"teacher": "digits-default", "method": "kd", "lam": 1e30}, "at most 300,000"),
    ("distill", {"teacher": "digits-default", "method": "kd", "lam": 500}, "too large for kd"),
    ("distill", {"teacher": "digits-default", "temperature": 1e-300}, "outside 0.5–100"),
    (
        "distill",
        {"teacher": "digits-default", "student": "torchvision:resnet18"},
        "takes 3-channel images and the teacher's dataset (digits) has 1",
    ),
]


@pytest.fixture(scope="module")
def checks_server(quickstart_copy):
    home = quickstart_copy("checks")
    srv = Server(home).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(("kind", "config", "words"), BAD)
def test_configs_that_would_fail_in_the_worker_get_422_at_submit(
    checks_server, kind, config, words
):
    with checks_server.client() as client:
        answer = client.post("/api/jobs", json={"kind": kind, "config": config})
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"], answer.json()["detail"]
        assert client.get("/api/jobs").json()["count"] == 0


def test_a_map_past_the_runs_size_is_refused_before_a_job_starts(checks_server):
    with checks_server.client() as client:
        params = {"method": "umap", "n_neighbors": 400}  # more than digits-default has neurons
        for method in ("GET", "POST"):
            answer = client.request(method, "/api/runs/digits-default/projection", params=params)
            assert answer.status_code == 422 and "n_neighbors" in answer.json()["detail"]
        assert client.get("/api/jobs").json()["count"] == 0
