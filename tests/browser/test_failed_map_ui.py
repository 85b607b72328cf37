"""A map whose job fails: the page says why where the map would be and stops there (no
job started again by its polling) until the user presses Try again. The job really fails
in its worker (a folder lies where its cache entry goes)."""

import time

import httpx
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import block_map

FAILED_MAP = "/?run=digits-default&method=tsne&perplexity=7"


def _project_jobs(ui_server) -> list[dict]:
    found = httpx.get(f"{ui_server.url}/api/jobs", params={"kind": "project"}).json()
    return found["data"]


def _jobs_after(ui_server, count: int, timeout: float = 120) -> list[dict]:
    """The project jobs once at least `count` exist and all of them ended."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = _project_jobs(ui_server)
        if len(jobs) >= count and all(j["state"] not in ("queued", "running") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, f"jobs did not end: {jobs}"
        time.sleep(0.3)


def _stays(ui_server, count: int, seconds: float = 10) -> None:
    """No project job starts for `seconds` (the page keeps polling meanwhile if it would)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobs = _project_jobs(ui_server)
        assert len(jobs) == count, f"the page started jobs by itself: {jobs}"
        time.sleep(1)


def test_a_failing_map_says_why_and_is_not_started_again(page, ui_server):
    block_map(ui_server.home, "tsne", {"perplexity": 7})
    page.open(FAILED_MAP)
    jobs = _jobs_after(ui_server, 1)
    assert [j["state"] for j in jobs] == ["failed"], jobs
    _stays(ui_server, len(jobs))
    status = page.wait_text("explorer-status", "could not be made")
    assert status.startswith("The t-SNE map could not be made: IsADirectoryError")
    assert "Try other parameters" in status and "Traceback" not in page.body_text()
    clusters = page.wait_text("explorer-clusters-info", "could not be found")
    assert "IsADirectoryError" in clusters
    retry = page.driver.find_element(By.ID, "explorer-map-retry")
    assert retry.is_displayed()

    retry.click()  # the user's retry: exactly one new job, which fails the same way
    jobs = _jobs_after(ui_server, 2)
    assert [j["state"] for j in jobs] == ["failed", "failed"], jobs
    page.wait_text("explorer-status", "could not be made")
    _stays(ui_server, 2, seconds=5)
    assert page.console_errors() == []
