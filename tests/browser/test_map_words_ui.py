"""The map tab as a researcher expects it (issue 13): bad parameters fall back with a note,
typed values are kept and refused in words, search by name or class is marked on the map,
every number says what it is, the panel closes and walks its neighbours by keyboard."""

import httpx
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

NEURONS = 234


def _title(page) -> str:
    return page.text_of("explorer-map-title")


def _class_of(ui_server, label: str) -> list[str]:
    found = httpx.get(
        f"{ui_server.url}/api/runs/digits-default/neurons", params={"label": label, "limit": 1000}
    ).json()
    return [n["name"] for n in found["data"]]


def test_bad_map_parameters_in_the_url_fall_back_with_a_note(page):
    page.open("/?run=digits-default&method=umap&n_neighbors=100000&min_dist=5")
    assert len(page.wait_for_map(NEURONS)) == NEURONS  # not "No map"
    note = page.wait_text("explorer-note", "n_neighbors=100000")
    assert "from 2 to 500" in note and "min_dist=5" in note and "default" in note
    assert "query." not in page.body_text()
    # In the page's range but not this run's: the API refuses, the page falls back.
    page.open("/?run=digits-default&method=umap&n_neighbors=300")
    assert len(page.wait_for_map(NEURONS)) == NEURONS
    status = page.wait_text("explorer-status", "cannot be used")
    assert "2..233" in status and "query." not in status


def test_a_value_typed_out_of_range_is_kept_and_refused_in_words(page):
    page.open("/?run=digits-default&method=umap")
    page.wait_for_map(NEURONS)
    label = page.driver.find_element(By.XPATH, "//label[.//input[@id='explorer-n-neighbors']]")
    assert "2 … 500" in label.text  # the range is next to the field
    page.type("explorer-n-neighbors", "-5")
    page.driver.find_element(By.ID, "explorer-apply").click()
    note = page.wait_text("explorer-note", "number of neighbours")
    assert "from 2 to 500" in note and "-5 is too small" in note
    assert page.driver.find_element(By.ID, "explorer-n-neighbors").get_attribute("value") == "-5"
    assert "n_neighbors" not in page.query()


def test_class_search_marks_every_hit_and_pages_through_them(page, ui_server):
    page.open("/?run=digits-default&method=pca")
    page.wait_for_map(NEURONS)
    sevens = _class_of(ui_server, "7")
    assert len(sevens) > 20  # enough for two pages
    box = page.driver.find_element(By.ID, "explorer-search")
    box.send_keys("class:7", Keys.ENTER)
    count = page.wait_text("explorer-search-count", "found by class")
    assert count.startswith(f"{len(sevens)} found") and f"all {len(sevens)} marked" in count
    page.wait(lambda _: len(page.overlay("found")) == len(sevens), message="hits marked")
    first = [h.text for h in page.driver.find_elements(By.CSS_SELECTOR, ".search-results .hit")]
    assert len(first) == 20 and all(t.endswith("· class 7") for t in first)
    page.driver.find_element(By.ID, "explorer-search-next").click()
    page.wait_text("explorer-search-count", "21–")
    second = [h.text for h in page.driver.find_elements(By.CSS_SELECTOR, ".search-results .hit")]
    assert second and not set(second) & set(first)
    assert {t.split(" · ")[0] for t in first + second} <= set(sevens)
    # A bare number searches names only: no neuron comes in because of its class.
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("27", Keys.ENTER)
    page.wait_text("explorer-search-count", "found by name")
    names = [h.text for h in page.driver.find_elements(By.CSS_SELECTOR, ".search-results .hit")]
    assert names and all("27" in n.split(" · ")[0] for n in names)
    # A class no neuron has: the answer names the classes there are.
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("class:42", Keys.ENTER)
    said = page.wait_text("explorer-search-results", "No neuron")
    assert said == "No neuron has dominant class '42'; the classes are 0–9."


def test_every_number_says_what_it_is(page):
    page.open("/?run=digits-default&method=pca&neuron=conv3:5")
    page.wait_for_map(NEURONS)
    page.panel_name("conv3:5")
    hints = {
        th.text: th.get_attribute("title")
        for th in page.driver.find_elements(By.CSS_SELECTOR, "#neuron-facts abbr")
    }
    for term in ("dominant class", "selectivity", "quality r", "precision@10"):
        assert len(hints[term] or "") > 30, term
    assert page.text_of("neuron-facts").count("class ") >= 1  # `class 1`, not a bare 1
    assert "heatmap" in page.text_of("neuron-heat-legend")
    facts = page.driver.find_elements(By.CSS_SELECTOR, "#shell-run-info .fact")
    titled = {f.text.split(" ")[0]: f.get_attribute("title") for f in facts}
    assert "correlation" in titled["held-out"] and "neighbours" in titled["P@10"]
    # Hover text says `class 7`, and dead / alive always has a legend (even with no dead).
    texts = page.driver.execute_script(
        "const gd = document.querySelector('#explorer-map .js-plotly-plot');"
        "return gd.data.filter(t => !t.meta).flatMap(t => t.text);"
    )
    assert any(t.endswith(" · class 7") for t in texts)
    dead = "#explorer-color input[value='dead']"
    page.driver.find_element(By.CSS_SELECTOR, dead).find_element(By.XPATH, "../..").click()
    legend = page.wait(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#explorer-map .legend")
            and "alive" in d.find_element(By.CSS_SELECTOR, "#explorer-map .legend").text
            and d.find_element(By.CSS_SELECTOR, "#explorer-map .legend").text
        ),
        message="a dead / alive legend",
    )
    assert "dead / alive" in legend and "none dead" in legend


