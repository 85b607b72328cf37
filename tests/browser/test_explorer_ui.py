"""The map tab in headless Chromium, on the real digits-default run (234 neurons)."""

import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

NEURONS = 234


def test_map_shows_every_neuron_and_a_click_opens_the_panel(page):
    page.open("/")
    assert len(page.wait_for_map(NEURONS)) == NEURONS
    assert "digits_cnn" in page.text_of("shell-run-info")
    neuron, x, y = page.isolated_neuron()
    page.click_at(x, y)
    name = page.panel_name()
    assert page.query().endswith(f"neuron={name}")  # the name, as people paste it
    assert page.highlighted() == [neuron]
    page.wait(lambda _: page.images_loaded("neuron-top-images") == 9, message="9 top images")
    neighbours = page.driver.find_elements(By.CSS_SELECTOR, "#neuron-neighbors .neighbor")
    assert len(neighbours) == 10
    assert name not in [n.text.split("\n")[0] for n in neighbours]
    assert page.driver.find_elements(By.ID, "neuron-class-chart")


def test_clicking_a_neighbour_moves_the_selection(page):
    page.open("/?run=digits-default&neuron=fc:3")
    page.wait_for_map(NEURONS)
    page.panel_name("fc:3")
    first = page.driver.find_elements(By.CSS_SELECTOR, "#neuron-neighbors .neighbor")[0]
    target = first.find_element(By.CLASS_NAME, "nb-name").text
    first.click()
    page.panel_name(target)
    assert page.query().endswith(f"neuron={target}")
    target_id = int(page.driver.find_element(By.ID, "neuron-id").get_attribute("data-id"))
    page.wait(lambda _: page.highlighted() == [target_id], message="the star moved")


def test_deep_link_restores_run_map_and_neuron(page):
    page.open("/?run=digits-default&method=pca&neuron=conv3:5")
    page.wait_for_map(NEURONS)
    assert page.panel_name("conv3:5") == "conv3:5"
    assert "PCA" in page.text_of("explorer-map-title")
    page.wait(lambda _: page.highlighted() == [101], 5, "the star on conv3:5")


def test_bad_neuron_in_the_url_shows_a_message_not_a_traceback(page):
    page.open("/?run=digits-default&neuron=conv9:99")
    page.wait_for_map(NEURONS)
    text = page.wait_text("explorer-panel", "no neuron")
    assert "conv9:99" in text and "conv3" in text  # names what exists
    assert text.count("conv9:99") == 1 and text.count("conv9") == 2  # the reason, once
    body = page.body_text()
    assert "Traceback" not in body and "Error" not in body.replace("error", "")


def test_unknown_run_falls_back_with_a_note(page):
    """The address then names the run shown, and the neuron opens when that run has it."""
    page.open("/?run=../../etc&method=nope&neuron=conv3:5")
    page.wait_for_map(NEURONS)
    note = page.wait_text("explorer-note", "no run named")
    assert "'../../etc'" in note and "method=nope" in note
    assert "showing 'digits-default' instead, with its neuron conv3:5" in note
    assert page.panel_name("conv3:5") == "conv3:5"
    page.wait(lambda _: "run=digits-default" in page.query(), 5, "the address names the run")
    assert "neuron=conv3:5" in page.query() and "etc" not in page.query()


def test_search_by_name_then_pick_a_hit(page):
    page.open("/")
    page.wait_for_map(NEURONS)
    box = page.driver.find_element(By.ID, "explorer-search")
    box.send_keys("fc:7", Keys.ENTER)
    hit = page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#explorer-search-results .hit"))
    assert [h.text.split(" ")[0] for h in hit] == ["fc:7"]
    hit[0].click()
    page.panel_name("fc:7")


def test_layer_filter_greys_the_others_in_place_and_colour_by_quality(page):
    page.open("/?run=digits-default&method=pca")
    before = {nid: (x, y) for nid, x, y in page.wait_for_map(NEURONS)}
    page.choose("explorer-layer", "fc")
    page.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    shown = page.wait_for_map(10)
    # The other 224 stay where they were, grey and not clickable; the map does not re-zoom.
    page.wait(lambda _: len(page.overlay("filtered")) == NEURONS - 10, message="greyed")
    assert all(abs(before[nid][0] - x) < 1 and abs(before[nid][1] - y) < 1 for nid, x, y in shown)
    assert "10 of 234 neurons shown" in page.text_of("explorer-map-title")
    # Each legend entry fits beside the map (a long one was cut off at the figure's edge).
    legend_right, figure_right = page.driver.execute_script(_LEGEND_AND_FIGURE_RIGHT)
    assert 0 < legend_right <= figure_right
    quality = "#explorer-color input[value='quality_r']"
    page.driver.find_element(By.CSS_SELECTOR, quality).find_element(By.XPATH, "../..").click()
    page.wait(
        lambda d: d.execute_script(
            "const gd = document.querySelector('#explorer-map .js-plotly-plot');"
            "const t = gd.data.find(t => !t.meta);"
            "return t && t.marker && t.marker.colorscale !== undefined;"
        ),
        message="a colour scale",
    )
    assert len(page.points()) == 10


