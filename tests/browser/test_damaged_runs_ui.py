"""The Runs tab lists a damaged run as damaged, with the reason, beside the healthy ones."""

import pytest

from tests.backend.api.conftest import Server
from tests.backend.api.test_damaged_runs_api import damaged_home
from tests.browser.pages import MapPage


@pytest.fixture(scope="module")
def damaged_ui(quickstart_copy):
    srv = Server(damaged_home(quickstart_copy, "damaged-ui")).start()
    yield srv
    srv.stop()


def test_runs_tab_shows_the_damaged_run_with_its_reason(driver, damaged_ui):
    page = MapPage(driver, damaged_ui.url).open("/runs")
    text = page.wait_text("runs-table", "damaged")
    assert "digits-default" in text
    assert "empty-vectors" in text and "bad-json" in text
    row = page.text_of("runs-table").split("empty-vectors", 1)[1].splitlines()[0]
    assert "damaged:" in row and len(row) > len("damaged: ")
