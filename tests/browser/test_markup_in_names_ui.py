"""Class names are shown as text: a folder named `<a href=...>` draws no link and a
`<span style=...>` no 60-px text, in the map's legend and hovers or the class chart."""

import json

import pytest
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import Server
from tests.browser.pages import MapPage

LINK = '<a href="http://evil.example/x">zero</a>'
BIG = '<span style="font-size:60px">one</span>'


@pytest.fixture(scope="module")
def markup_server(quickstart_copy):
    home = quickstart_copy("markup")
    path = home / "runs" / "digits-default" / "analysis.json"
    analysis = json.loads(path.read_text())
    analysis["class_names"][:2] = [LINK, BIG]
    path.write_text(json.dumps(analysis))
    srv = Server(home).start()
    yield srv
    srv.stop()


def _no_markup_drawn(page: MapPage, graph_id: str) -> str:
    graph = page.driver.find_element(By.ID, graph_id)
    links = graph.find_elements(By.CSS_SELECTOR, "a")
    assert not [a for a in links if "evil.example" in (a.get_attribute("href") or "")]
    styled = graph.find_elements(By.XPATH, ".//*[contains(@style, '60px')]")
    assert not styled, [s.get_attribute("outerHTML")[:200] for s in styled]
    return graph.text


def _joined(text: str) -> str:
    return "".join(text.split())


def test_class_names_with_markup_are_shown_as_text(driver, markup_server):
    page = MapPage(driver, markup_server.url).open("/?run=digits-default&neuron=fc:0")
    page.wait_for_map()
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-color input[value='label']").click()
    page.wait(lambda _: "evil.example" in page.text_of("explorer-map"), message="legend")
    legend = _no_markup_drawn(page, "explorer-map")
    # Long legend entries wrap at spaces: compare the names with the line breaks left out.
    assert _joined(LINK) in _joined(legend) and _joined(BIG) in _joined(legend)
    page.wait(lambda d: d.find_elements(By.ID, "neuron-class-chart"), message="class chart")
    ticks = _no_markup_drawn(page, "neuron-class-chart")
    assert LINK in ticks
