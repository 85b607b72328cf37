"""Ablate on the Map tab, in headless Chromium: lasso a group, knock it out, see the
per-class bars beside the random control; the link in the address restores them."""

import json

from selenium.webdriver.common.by import By

from app.components.ablation import delta_chart

NEURONS = 234


def _bars(page) -> list[dict]:
    """The ablation chart's traces: name, x, y and whether it has whiskers."""
    return page.driver.execute_script(
        "const gd = document.querySelector('#ablation-chart .js-plotly-plot');"
        "return gd && gd.data ? gd.data.map(t => ({name: t.name, x: t.x, y: t.y,"
        " whiskers: !!(t.error_y && t.error_y.array)})) : [];"
    )


_IN_VIEW = """
const column = document.querySelector('.panel-area').getBoundingClientRect();
const result = document.getElementById('explorer-ablation').getBoundingClientRect();
return result.height > 0 && result.top >= column.top - 1 && result.top < column.top + 40;
"""
_OVERLAP = """
const div = document.createElement('div');
div.style.width = '343px';  // the panel's width
document.querySelector('.panel-area').prepend(div);
return Plotly.newPlot(div, arguments[0].data, arguments[0].layout).then(() => {
  const a = div.querySelector('.xtitle').getBoundingClientRect();
  const b = div.querySelector('.legend').getBoundingClientRect();
  div.remove();
  return !(a.bottom <= b.top || b.bottom <= a.top || a.right <= b.left || b.right <= a.left);
});
"""
CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _chart_with_long_class_names() -> dict:
    """The page's chart for a result whose class names are words (their ticks slant and
    take more height than digits): what a CIFAR-10 model shows."""
    draw = {"accuracy": 0.9, "delta_accuracy": [-1.0] * 10, "top_image_loss": 0.1}
    result = {
        "classes": CIFAR,
        "neurons": [1, 2],
        "selection": {"delta_accuracy": [-3.0] * 10},
        "control": {"draws": [draw] * 5},
    }
    return json.loads(delta_chart(result).to_json())


def test_lasso_a_group_ablate_it_and_see_the_bars_and_the_control(page, tmp_path):
    page.open("/?run=digits-default&method=pca&neuron=conv3:5")
    pts = page.wait_for_map(NEURONS)
    page.panel_name("conv3:5")
    xs, ys = sorted(p[1] for p in pts), [p[2] for p in pts]
    cut = xs[len(xs) // 8]  # the left eighth of the map
    top, bottom = min(ys) - 8, max(ys) + 8
    page.lasso([(xs[0] - 8, top), (cut, top), (cut, bottom), (xs[0] - 8, bottom)])
    count = page.wait_text("lasso-count", "neurons selected")
    selected = int(count.split()[0])
    assert 5 < selected < NEURONS
    # With the panel scrolled down to the neighbours, the result (added at the top of the
    # panel's column) is brought into view when it arrives.
    page.driver.execute_script("document.querySelector('.panel-area').scrollTop = 1e6")
    page.driver.find_element(By.ID, "explorer-ablate-go").click()
    page.wait(lambda _d: len(_bars(page)) == 2, 180, "the ablation bars never appeared")
    page.wait(lambda d: d.execute_script(_IN_VIEW), 5, "the result stayed out of view")
    assert "Done" in page.text_of("explorer-ablate-status")
    # The axis title clear of the legend, with class names that slant.
    assert not page.driver.execute_script(_OVERLAP, _chart_with_long_class_names())
    selection, control = _bars(page)
    assert selection["name"] == f"selection ({selected} neurons)"
    assert control["name"].startswith("control (mean of 5 random draws)") and control["whiskers"]
    assert selection["x"] == [str(d) for d in range(10)] and len(control["y"]) == 10
    sentence = page.text_of("ablation-sentence")
    assert f"when the {selected} selected neurons are replaced by zeros" in sentence
    assert "random neurons of the same layers" in sentence
    assert "Accuracy" in page.text_of("ablation-accuracy")
    link = page.driver.execute_script("return window.location.hash")
    assert link.startswith("#ablation=")
    page.driver.set_window_size(1280, 800)
    page.settle(1)
    page.driver.save_screenshot(str(tmp_path / "ablation.png"))
    page.driver.set_window_size(1280, 900)
    # The link restores the result in a fresh page, without a new job.
    page.open(f"/?run=digits-default&method=pca{link}")
    page.wait(lambda _d: len(_bars(page)) == 2, 60, "the link did not restore the bars")
    assert _bars(page)[0]["y"] == selection["y"]
    assert "Ablating (job" not in page.body_text()


def test_colour_by_own_ablation_effect_before_any_sweep_says_how_to_make_one(page):
    """Before, every point was near-black under a colour bar, with nothing said."""
    page.open("/?run=digits-default&method=pca")
    page.wait_for_map(NEURONS)
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-color input[value='ablation']").click()
    hint = page.wait_text("explorer-status", "No layer has been swept")
    assert "Sweep layer" in hint
    # Both jobs state their cost before their buttons are pressed.
    assert "5 random draws" in page.wait_text("explorer-ablate-cost", "Estimated time: about")
    assert page.text_of("explorer-sweep-cost") == ""
    page.choose("explorer-sweep-layer", "conv2")
    assert "64 neurons one at a time" in page.wait_text("explorer-sweep-cost", "Estimated time")
    legend = page.driver.find_element(By.CSS_SELECTOR, "#explorer-map .legend").text
    assert f"not swept ({NEURONS})" in legend
    colours = page.driver.execute_script(
        "const gd = document.querySelector('#explorer-map .js-plotly-plot');"
        "return gd.data.filter(t => !t.meta).map(t => [t.marker.color, !!t.marker.colorbar]);"
    )
    assert len(colours) == 1 and isinstance(colours[0][0], str)  # one grey for all
    assert not colours[0][1]  # and no colour bar