_LEGEND_AND_FIGURE_RIGHT = """
const gd = document.querySelector('#explorer-map .js-plotly-plot');
const texts = Array.from(gd.querySelectorAll('.legend .legendtext, .legend .legendtitletext'));
return [Math.max(...texts.map(t => t.getBoundingClientRect().right)),
        gd.getBoundingClientRect().right];
"""


def test_lasso_lists_the_selection_for_download(page):
    page.open("/?run=digits-default&method=pca")
    pts = page.wait_for_map(NEURONS)
    xs, ys = [p[1] for p in pts], [p[2] for p in pts]
    left, right, top, bottom = min(xs) - 8, max(xs) + 8, min(ys) - 8, max(ys) + 8
    page.lasso([(left, top), (right, top), (right, bottom), (left, bottom)])
    count = page.wait_text("lasso-count", "neurons selected")
    assert count.startswith(f"{NEURONS} neurons selected")
    assert page.driver.find_element(By.ID, "explorer-lasso-csv").is_enabled()


_TITLE_AND_TOOLBAR = """
const title = document.getElementById('explorer-map-title').getBoundingClientRect();
const bar = document.querySelector('#explorer-map .modebar').getBoundingClientRect();
return [title.bottom, bar.top, title.right, document.querySelector('.map-area')
        .getBoundingClientRect().right];
"""


def test_a_run_with_a_long_name_and_no_umap_map(page, ui_server):
    """A run opens on the map it has computed, and says that UMAP (the default) is not made
    yet and how to make it; its long name wraps above the map's tool bar, not under it."""
    name = "resnet32-cifar10-" + "a-long-experiment-name-" * 2 + "2024"
    folder = ui_server.home / "runs" / name
    shutil.copytree(ui_server.home / "runs" / "digits-default", folder)
    meta = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps(meta | {"id": name}))
    for umap in (folder / "projections").glob("umap-*"):
        umap.unlink()
    page.open(f"/?run={name}")
    page.wait_for_map(NEURONS)
    note = page.wait_text("explorer-note", "UMAP map (the default) is not computed yet")
    assert "PCA map" in note and "press Apply" in note
    title = page.wait_text("explorer-map-title", name)
    assert "PCA" in title
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-map .js-plotly-plot").click()
    title_bottom, bar_top, title_right, area_right = page.driver.execute_script(_TITLE_AND_TOOLBAR)
    assert title_bottom <= bar_top + 1 and title_right <= area_right


PICTURES_JS = """
return [...document.querySelectorAll('#explorer-pictures-layer .map-picture')].map(
    e => [e.title, e.getAttribute('role'), Number(e.dataset.count)]);
"""


def _pictures(page) -> list:
    return page.driver.execute_script(PICTURES_JS) or []


def test_pictures_view_from_a_link_zooms_into_cells_and_opens_a_clicked_neuron(page, ui_server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin

    from backend.runs.store import RunStore
    from backend.services.pictures import make_sheet

    # The sheet made here, as its job would (tests/backend/api/test_views_api.py runs it).
    make_sheet(RunStore(ui_server.home).open("digits-default"))
    page.open("/?run=digits-default&view=pictures")
    page.wait_for_map(NEURONS)
    shown = page.wait(lambda _: _pictures(page), 60, "no pictures were drawn")
    names = set(
        json.loads(
            page.driver.execute_script(
                "return JSON.stringify(document.querySelector('#explorer-map .js-plotly-plot')"
                ".data.flatMap(t => t.meta ? [] : t.text.map(s => s.split(' · ')[0])))"
            )
        )
    )
    assert all(title in names and role == "img" for title, role, _n in shown)
    # Overlapping neurons share a cell: every neuron is counted once, in one cell.
    assert sum(n for *_, n in shown) == NEURONS and len(shown) < NEURONS
    # Zooming in (the wheel over a picture zooms the map) splits cells: more neurons shown.
    crowded = page.driver.execute_script(
        "return [...document.querySelectorAll('.map-picture')]"
        ".sort((a, b) => b.dataset.count - a.dataset.count)[0]"
    )
    for _ in range(3):
        ActionChains(page.driver).scroll_from_origin(
            ScrollOrigin.from_element(crowded), 0, -400
        ).perform()
        page.settle(0.3)
    page.wait(
        lambda _: len({t for t, *_ in _pictures(page)}) > len(shown),
        message=f"zooming in showed no more than {len(shown)} neurons",
    )
    # A click on a picture opens its neuron, and the link keeps the Pictures view.
    title = page.driver.execute_script(
        "const e = document.querySelector('.map-picture'); e.dataset.clicked = 1; return e.title"
    )
    page.driver.find_element(By.CSS_SELECTOR, ".map-picture[data-clicked]").click()
    assert page.panel_name(title) == title
    assert f"neuron={title}" in page.query() and "view=pictures" in page.query()
    # Dots again: no picture is left over the map, and the link says dots (the default).
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-look input[value='dots']").click()
    page.wait(lambda _: not _pictures(page), message="pictures stayed on in Dots")
    page.wait(lambda _: "view=" not in page.query(), message="the link kept view=pictures")
    assert not page.console_errors()


# Download figure: the map as PNG (twice the screen's resolution) and SVG, in Dots and in
# Pictures, and the neuron panel as one PNG; each file opens.
SVG = "{http://www.w3.org/2000/svg}"


def _downloads_to(driver, folder: Path) -> None:
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )


