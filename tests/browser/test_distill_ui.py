"""The Distillation tab in headless Chromium: jobs started from the form, live curves,
a cancel that shows."""

import pytest
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import Server
from tests.browser.pages import MapPage

CURVES = "#distill-curves .js-plotly-plot"


@pytest.fixture(scope="module")
def two_slot_server(quickstart_copy):
    home = quickstart_copy("distill-ui")
    server = Server(home, SEMVEC_JOB_SLOTS="2").start()
    yield server
    server.stop()


def _curve_lengths(page) -> list[int]:
    return page.driver.execute_script(
        "const gd = document.querySelector(arguments[0]);"
        "return gd && gd.data ? gd.data.map(t => (t.x || []).length) : [];",
        CURVES,
    )


def test_static_and_ce_jobs_grow_live_and_one_is_cancelled(driver, two_slot_server):
    page = MapPage(driver, two_slot_server.url).open("/distill")
    page.wait(lambda d: "digits-default" in page.text_of("distill-teacher"), message="teacher")
    page.wait_text("distill-student", "digits_cnn_small")  # proposed once the teacher is read
    page.type("distill-seeds", "1")
    page.type("distill-epochs", "60")
    page.driver.find_element(By.ID, "distill-go").click()
    started = page.wait_text("distill-message", "Started 2 jobs")
    ce_job, static_job = started.rstrip(".").split(": ")[1].split(", ")
    # Two curves with a point each (a list compare would pass on one longer curve: [5] > [1, 1]).
    page.wait(lambda _: len(c := _curve_lengths(page)) == 2 and min(c) >= 1, 120, "two curves")
    first = _curve_lengths(page)
    page.wait(
        lambda _: all(n > m for n, m in zip(_curve_lengths(page), first, strict=True)),
        120,
        "both curves grew",
    )
    legend = page.driver.find_element(By.CSS_SELECTOR, f"{CURVES} .legend").text
    assert "CE" in legend and "static (ours)" in legend
    row = f"distill-job-{static_job}"
    page.driver.find_element(By.XPATH, f"//tr[@id='{row}']//button[text()='Cancel']").click()
    page.wait_text(row, "cancelled", 60)
    assert "running" in page.text_of(f"distill-job-{ce_job}") or "succeeded" in page.text_of(
        f"distill-job-{ce_job}"
    )
