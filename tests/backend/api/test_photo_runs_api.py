"""Runs on folders of real photos through the API: a flat, unlabelled folder says it has
no classes instead of showing zeros; every image the panel shows is served."""

import io
import json
import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from tests.backend.api.conftest import Server


@pytest.fixture(scope="module")
def photo_server(photo_runs):
    with Server(photo_runs["home"]) as server, server.client() as client:
        yield client


def _png(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def test_a_flat_folder_run_has_no_classes_and_says_so(photo_server):
    run = photo_server.get("/api/runs/photos-flat").json()
    assert run["labelled"] is False and run["classes"] is None
    assert run["test_accuracy"] is None
    detail = photo_server.get("/api/runs/photos-flat/neurons/conv3:4").json()
    assert detail["labelled"] is False and detail["class_means"] == []
    assert detail["selectivity"] is None and detail["label"] is None
    assert detail["selectivity_measure"] is None
    assert len(detail["top"]) == 9 and all(t["label"] is None for t in detail["top"])
    # The model's own view of the top images stands in for the missing classes (its
    # outputs are unnamed: the checkpoint did not come with category names).
    assert detail["model_classes_differ"] is True
    names = {t["prediction_name"] for t in detail["top"]}
    assert names <= {"output 0", "output 1"} and detail["model_top_classes"]
    assert sum(c["count"] for c in detail["model_top_classes"]) == 9
    columns = photo_server.get("/api/runs/photos-flat/columns").json()
    assert set(columns["label"]) == {None} and set(columns["selectivity"]) == {None}


def test_a_labelled_run_names_true_and_predicted_classes(photo_server):
    run = photo_server.get("/api/runs/photos-labelled").json()
    assert run["labelled"] is True and run["classes"] == ["china", "flower"]
    detail = photo_server.get("/api/runs/photos-labelled/neurons/fc:1").json()
    assert "point-biserial" in detail["selectivity_measure"]
    assert 0 <= detail["selectivity"] <= 1 and detail["label"] in ("china", "flower")
    top = detail["top"][0]
    assert top["label_name"] in ("china", "flower") and top["prediction_name"] == "flower"
    assert 0.5 <= top["confidence"] <= 1 and top["rank"] == 0
    assert detail["model_classes_differ"] is False and detail["model_top_classes"] == []
    assert len(detail["bottom"]) == 4 and len(detail["random"]) == 4
    values = [b["value"] for b in detail["bottom"]]
    assert values == sorted(values) and values[-1] <= detail["top"][-1]["value"]


def test_top_bottom_and_random_images_are_photos(photo_runs, photo_server):
    detail = photo_server.get("/api/runs/photos-flat/neurons/conv1:0").json()
    top = _png(photo_server.get("/api/runs/photos-flat/neurons/conv1:0/images/0.png?size=224"))
    assert max(top.size) == 224
    # The photo at its own aspect ratio, not the 32-px square the model was fed.
    source = Image.open(_source(photo_runs, detail["top"][0]["image"]))
    assert abs(top.size[0] / top.size[1] - source.size[0] / source.size[1]) < 0.02
    for sample in detail["bottom"] + detail["random"]:
        got = _png(photo_server.get(f"/api/runs/photos-flat/images/{sample['image']}.png"))
        assert max(got.size) == 128
    bad = photo_server.get("/api/runs/photos-flat/images/5000.png")
    assert bad.status_code == 404 and "0..31" in bad.json()["detail"]


def test_thumbnails_are_cached_in_the_run_folder(photo_runs, tmp_path):
    """Once served, a photo comes from the run's cache: the dataset is not read again
    (here it is gone), in this server or the next."""
    home = tmp_path / "home"
    shutil.copytree(photo_runs["home"], home)
    with Server(home) as server, server.client() as client:
        first = client.get("/api/runs/photos-labelled/neurons/conv2:3/images/1.png").content
    cached = list((home / "runs" / "photos-labelled" / "thumbnails" / "all").glob("*.png"))
    assert len(cached) == 1
    shutil.rmtree(home / "datasets" / "labelled")
    with Server(home) as server, server.client() as client:
        again = client.get("/api/runs/photos-labelled/neurons/conv2:3/images/1.png")
        assert again.status_code == 200 and again.content == first


def test_the_first_photo_needs_neither_torchvision_nor_scikit_learn(photo_runs, tmp_path):
    """The first top image of a fresh server took 22 s on a real run: it imported every
    dataset loader (torchvision, scikit-learn) and resolved every path of the folder."""
    code = """
import json, sys, time
from fastapi.testclient import TestClient
from backend.api.app import create_app
with TestClient(create_app(), base_url="http://localhost") as client:
    client.get("/api/runs/photos-flat/neurons/conv2:1")
    start = time.perf_counter()
    status = client.get("/api/runs/photos-flat/neurons/conv2:1/images/0.png").status_code
    took = time.perf_counter() - start
print(json.dumps({"status": status, "seconds": took,
                  "imported": [m for m in ("torchvision", "sklearn") if m in sys.modules]}))
"""
    # A home of its own (the runs copied; their photos stay where they are): another
    # test's server may be running jobs from the shared one, and holds its runner lock.
    home = tmp_path / "home"
    shutil.copytree(photo_runs["home"] / "runs", home / "runs")
    shutil.rmtree(home / "runs" / "photos-flat" / "thumbnails", ignore_errors=True)
    env = {**os.environ, "SEMVEC_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == 200 and result["imported"] == []
    assert result["seconds"] < 1.5


def test_neighbours_carry_copy_groups(photo_server):
    rows = photo_server.get("/api/runs/photos-flat/neurons/conv2:1/neighbors?k=5").json()["data"]
    assert len(rows) == 5 and all("copy_group" in r and "copy_of_query" in r for r in rows)
    hidden = photo_server.get("/api/runs/photos-flat/neurons/conv2:1/neighbors?k=5&hide_copies=1")
    assert hidden.status_code == 200 and hidden.json()["count"] == 5


def _source(photo_runs, index: int):
    files = sorted(p for p in photo_runs["flat_root"].iterdir() if p.is_file())
    return files[index]
