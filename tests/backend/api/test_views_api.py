"""The map's clusters and the neurons' optimised images through a real server, on the
real digits run made by `semvec quickstart`."""

import io
import shutil

import pytest
from PIL import Image

from tests.backend.api.conftest import Server, wait_for_job

RUN = "/api/runs/digits-default"


@pytest.fixture(scope="module")
def served(quickstart_copy):
    home = quickstart_copy("views")
    server = Server(home).start()
    with server.client() as c:
        yield c, home
    server.stop()


def test_clusters_come_with_the_map_and_name_their_neurons(served):
    client, _home = served
    body = client.get(f"{RUN}/clusters", params={"method": "umap"}).json()
    assert body["neurons"] == 234 and body["clusters"]
    columns = client.get(f"{RUN}/columns").json()
    seen = set()
    for cluster in body["clusters"]:
        members = cluster["members"]
        assert len(members) == cluster["size"] >= body["min_size"] and not seen & set(members)
        seen |= set(members)
        layers = {columns["layer"][i] for i in members}
        assert set(cluster["layers"]) <= layers and cluster["label"].startswith("#")
        assert all(c in {columns["label"][i] for i in members} for c in cluster["classes"])
        assert len(cluster["outline"]["x"]) == len(cluster["outline"]["y"]) >= 4
    assert body["unclustered"] == 234 - len(seen)
    # One clustering for every map: the PCA map has the same clusters, outlined elsewhere.
    pca = client.get(f"{RUN}/clusters", params={"method": "pca"}).json()
    assert [c["members"] for c in pca["clusters"]] == [c["members"] for c in body["clusters"]]
    assert pca["clusters"][0]["outline"] != body["clusters"][0]["outline"]


def test_missing_clusters_are_made_by_a_project_job(served):
    client, home = served
    shutil.rmtree(home / "runs" / "digits-default" / "clusters")
    missing = client.get(f"{RUN}/clusters", params={"method": "pca"})  # a GET only reads
    assert (
        missing.status_code == 409
        and "POST /api/runs/digits-default/clusters" in (missing.json()["detail"])
    )
    pending = client.post(f"{RUN}/clusters", params={"method": "pca"})
    assert pending.status_code == 202
    again = client.get(f"{RUN}/clusters", params={"method": "pca"})
    assert again.status_code == 409 and again.json()["job_id"] == pending.json()["job_id"]
    job = wait_for_job(client, pending.json()["job_id"], {"succeeded", "failed"})
    assert job["state"] == "succeeded" and job["kind"] == "project"
    again = client.get(f"{RUN}/clusters", params={"method": "pca"})
    assert again.status_code == 200 and again.json()["clusters"]


def _visualize(client, **config):
    return client.post("/api/jobs", json={"kind": "visualize", "config": config})


def test_bad_visualize_jobs_say_what_is_wrong(served):
    client, _ = served
    layer = _visualize(client, run="digits-default", layer="layer4")
    assert layer.status_code == 422
    assert "no probed layer 'layer4'" in layer.json()["detail"]
    assert "conv1, conv2, conv3, fc" in layer.json()["detail"]
    other = _visualize(client, run="digits-default", neurons=["layer3.1.conv2:17"])
    assert other.status_code == 422
    assert "digits-default has no neuron 'layer3.1.conv2:17'" in other.json()["detail"]
    too_far = _visualize(client, run="digits-default", neurons=["999"])
    assert too_far.status_code == 422 and "0..233" in too_far.json()["detail"]
    none = _visualize(client, run="digits-default", neurons=[])
    assert none.status_code == 422 and "exactly one of `layer` or `neurons`" in none.text
    assert _visualize(client, run="nope", layer="conv3").status_code == 422


