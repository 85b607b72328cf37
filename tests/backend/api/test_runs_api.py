"""The explorer API on a real digits run (made by `semvec quickstart`) and a real server."""

import io
import time

import pytest
from PIL import Image

from tests.backend.api.conftest import Server, wait_for_job

FINAL = {"succeeded", "failed", "cancelled", "interrupted"}


@pytest.fixture(scope="module")
def client(quickstart_copy):
    home = quickstart_copy("explorer")
    server = Server(home).start()
    with server.client() as c:
        yield c
    server.stop()


def test_runs_and_run_detail(client):
    runs = client.get("/api/runs").json()
    assert [r["id"] for r in runs["data"]] == ["digits-default"]
    run = client.get("/api/runs/digits-default").json()
    assert run["neurons"] == 234 and run["arch"] == "digits_cnn" and run["analyzed"]
    assert {p["method"] for p in run["projections"]} == {"pca", "umap"}
    assert {"n_neighbors", "min_dist"} <= set(
        next(p["params"] for p in run["projections"] if p["method"] == "umap")
    )
    assert run["quality"]["r"] >= 0.97 and run["classes"] == [str(d) for d in range(10)]
    # The digits CNN has no residual connections: P@10 without copies is P@10.
    q = run["quality"]
    assert q["residual_copies"] == {"stages": [], "neurons": 0}
    assert q["precision_at_10_without_copies"] == q["precision_at_10"]
    missing = client.get("/api/runs/nope")
    assert missing.status_code == 404 and "no run named 'nope'" in missing.json()["detail"]


def test_neuron_listing_filters(client):
    everything = client.get("/api/runs/digits-default/neurons").json()
    assert everything["total"] == 234 and everything["data"][0]["name"] == "conv1:0"
    logits = client.get("/api/runs/digits-default/neurons", params={"layer": "fc"}).json()
    assert [n["name"] for n in logits["data"]] == [f"fc:{c}" for c in range(10)]
    assert [n["label"] for n in logits["data"]] == [str(c) for c in range(10)]
    sevens = client.get("/api/runs/digits-default/neurons", params={"label": "7"}).json()
    assert sevens["total"] >= 1 and all(n["label"] == "7" for n in sevens["data"])
    page = client.get("/api/runs/digits-default/neurons", params={"offset": 230, "limit": 10})
    assert page.json()["count"] == 4
    bad = client.get("/api/runs/digits-default/neurons", params={"layer": "conv9"})
    assert bad.status_code == 422 and "conv3" in bad.json()["detail"]


def test_neuron_detail_by_id_and_name(client):
    by_id = client.get("/api/runs/digits-default/neurons/101").json()
    by_name = client.get("/api/runs/digits-default/neurons/conv3:5").json()
    assert by_id == by_name and by_id["name"] == "conv3:5"
    values = [t["value"] for t in by_id["top"]]
    assert len(values) == 9 and values == sorted(values, reverse=True)
    assert len(by_id["class_means"]) == 10 and by_id["quality_r"] is not None
    for bad in ("999", "conv9:1", "conv3:500"):
        response = client.get(f"/api/runs/digits-default/neurons/{bad}")
        assert response.status_code == 404, bad
        assert "neuron" in response.json()["detail"]


def test_neighbors(client):
    rows = client.get("/api/runs/digits-default/neurons/fc:3/neighbors", params={"k": 5}).json()
    sims = [r["similarity"] for r in rows["data"]]
    assert rows["count"] == 5 and sims == sorted(sims, reverse=True)
    assert "fc:3" not in [r["name"] for r in rows["data"]]
    assert client.get("/api/runs/digits-default/neurons/0/neighbors?k=0").status_code == 422


