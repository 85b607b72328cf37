"""An image folder with files no job can use, through a real server and worker: a folder
with no usable image is refused at submit in words; in one with some, the job leaves them
out, says so in its log, and its run records and shows them."""

from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.api.test_concurrency_api import TRAIN
from tests.photos import bad_images, photo_folder


def _train(root: str) -> dict:
    data = {"name": "imagefolder", "root": root, "image_size": 16}
    return {"kind": "train", "config": TRAIN | {"epochs": 1, "name": "mixed", "data": data}}


def test_bad_images_are_left_out_by_the_job_and_a_folder_of_only_them_is_refused(tmp_path):
    photo_folder(tmp_path / "datasets" / "mixed", per_class=6)
    bad_images(tmp_path / "datasets" / "mixed" / "china")
    bad_images(tmp_path / "datasets" / "only-bad" / "cats")
    with Server(tmp_path) as server, server.client() as client:
        refused = client.post("/api/jobs", json=_train("datasets/only-bad"))
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert "holds no usable image: left out 3 of 3 files" in detail, detail
        assert "cats/huge.png (more than 89,478,485 pixels)" in detail
        assert str(tmp_path) not in detail  # no server paths

        job = client.post("/api/jobs", json=_train("datasets/mixed"))
        assert job.status_code == 201, job.text
        done = wait_for_job(client, job.json()["id"], {"succeeded", "failed"}, timeout=180)
        assert done["state"] == "succeeded", done["error"]
        lines = client.get(f"/api/jobs/{done['id']}/log").json()["lines"]
        said = [line for line in lines if "not usable images" in line]
        assert said and said[0].startswith("Left out 3 of 15 files"), lines
        assert "china/notes.png (not an image PIL can read)" in said[0]
        run = client.get("/api/runs/mixed").json()
        assert run["warnings"] == [
            "3 files of the image folder left out, not usable as images: "
            "china/bomb.jpg, china/huge.png, china/notes.png"
        ]
