"""/docs in headless Chromium renders every API operation from files this server serves
(no CDN: it works on a machine with no network)."""

from selenium.webdriver.common.by import By

from tests.browser.pages import MapPage


def test_docs_render_the_operations_from_local_files(driver, ui_server):
    page = MapPage(driver, ui_server.url).open("/docs")
    page.wait(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 24,
        message="Swagger UI never drew the operations",
    )
    assert "/api/jobs" in page.body_text()
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert fetched and all(url.startswith(ui_server.url) for url in fetched), fetched


def test_help_opens_the_manual_page_of_each_tab_offline(driver, ui_server):
    """Help in the header opens, in a new browser tab, the manual's page for the tab the
    user is on; the page is drawn from this server alone, with its pictures and links."""
    page = MapPage(driver, ui_server.url)
    for path, manual_page, heading in (
        ("/", "map", "The map and the neuron panel"),
        ("/runs", "runs", "Runs and jobs"),
        ("/distill", "distillation", "Distillation"),
    ):
        page.open(path)
        _open_help(page, ui_server.url, manual_page, heading)
    # The manual's own links move between its pages; the CLI page is the parser's.
    page.open("/manual/cli")
    page.wait_text("manual-body", "semvec distill")
    assert "--beta BETA" in page.text_of("manual-body")
    driver.find_element(By.LINK_TEXT, "Troubleshooting").click()
    page.wait(lambda d: d.current_url.endswith("/manual/troubleshooting"))
    page.wait(
        lambda d: d.find_element(By.CSS_SELECTOR, "#manual-body h1").text.startswith("Troubl")
    )


def _open_help(page: MapPage, url: str, manual_page: str, heading: str) -> None:
    driver = page.driver
    first = driver.current_window_handle
    link = page.wait(lambda d: d.find_element(By.ID, "shell-help"))
    page.wait(lambda d: link.get_attribute("href").endswith(f"/manual/{manual_page}"))
    link.click()
    page.wait(lambda d: len(d.window_handles) == 2, message="Help opened no new tab")
    driver.switch_to.window(next(h for h in driver.window_handles if h != first))
    page.wait(
        lambda d: (
            [h.text for h in d.find_elements(By.CSS_SELECTOR, "#manual-body h1")] == [heading]
        ),
        message=f"the manual never showed '{heading}'",
    )
    page.wait(lambda d: page.images_loaded("manual-body") >= 1, message="its picture never showed")
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(u.startswith(url) for u in fetched), fetched
    driver.close()
    driver.switch_to.window(first)
