"""Which datasets a folder holds, as the page's folder picker and job checks see it."""

from backend.services.datasets import check_present, present_in


def test_a_lone_split_folder_holds_an_image_folder(tmp_path):
    from tests.photos import photo_folder

    root = tmp_path / "photos"
    photo_folder(root / "test", per_class=2)  # photos/test/<china|flower>/...
    assert present_in(root) == ["imagefolder"]
    check_present("imagefolder", str(root), tmp_path)  # no error