def test_an_optimised_image_beats_the_dataset_and_is_served_again(served):
    client, home = served
    before = client.get(f"{RUN}/neurons/conv3:5/feature").json()
    assert before == before | {"made": False, "neuron": 101}
    assert client.get(f"{RUN}/neurons/conv3:5/feature/max.png").status_code == 404
    job = _visualize(client, run="digits-default", neurons=["conv3:5"]).json()
    assert wait_for_job(client, job["id"], {"succeeded", "failed"}, 600)["state"] == "succeeded"
    info = client.get(f"{RUN}/neurons/conv3:5/feature").json()
    top = client.get(f"{RUN}/neurons/conv3:5").json()["top"][0]["value"]
    assert info["made"] and info["coarse"] and info["size"] == 8
    assert info["dataset_max"] == pytest.approx(top, rel=1e-4)
    assert info["max_activation"] > 1.5 * info["dataset_max"]  # far above any digit
    assert info["min_activation"] < info["max_activation"] / 10
    for kind in ("max", "min"):
        png = client.get(f"{RUN}/neurons/conv3:5/feature/{kind}.png", params={"size": 64})
        assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).size == (64, 64)
    # Served again without a new job; asking again is a job that optimises nothing.
    jobs = client.get("/api/jobs").json()["count"]
    assert client.get(f"{RUN}/neurons/conv3:5/feature").json() == info
    assert client.get("/api/jobs").json()["count"] == jobs
    made = home / "runs" / "digits-default" / "features" / "101-max.png"
    stamp = made.stat().st_mtime_ns
    again = _visualize(client, run="digits-default", neurons=["101"]).json()
    assert wait_for_job(client, again["id"], {"succeeded", "failed"})["state"] == "succeeded"
    assert made.stat().st_mtime_ns == stamp


def test_the_picture_sheet_is_made_once_by_a_job_and_holds_each_neurons_crop(served):
    client, _home = served
    missing = client.get(f"{RUN}/pictures")  # a run made before the sheet: a GET only reads
    assert (
        missing.status_code == 409
        and "POST /api/runs/digits-default/pictures" in (missing.json()["detail"])
    )
    assert client.get(f"{RUN}/pictures/sheet.jpg").status_code == 404
    pending = client.post(f"{RUN}/pictures")
    assert pending.status_code == 202
    job = wait_for_job(client, pending.json()["job_id"], {"succeeded", "failed"})
    assert job["state"] == "succeeded" and job["kind"] == "pictures", job["error"]
    index = client.get(f"{RUN}/pictures").json()
    assert index["count"] == 234 and index["tile"] == 32 and index["columns"] == 16
    assert client.post(f"{RUN}/pictures").status_code == 200  # made: no second job
    sheet = Image.open(io.BytesIO(client.get(index["sheet"]).content)).convert("L")
    assert sheet.size == (16 * 32, 15 * 32) and index["bytes"] > 10_000
    tiles = {
        i: sheet.crop(((i % 16) * 32, (i // 16) * 32, (i % 16 + 1) * 32, (i // 16 + 1) * 32))
        for i in range(234)
    }
    # Each neuron's own picture: mostly a digit's strokes (dark and light), no blank tile.
    spread = [hi - lo for lo, hi in (t.getextrema() for t in tiles.values())]
    assert sum(d > 100 for d in spread) > 200
    assert len({t.tobytes() for t in tiles.values()}) > 100  # some share their top image
    # The optimised source: conv3:5 (101) has an optimised image (the test above made it),
    # which takes its tile; every other neuron keeps its crop.
    pending = client.post(f"{RUN}/pictures", params={"source": "optimised"})
    assert pending.status_code == 202
    assert wait_for_job(client, pending.json()["job_id"], {"succeeded"})["kind"] == "pictures"
    made = client.get(f"{RUN}/pictures", params={"source": "optimised"}).json()
    assert made["optimised"] == [101] and made["sheet"] != index["sheet"]
    other = Image.open(io.BytesIO(client.get(made["sheet"]).content)).convert("L")
    box = lambda i: ((i % 16) * 32, (i // 16) * 32, (i % 16 + 1) * 32, (i // 16 + 1) * 32)  # noqa: E731
    assert other.crop(box(101)).tobytes() != sheet.crop(box(101)).tobytes()
    assert other.crop(box(100)).tobytes() == sheet.crop(box(100)).tobytes()
