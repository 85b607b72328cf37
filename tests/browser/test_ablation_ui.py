"""Ablate on the Map tab, in headless Chromium: lasso a group, knock it out, see the
per-class bars beside the random control; the link in the address restores them."""

from selenium.webdriver.common.by import By

NEURONS = 234


def _bars(page) -> list[dict]:
    """The ablation chart's traces: name, x, y and whether it has whiskers."""
    return page.driver.execute_script(
        "const gd = document.querySelector('#ablation-chart .js-plotly-plot');"
        "return gd && gd.data ? gd.data.map(t => ({name: t.name, x: t.x, y: t.y,"
        " whiskers: !!(t.error_y && t.error_y.array)})) : [];"
    )


def test_lasso_a_group_ablate_it_and_see_the_bars_and_the_control(page, tmp_path):
    page.open("/?run=digits-default&method=pca")
    pts = page.wait_for_map(NEURONS)
    xs, ys = sorted(p[1] for p in pts), [p[2] for p in pts]
    cut = xs[len(xs) // 8]  # the left eighth of the map
    top, bottom = min(ys) - 8, max(ys) + 8
    page.lasso([(xs[0] - 8, top), (cut, top), (cut, bottom), (xs[0] - 8, bottom)])
    count = page.wait_text("lasso-count", "neurons selected")
    selected = int(count.split()[0])
    assert 5 < selected < NEURONS
    page.driver.find_element(By.ID, "explorer-ablate-go").click()
    page.wait(lambda _d: len(_bars(page)) == 2, 180, "the ablation bars never appeared")
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
