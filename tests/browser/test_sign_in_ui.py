"""Signing in on the page of a server with SEMVEC_TOKEN: signed out the page only reads (its
writes say how to sign in, and start nothing); signed in it starts and cancels. This is the
end-to-end proof that the browser's cookie reaches the API client inside Dash's async
callbacks: no other path gives the page a token."""

import time

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import Server, wait_for_job
from tests.browser.pages import MapPage

TOKEN = "browser-token-5c0e93"
SIGN_IN_HINT = "needs the server's token: Sign in (top right)"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def token_server(quickstart_copy):
    home = quickstart_copy("ui-token")
    server = Server(home, SEMVEC_TOKEN=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def page(driver, token_server):
    driver.set_window_size(1280, 800)
    yield MapPage(driver, token_server.url)
    driver.delete_all_cookies()  # the driver is shared: later tests start signed out
    driver.set_window_size(1280, 900)


@pytest.fixture
def api(token_server):
    with token_server.client() as client:
        yield client


def _click(page, xpath: str) -> None:
    """Click, again if the 1 s table refresh replaced the element meanwhile."""
    for _ in range(5):
        try:
            page.wait(lambda d: d.find_elements(By.XPATH, xpath), message=xpath)
            page.driver.find_element(By.XPATH, xpath).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"could not click {xpath}")


def _start_training(page, name: str) -> None:
    page.choose("runs-train-arch", "digits_cnn_small")
    page.type("runs-train-epochs", "1")
    page.type("runs-train-name", name)
    page.driver.find_element(By.ID, "runs-train-go").click()


def test_signed_out_the_page_reads_and_signed_in_it_writes(page, api):
    long_job = {"kind": "train", "config": {"epochs": 2000, "device": "cpu", "analyze": False}}
    running = api.post("/api/jobs", json=long_job, headers=HEADERS).json()["id"]
    cancel = f"//tr[@id='runs-job-{running}']//button[text()='Cancel']"

    page.open("/runs")
    page.wait_text("runs-table", "digits-default")  # reads need no token
    assert page.wait_text("shell-access", "read-only").startswith("read-only · Sign in")

    _click(page, cancel)
    assert "Cancelling jobs " + SIGN_IN_HINT in page.wait_text("runs-message", SIGN_IN_HINT)
    _start_training(page, "signed-out")
    text = page.wait_text("runs-message", "Starting jobs")
    assert text == "Not started: Starting jobs " + SIGN_IN_HINT + "."
    jobs = api.get("/api/jobs").json()["data"]
    assert [j["id"] for j in jobs] == [running] and not jobs[0]["cancel_requested"]

    # The badge's link leads to the form; a wrong token is refused there.
    page.driver.find_element(By.ID, "shell-sign-in").click()
    page.wait(lambda d: d.find_elements(By.NAME, "token"), message="the sign-in form")
    page.driver.find_element(By.NAME, "token").send_keys("not-the-token\n")
    page.wait(lambda d: "Wrong token" in page.body_text(), message="the wrong-token message")
    # The link the Docker entrypoint prints signs in and comes back.
    page.open(f"/auth?token={TOKEN}&next=/runs")
    page.wait(lambda d: d.execute_script("return location.pathname") == "/runs")
    page.wait_text("runs-table", "digits-default")
    assert page.wait_text("shell-access", "signed in") == "signed in · Sign out"
    cookie = page.driver.get_cookie("semvec-token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.driver.execute_script("return document.cookie") == ""  # hidden from scripts

    _start_training(page, "signed-in")
    started = page.wait_text("runs-message", "Training job")
    job_id = int(started.split("Training job ")[1].split()[0])
    assert api.get(f"/api/jobs/{job_id}").json()["config"]["name"] == "signed-in"
    _click(page, cancel)
    page.wait_text("runs-message", f"Cancelling job {running}")
    assert wait_for_job(api, running, ("cancelled",), 60)["state"] == "cancelled"
    api.delete(f"/api/jobs/{job_id}", headers=HEADERS)  # the 1-epoch job: no need to wait
    wait_for_job(api, job_id, ("cancelled", "succeeded"), 60)

    page.driver.find_element(By.ID, "shell-sign-out").click()
    page.wait(lambda d: d.get_cookie("semvec-token") is None, message="the cookie to go")
    assert page.wait_text("shell-access", "read-only").startswith("read-only")


def test_a_map_not_made_yet_is_started_only_for_a_signed_in_page(page, api):
    """The page reads a map with a GET (which never starts a job) and starts it with a
    POST, a write: signed out it says to sign in and no job appears; signed in the map is
    computed and drawn."""
    view = "/?run=digits-default&method=tsne&perplexity=11"
    newest = api.get("/api/jobs", params={"limit": 1}).json()["data"]
    page.open(view)
    text = page.wait_text("explorer-status", SIGN_IN_HINT)
    assert text == "Computing a new map " + SIGN_IN_HINT + "."
    page.settle(2)
    assert api.get("/api/jobs", params={"limit": 1}).json()["data"] == newest
    page.open(f"/auth?token={TOKEN}&next=" + view.replace("&", "%26"))
    page.wait_for_map(234, timeout=240)
    made = api.get("/api/jobs", params={"kind": "project", "limit": 1}).json()["data"][0]
    assert made["config"]["params"] == {"perplexity": 11.0} and made["state"] == "succeeded"


def test_without_a_token_there_is_no_badge_and_writes_work(driver, ui_server):
    page = MapPage(driver, ui_server.url).open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.settle(1.0)  # the badge's callback has answered by now
    assert page.text_of("shell-access") == ""
    assert httpx.get(ui_server.url + "/api/access").json()["can_write"] is True