def test_top_image_with_heatmap(client):
    response = client.get("/api/runs/digits-default/neurons/conv2:3/images/0.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (128, 128) and image.mode == "RGB"
    plain = client.get("/api/runs/digits-default/neurons/fc:3/images/0.png")  # no map
    assert plain.status_code == 200
    assert client.get("/api/runs/digits-default/neurons/conv2:3/images/9.png").status_code == 404


def test_projection_cached_or_a_job_to_poll(client):
    pca = client.get("/api/runs/digits-default/projection", params={"method": "pca"})
    assert pca.status_code == 200 and len(pca.json()["x"]) == 234
    umap = client.get("/api/runs/digits-default/projection")  # quickstart cached it
    assert umap.status_code == 200 and len(umap.json()["ids"]) == 234
    params = {"method": "tsne", "perplexity": 12}
    missing = client.get("/api/runs/digits-default/projection", params=params)
    assert missing.status_code == 409 and missing.json()["job_id"] is None
    post = "POST /api/runs/digits-default/projection?method=tsne&perplexity=12"
    assert (
        missing.json()["detail"]
        == f"the tsne map of digits-default is not made yet: {post} starts it"
    )
    pending = client.post("/api/runs/digits-default/projection", params=params)
    assert pending.status_code == 202
    job_id = pending.json()["job_id"]
    again = client.post("/api/runs/digits-default/projection", params=params)
    assert again.status_code == 202 and again.json()["job_id"] == job_id  # one job per map
    deadline = time.monotonic() + 120
    while client.get(f"/api/jobs/{job_id}").json()["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert client.get(f"/api/jobs/{job_id}").json()["state"] == "succeeded"
    done = client.get("/api/runs/digits-default/projection", params=params)
    assert done.status_code == 200 and len(done.json()["x"]) == 234
    made = client.post("/api/runs/digits-default/projection", params=params)
    assert made.status_code == 200 and made.json() == done.json()  # made: no second job
    bad = client.get("/api/runs/digits-default/projection", params={"method": "mds"})
    assert bad.status_code == 422
    assert client.get("/api/runs/digits-default/projection?n_neighbors=1").status_code == 422
    too_many = client.get("/api/runs/digits-default/projection?n_neighbors=300")
    assert too_many.status_code == 422 and "2..233" in too_many.json()["detail"]
    too_wide = client.get("/api/runs/digits-default/projection?method=tsne&perplexity=234")
    assert too_wide.status_code == 422 and "below 234" in too_wide.json()["detail"]
    for path in ("..%2Fx", "..%2F..%2Fetc/neurons", "a%2F..%2F..%2Fx"):
        assert client.get(f"/api/runs/{path}").status_code in (404, 422), path


def test_exports(client):
    vectors = client.get("/api/runs/digits-default/export/vectors.tsv")
    assert vectors.status_code == 200 and len(vectors.text.splitlines()) == 234
    csv_text = client.get("/api/runs/digits-default/export/neurons.csv").text
    assert csv_text.startswith("id,name,layer,channel,label")
    assert client.get("/api/runs/digits-default/export/evil.sh").status_code == 422


def test_columns_hold_every_neuron_in_id_order(client):
    columns = client.get("/api/runs/digits-default/columns").json()
    listed = client.get("/api/runs/digits-default/neurons", params={"limit": 1000}).json()
    assert len(columns["name"]) == 234
    for field in ("name", "layer", "label", "dead", "quality_r"):
        assert columns[field] == [n[field] for n in listed["data"]], field
    assert client.get("/api/runs/nope/columns").status_code == 404


def test_catalog_and_unknown_api_paths(client):
    assert "digits_cnn" in client.get("/api/models").json()
    assert "digits" in client.get("/api/datasets").json()
    missing = client.get("/api/no/such/thing")
    assert missing.status_code == 404 and "/api/no/such/thing" in missing.json()["detail"]
    assert client.post("/api/nothing").status_code == 404


def test_page_is_served_at_root(client):
    for path in ("/", "/runs", "/distill"):  # deep links to tabs load the page too
        page = client.get(path)
        assert page.status_code == 200 and "<title>semvec</title>" in page.text, path


def test_student_drawn_on_the_teacher_map(client):
    config = {"arch": "digits_cnn_small", "epochs": 2, "name": "student", "device": "cpu"}
    trained = client.post("/api/jobs", json={"kind": "train", "config": config}).json()
    assert wait_for_job(client, trained["id"], FINAL)["state"] == "succeeded"
    url = "/api/runs/student/placement/digits-default"
    missing = client.get(url, params={"method": "pca"})
    assert missing.status_code == 409 and f"POST {url}?method=pca" in missing.json()["detail"]
    pending = client.post(url, params={"method": "pca"})
    assert pending.status_code == 202 and "matching" in pending.json()["detail"]
    job = wait_for_job(client, pending.json()["job_id"], FINAL)
    assert job["kind"] == "place" and job["state"] == "succeeded", job["error"]
    placed = client.get(url, params={"method": "pca"}).json()
    teacher, student = placed["teacher"], placed["student"]
    assert len(teacher["x"]) == 234 and len(student["x"]) == 8 + 16 + 32 + 10
    assert placed["images"] == 359 and len(placed["logit_pairs"]) == 10
    for s_id, t_id in placed["logit_pairs"]:  # a class neuron sits on the teacher's
        assert student["name"][s_id] == teacher["name"][t_id] == student["match"][s_id]
        assert (student["x"][s_id], student["y"][s_id]) == (teacher["x"][t_id], teacher["y"][t_id])
    assert all(-1 <= r <= 1 for r in student["corr"])
    assert client.get("/api/runs/student/placement/nope").status_code == 404
    assert client.post("/api/runs/student/placement/nope").status_code == 404
