"""The panel on runs of real photos (tests/photos.py), in Chromium at 1280 x 800: an
unlabelled folder says it has no classes; top images are big, captioned, enlargeable,
with bottom and random samples beside them; neighbour thumbnails are readable."""

import shutil

import pytest
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import Server
from tests.browser.pages import MapPage


@pytest.fixture(scope="module")
def photo_ui(photo_runs, tmp_path_factory):
    home = tmp_path_factory.mktemp("photo-ui")
    shutil.copytree(photo_runs["home"], home, dirs_exist_ok=True)
    with Server(home) as server:
        yield server


@pytest.fixture
def photo_page(driver, photo_ui) -> MapPage:
    driver.set_window_size(1280, 800)
    return MapPage(driver, photo_ui.url)


def _widths(page: MapPage, selector: str) -> list[float]:
    return page.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => e.getBoundingClientRect().width);",
        selector,
    )


def _all_loaded(page: MapPage, container: str, count: int) -> None:
    page.wait(lambda _: page.images_loaded(container) == count, message=f"{container} images")


def _open(page: MapPage, run: str, neuron: str, images: str, count: int) -> None:
    """The run's PCA map with `neuron`'s panel, once `count` images of `images` show."""
    page.open(f"/?run={run}&method=pca&neuron={neuron}")
    page.wait_for_map(226)
    assert page.panel_name(neuron) == neuron
    _all_loaded(page, images, count)


def test_an_unlabelled_run_says_it_has_no_classes(photo_page, tmp_path):
    _open(photo_page, "photos-flat", "conv3:4", "neuron-top-images", 9)
    text = photo_page.wait_text("explorer-panel", "no labels")
    assert "No class selectivity" in text and "class None" not in text
    facts = photo_page.text_of("neuron-facts")
    assert "images have no labels" in facts and "0.000" not in facts
    assert "The model calls these top images" in photo_page.text_of("neuron-model-classes")
    for container, count in (
        ("neuron-bottom-images", 4),
        ("neuron-random-images", 4),
    ):
        _all_loaded(photo_page, container, count)
    photo_page.driver.save_screenshot(str(tmp_path / "flat-panel.png"))
    body = photo_page.body_text()
    assert "Traceback" not in body and "Error" not in body.replace("error", "")


def test_top_images_are_big_captioned_and_open_larger(photo_page):
    _open(photo_page, "photos-labelled", "fc:1", "neuron-top-images", 9)
    assert min(_widths(photo_page, "#neuron-top-images img")) >= 100
    captions = photo_page.text_of("neuron-top-images")
    assert captions.count("true ") == 9 and captions.count("model: ") == 9
    assert captions.count("#") == 9  # each image's dataset index
    assert "selectivity: point-biserial" in photo_page.text_of("neuron-selectivity-measure")
    first = photo_page.driver.find_element(By.CSS_SELECTOR, "#neuron-top-images button")
    first.click()
    zoom = photo_page.wait(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".zoom img"), message="the enlarged image"
    )[0]
    photo_page.wait(
        lambda d: d.execute_script("return arguments[0].naturalWidth", zoom) >= 256,
        message="the enlarged image's pixels",
    )
    assert zoom.size["width"] >= 400 and "top image 1" in photo_page.body_text()
    photo_page.driver.find_element(By.CSS_SELECTOR, ".zoom").click()
    photo_page.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".zoom"), message="closed")


def test_neighbour_thumbnails_are_readable_and_copies_can_be_hidden(photo_page):
    _open(photo_page, "photos-labelled", "conv2:3", "neuron-neighbors", 10)
    assert min(_widths(photo_page, "#neuron-neighbors img")) >= 40
    toggle = photo_page.driver.find_element(By.CSS_SELECTOR, ".copies-toggle input")
    toggle.click()
    photo_page.settle(1.0)
    _all_loaded(photo_page, "neuron-neighbors", 10)  # the list again, without copies
    assert photo_page.panel_name() == "conv2:3"
