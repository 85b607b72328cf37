"""Files of an image folder that no job can use (a PNG declaring 20000 x 20000 pixels, a
JPEG declaring 65000 x 65000, a text file named .png) are left out from their headers,
named and counted; a photo that fails to decode mid-pass is replaced, not fatal; a folder
with no usable image is refused when a job is submitted."""

from pathlib import Path

import pytest

from backend.core.errors import DatasetMissingError
from backend.data import SPLITS, DataSpec, load_split
from backend.data.image_screen import problem
from backend.services.datasets import check_present
from tests.photos import bad_images, photo_folder, truncated_jpeg


def test_each_bad_file_is_named_with_its_reason(tmp_path):
    names = bad_images(tmp_path)
    reasons = {name: problem(str(tmp_path / name)) for name in names}
    assert reasons == {
        "bomb.jpg": "more than 89,478,485 pixels",
        "huge.png": "more than 89,478,485 pixels",
        "notes.png": "not an image PIL can read",
    }
    photo_folder(tmp_path / "good", per_class=1)
    assert problem(str(tmp_path / "good" / "china" / "china-000.jpg")) is None


def test_bad_files_are_left_out_and_a_run_reads_the_folder_again_without_them(tmp_path):
    photo_folder(tmp_path, per_class=5)
    bad = ["china/" + name for name in bad_images(tmp_path / "china")]
    spec = DataSpec("imagefolder", root=str(tmp_path), image_size=16)
    splits = {name: load_split(spec, name) for name in SPLITS}
    assert len(splits["all"]) == 10 and sum(len(splits[n]) for n in SPLITS[:3]) == 10
    assert splits["train"].skip == bad  # what a run records
    note = splits["train"].note
    assert note.startswith("Left out 3 of 13 files that are not usable images: china/bomb.jpg")
    assert "china/notes.png (not an image PIL can read)" in note
    x, _, _ = next(splits["train"].batches(64))
    assert x.shape[0] == len(splits["train"])

    again = DataSpec("imagefolder", root=str(tmp_path), image_size=16, skip=tuple(bad))
    for name in SPLITS:  # the same samples, in the same order, with no header read
        assert load_split(again, name).samples == splits[name].samples
        assert load_split(again, name).note is None


def test_a_photo_that_fails_to_decode_mid_pass_is_replaced_not_fatal(tmp_path, capfd):
    photo_folder(tmp_path, per_class=3, flat=True)
    truncated_jpeg(tmp_path / "cut.jpg")  # its header reads: it passes the screen
    split = load_split(DataSpec("imagefolder", root=str(tmp_path), image_size=16), "all")
    assert len(split) == 7 and split.skip == []
    x, *_ = next(split.batches(64))
    assert x.shape == (7, 3, 16, 16)
    said = capfd.readouterr().err
    assert "cut.jpg: image file is truncated" in said and "a blank image stands in" in said


def test_a_folder_with_no_usable_image_is_refused_in_words(tmp_path):
    only_bad = tmp_path / "datasets" / "only-bad"
    bad_images(only_bad / "cats")
    with pytest.raises(DatasetMissingError) as refused:
        check_present("imagefolder", str(only_bad), tmp_path)
    words = str(refused.value)
    assert "holds no usable image: left out 3 of 3 files" in words
    assert "cats/notes.png (not an image PIL can read)" in words
    assert "at most 89,478,485 pixels each" in words
    photo_folder(only_bad, per_class=1)
    check_present("imagefolder", str(only_bad), tmp_path)  # one usable photo is enough


def test_the_run_records_what_was_left_out_and_says_so(tmp_path):
    from backend.services.vectors import train_run
    from backend.training.config import AlignConfig, DataConfig, TrainConfig

    photo_folder(tmp_path / "photos", per_class=6)
    bad_images(tmp_path / "photos" / "flower")
    data = DataConfig(name="imagefolder", root=str(tmp_path / "photos"), image_size=16)
    cfg = TrainConfig(
        arch="digits_cnn_small",
        data=data,
        epochs=1,
        batch_size=8,
        device="cpu",
        align=AlignConfig(steps=5, batch_size=8),
    )
    run = train_run(cfg, name="left-out", home=tmp_path)
    assert run.meta.dataset["skip"] == ["flower/bomb.jpg", "flower/huge.png", "flower/notes.png"]
    warnings = run.metrics()["warnings"]
    assert warnings == [
        "3 files of the image folder left out, not usable as images: "
        "flower/bomb.jpg, flower/huge.png, flower/notes.png"
    ]
    assert Path(run.folder).is_dir()