_HISTOGRAM_RANGE = """
const gd = document.querySelector('#neuron-histogram .js-plotly-plot');
const bars = gd.data[0], range = gd._fullLayout.xaxis.range;
const full = bars.y.map((n, k) => k).filter(k => bars.y[k] > 0);
const edge = (k, side) => bars.x[k] + side * bars.width[k] / 2;
return [range[0], range[1], edge(full[0], -1), edge(full[full.length - 1], 1)];
"""


def test_panel_closes_walks_neighbours_by_key_and_shows_both_lists(page):
    page.open("/?run=digits-default&method=pca")
    page.wait_for_map(NEURONS)
    graph = page.driver.find_element(By.CSS_SELECTOR, "#explorer-map .js-plotly-plot")
    box_before = graph.rect
    page.open("/?run=digits-default&method=pca&neuron=fc:3")
    page.wait_for_map(NEURONS)
    page.panel_name("fc:3")
    graph = page.driver.find_element(By.CSS_SELECTOR, "#explorer-map .js-plotly-plot")
    assert graph.rect == box_before  # the panel does not shift the map
    semantic = page.driver.find_elements(By.CSS_SELECTOR, "#neuron-neighbors .neighbor")
    on_map = page.driver.find_elements(By.CSS_SELECTOR, "#neuron-map-neighbors .neighbor")
    assert len(semantic) == 10 and len(on_map) == 10
    assert len({round(b.rect["width"]) for b in semantic + on_map}) == 1  # one width for all
    # The histogram's x-range is that of the bins that hold images (fc:3's bins span
    # -38 … 28, its images -7 … 14).
    low, high, first, last = page.driver.execute_script(_HISTOGRAM_RANGE)
    pad = (last - first) * 0.05
    assert first - pad < low <= first and last <= high < last + pad
    assert "also semantic neighbours" in page.text_of("neuron-map-overlap")
    keys = ActionChains(page.driver)  # to whatever has the focus, as a person types
    keys.send_keys("n").send_keys("n").perform()
    focused = page.driver.switch_to.active_element
    second = focused.find_element(By.CLASS_NAME, "nb-name").text
    assert second == semantic[1].find_element(By.CLASS_NAME, "nb-name").text
    ActionChains(page.driver).send_keys("p").perform()
    assert page.driver.switch_to.active_element == semantic[0]
    target = semantic[0].find_element(By.CLASS_NAME, "nb-name").text
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    page.panel_name(target)
    assert page.query().endswith(f"neuron={target}")
    # Esc on an enlarged image closes the image alone; a second Esc closes the panel.
    page.driver.find_elements(By.CSS_SELECTOR, "#neuron-top-images .tile")[0].click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".zoom"), message="the enlarged image")
    ActionChains(page.driver).send_keys(Keys.ESCAPE).perform()
    page.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".zoom"), message="image closed")
    assert page.panel_name(target) and page.query().endswith(f"neuron={target}")
    ActionChains(page.driver).send_keys(Keys.ESCAPE).perform()
    page.wait_text("explorer-panel", "Click a neuron")
    assert "neuron=" not in page.query() and page.highlighted() == []
    page.open("/?run=digits-default&method=pca&neuron=fc:4")
    page.panel_name("fc:4")
    page.driver.find_element(By.CSS_SELECTOR, ".panel-close").click()
    page.wait_text("explorer-panel", "Click a neuron")


def test_tsne_is_named_t_sne_and_computed_with_one_bar(page):
    page.open("/?run=digits-default&method=tsne&perplexity=12")
    page.wait_for_map(NEURONS, timeout=240)
    assert "t-SNE" in _title(page) and "TSNE" not in _title(page)


_PLOT_AND_LEGEND = """
const gd = document.querySelector('#explorer-map .js-plotly-plot');
const s = gd._fullLayout._size, box = gd.getBoundingClientRect();
const legend = gd.querySelector('.legend').getBoundingClientRect();
return [[box.left + s.l, box.top + s.t, s.w, s.h], legend.left,
        gd._fullLayout.legend.title.text];
"""


def test_the_legend_sits_beside_the_map_and_never_moves_it(page):
    """Over the plot the legend hid points and took their clicks (a click there toggled a
    layer off instead of opening a neuron)."""
    page.open("/?run=digits-default&method=pca")
    page.wait_for_map(NEURONS)
    plot, legend_left, _ = page.driver.execute_script(_PLOT_AND_LEGEND)
    assert legend_left >= plot[0] + plot[2]  # right of the plot area, not over it
    nid, x, y = max(page.points(), key=lambda p: p[1])  # the point nearest the legend
    page.click_at(x, y)
    assert page.panel_name() == page.driver.execute_script(_NAME_OF, nid)
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-color input[value='label']").click()
    page.wait(
        lambda d: d.execute_script(_PLOT_AND_LEGEND)[2] == "dominant class", message="recoloured"
    )
    after, legend_left, _ = page.driver.execute_script(_PLOT_AND_LEGEND)
    assert after == plot and legend_left >= plot[0] + plot[2]  # the same plot, not resized


_NAME_OF = """
const gd = document.querySelector('#explorer-map .js-plotly-plot');
for (const tr of gd.data) {
  const k = (tr.customdata || []).indexOf(arguments[0]);
  if (k >= 0 && !tr.meta) { return tr.text[k].split(' · ')[0]; }
}
"""
