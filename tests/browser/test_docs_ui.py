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