def _saved(page, folder: Path, button, name: str) -> Path:
    """Press `button`; the file `name` once Chromium has written it (the note says so)."""
    button.click()
    page.wait_text("explorer-figure-note", f"Saved {name}")
    path = folder / name
    deadline = time.monotonic() + 10
    while not (path.exists() and path.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), sorted(p.name for p in folder.iterdir())
    return path


def _graph_size(page) -> tuple[int, int]:
    return tuple(
        page.driver.execute_script(
            "const gd = document.querySelector('#explorer-map .js-plotly-plot');"
            "return [gd.offsetWidth, gd.offsetHeight];"
        )
    )


def test_map_and_panel_figures_are_files_that_open(page, ui_server, tmp_path):
    from backend.runs.store import RunStore
    from backend.services.pictures import make_sheet

    _downloads_to(page.driver, tmp_path)
    started = time.perf_counter()
    page.open("/?run=digits-default&method=pca&neuron=conv3:5")
    page.wait_for_map(NEURONS)
    page.panel_name("conv3:5")
    page.wait(lambda _: page.images_loaded("neuron-top-images") == 9, message="9 top images")
    find = page.driver.find_element
    png = _saved(
        page, tmp_path, find(By.ID, "explorer-figure-png"), "semvec_digits-default_pca.png"
    )
    width, height = _graph_size(page)
    with Image.open(png) as image:
        assert image.size == (2 * width, 2 * height)  # twice the screen's resolution
        image.load()
    svg = _saved(
        page, tmp_path, find(By.ID, "explorer-figure-svg"), "semvec_digits-default_pca.svg"
    )
    root = ET.parse(svg).getroot()
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "conv3" in texts  # the legend's layer names
    panel = find(By.CSS_SELECTOR, "#explorer-panel .panel-figure")
    shot = _saved(page, tmp_path, panel, "semvec_digits-default_pca_conv3-5.png")
    with Image.open(shot) as image:
        image.load()
        assert image.width >= 1400 and image.height > image.width  # 3 columns of tiles, bars
        # The top images are drawn: far from the blank page the canvas starts as.
        assert len(np.unique(np.asarray(image.convert("L").resize((64, 64))))) > 50

    # Pictures: the crops over the map go into both files (the sheet made here, as its
    # job would: tests/backend/api/test_views_api.py runs the job).
    make_sheet(RunStore(ui_server.home).open("digits-default"))
    page.open("/?run=digits-default&method=pca&view=pictures")
    page.wait_for_map(NEURONS)
    page.wait(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#explorer-pictures-layer .map-picture"),
        message="pictures drawn",
    )
    shown = len(page.driver.find_elements(By.CSS_SELECTOR, ".map-picture"))
    name = "semvec_digits-default_pca_pictures"
    pictures_png = _saved(page, tmp_path, find(By.ID, "explorer-figure-png"), f"{name}.png")
    with Image.open(pictures_png) as with_pictures, Image.open(png) as dots:
        assert with_pictures.size == dots.size
        changed = np.asarray(with_pictures.convert("L")) != np.asarray(dots.convert("L"))
        assert changed.mean() > 0.05  # the pictures cover part of the map
    root = ET.parse(_saved(page, tmp_path, find(By.ID, "explorer-figure-svg"), f"{name}.svg"))
    group = [g for g in root.iter(f"{SVG}g") if g.get("class") == "semvec-pictures"]
    assert len(group) == 1 and len(group[0].findall(f"{SVG}svg")) == shown
    assert not page.console_errors()
    print(f"figure downloads: {time.perf_counter() - started:.1f} s in the browser")
