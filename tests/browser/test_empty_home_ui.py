"""A fresh data home (as after `pip install`): the page offers the digits demo run and
opens its map; an unknown path says it is not found."""

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import Server
from tests.browser.pages import MapPage


@pytest.fixture
def empty_server(tmp_path):
    server = Server(tmp_path).start()
    yield server
    server.stop()


def test_an_empty_home_offers_the_demo_run_and_opens_its_map(driver, empty_server):
    page = MapPage(driver, empty_server.url).open("/")
    offer = page.wait_text("explorer-demo", "No runs yet")
    assert "Make the digits demo run" in offer
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-demo button").click()
    page.wait_text("explorer-status", "Making the digits demo run")
    assert len(page.wait_for_map(234, timeout=240)) == 234
    assert page.query().startswith("?run=digits-default")
    assert not page.driver.find_elements(By.ID, "explorer-demo")


def test_an_unknown_path_says_not_found(page, ui_server):
    # Answered as not found, with the page itself.
    for path in ("/no/such/page", "/redoc", "/manual/no-such-page"):
        answer = httpx.get(ui_server.url + path)
        assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
    for path in ("/runs/", "/manual", "/manual/map", "/manual/research/static-distillation"):
        assert httpx.get(ui_server.url + path).status_code == 200, path
    page.open("/redoc")
    assert "/redoc" in page.wait_text("shell-not-found", "Page not found")
    page.open("/no/such/page")
    text = page.wait_text("shell-not-found", "Page not found")
    assert "/no/such/page" in text and "Distillation (/distill)" in text
    assert not page.driver.find_element(By.ID, "shell-page-map").is_displayed()
    page.driver.find_element(By.LINK_TEXT, "Runs (/runs)").click()
    page.wait_text("runs-table", "digits-default")
