"""Clusters on the map and a neuron's optimised images, in headless Chromium on the real
digits-default run."""

from selenium.webdriver.common.by import By

NEURONS = 234


_LABELS = """
return Array.from(document.querySelectorAll('#explorer-map .annotation')).map(a => {
  const r = a.getBoundingClientRect();
  return [a.textContent, r.left, r.top, r.right, r.bottom];
});
"""
_NAME_OF = """
const gd = document.querySelector('#explorer-map .js-plotly-plot');
for (const tr of gd.data) {
  const k = (tr.customdata || []).indexOf(arguments[0]);
  if (k >= 0 && !tr.meta) { return tr.text[k].split(' · ')[0]; }
}
"""


def _labels(page) -> list:
    return page.driver.execute_script(_LABELS)


def test_pick_a_cluster_and_click_a_point_under_its_label(page):
    """Labels take no clicks: a 570-neuron map's first click on a point opened nothing, as
    a label lay over the point and took it. The map tags clusters by number; the picked
    one's tag shows its whole label."""
    page.open("/?run=digits-default&method=pca")
    pts = page.wait_for_map(NEURONS)
    page.wait(lambda _: _labels(page), message="cluster tags on the map")
    assert all(text == f"#{text[1:]}" and text[1:].isdigit() for text, *_ in _labels(page))
    listed = page.driver.find_elements(By.CSS_SELECTOR, "#explorer-clusters-list .cluster-hit")
    row = next(r for r in listed if r.text.startswith("#3 "))
    label, size = row.text.rsplit(" ", 1)
    row.click()
    count = page.wait_text("lasso-count", "neurons selected")
    assert (
        count.startswith(f"{size} neurons") and page.text_of("lasso-cluster") == f"cluster {label}"
    )
    assert len(page.text_of("lasso-list").split(", ")) == int(size)
    assert page.driver.find_element(By.ID, "explorer-lasso-csv").is_enabled()
    picked = page.driver.execute_script(
        "const gd = document.querySelector('#explorer-map .js-plotly-plot');"
        "return gd.data.filter(t => t.meta === 'cluster' && t.line.width === 3).length;"
    )
    assert picked == 1  # its outline stands out
    box = page.wait(
        lambda _: next((b for b in _labels(page) if b[0] == label), None), message="full label"
    )
    _text, left, top, right, bottom = box
    under = [p for p in pts if left + 3 < p[1] < right - 3 and top + 3 < p[2] < bottom - 3]
    assert under, "no point lies under the label: pick another cluster"
    nid, x, y = max(
        under, key=lambda p: min((p[1] - q[1]) ** 2 + (p[2] - q[2]) ** 2 for q in pts if q is not p)
    )  # the one farthest from any other, so that the click names it alone
    page.click_at(x, y)
    assert page.panel_name() == page.driver.execute_script(_NAME_OF, nid)
    # The toggle hides outlines and labels; the map's points stay.
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-clusters-show input").click()
    page.wait(lambda _: not _labels(page), message="labels hidden")
    assert len(page.points()) == NEURONS


def test_a_neuron_shows_its_optimised_images_after_a_visualize_job(page):
    page.open("/?run=digits-default&neuron=conv3:7")
    page.wait_for_map(NEURONS)
    page.panel_name("conv3:7")
    cost = page.wait_text("neuron-feature-cost", "Estimated time: this neuron about ")
    assert "every neuron of conv3 about " in cost, cost
    assert "of 64 images at 8 px, 128 neurons not yet made)." in cost, cost
    line = page.driver.find_element(By.ID, "neuron-feature-cost")
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", line)
    page.driver.save_screenshot("/tmp/feature-cost.png")
    start = page.wait(
        lambda d: d.find_elements(By.XPATH, "//button[text()='Optimise images for this neuron']"),
        message="the button that starts a visualize job",
    )
    start[0].click()
    page.wait_text("explorer-panel", "Optimising images (visualize job")
    page.wait(
        lambda _: page.images_loaded("neuron-feature-images") == 2, 600, "two optimised images"
    )
    assert "activation" in page.text_of("neuron-feature-max")
    assert "coarse: 8×8 pixels" in page.text_of("neuron-feature-coarse")
    page.driver.save_screenshot("/tmp/feature-ui.png")
    # Open it again: the images come from the run, with no job.
    page.open("/?run=digits-default&neuron=conv3:7")
    page.wait(lambda _: page.images_loaded("neuron-feature-images") == 2, 30, "served again")
    assert "Optimising" not in page.text_of("explorer-panel")
