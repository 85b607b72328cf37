"""Headless Chromium (Debian's chromium + chromium-driver) driving the real page served by
a real `semvec serve` on a copy of the quickstart data home."""

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.backend.api.conftest import Server
from tests.browser.pages import MapPage

CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def make_driver(chromium: str = "/usr/bin/chromium", chromedriver: str = "/usr/bin/chromedriver"):
    if not (Path(chromium).exists() and Path(chromedriver).exists()):
        pytest.fail(
            "browser tests need Debian's chromium and chromium-driver: "
            "apt-get install chromium chromium-driver (.ci/run does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture(scope="session")
def driver():
    chrome = make_driver()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def ui_server(quickstart_copy):
    home = quickstart_copy("ui")
    server = Server(home).start()
    yield server
    server.stop()


@pytest.fixture
def page(driver, ui_server) -> MapPage:
    return MapPage(driver, ui_server.url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, keep a screenshot and the console log to look at."""
    report = yield
    chrome = item.funcargs.get("driver") or getattr(item.funcargs.get("page"), "driver", None)
    if report.when == "call" and report.failed and chrome is not None:
        folder = Path(item.config.rootpath) / "tests" / "browser" / "failures"
        folder.mkdir(exist_ok=True)
        chrome.save_screenshot(str(folder / f"{item.name}.png"))
        logs = "\n".join(str(e) for e in chrome.get_log("browser"))
        (folder / f"{item.name}.log").write_text(logs)
    return report
