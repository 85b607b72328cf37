"""The Distillation tab before and after starting: the steps the settings give (with no
claim that few steps do not train: 128 steps reached 93 % on digits), a time estimate and a
second click before many long jobs, the form and filter kept in the URL, finished students
linked, no job nobody asked for."""

import httpx
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import wait_for_job


def _jobs(ui_server, kind: str | None = None) -> list[dict]:
    params = {"kind": kind} if kind else {}
    return httpx.get(f"{ui_server.url}/api/jobs", params=params).json()["data"]


def _open(page) -> None:
    page.open("/distill")
    page.wait(lambda d: "digits-default" in page.text_of("distill-teacher"), message="teacher")
    page.wait_text("distill-student-note", "Proposed for this teacher's greyscale 8-px images")


def _tick(page, method: str, on: bool) -> None:
    box = page.driver.find_element(By.CSS_SELECTOR, f"#distill-methods input[value='{method}']")
    if box.is_selected() != on:
        box.click()


def test_the_plan_counts_steps_and_asks_before_many_long_jobs(page, ui_server):
    _open(page)
    plan = page.wait_text("distill-plan", "6 jobs")
    assert "480 training steps each (16 per epoch of 1,079 images × 30 epochs)" in plan
    assert "about" in plan and "in all" in plan
    assert not page.driver.find_elements(By.ID, "distill-plan-warning")
    page.choose("distill-train-size", "200")
    page.type("distill-epochs", "5")
    few = page.wait_text("distill-plan", "15 training steps each")
    assert "(3 per epoch of 200 images × 5 epochs)" in few and "about" in few
    assert "learn" not in few and "chance" not in few
    assert not page.driver.find_elements(By.ID, "distill-plan-warning")
    page.type("distill-epochs", "0")
    page.driver.find_element(By.ID, "distill-go").click()
    refused = page.wait_text("distill-message", "0 is too small")
    assert "Not started" in refused and "epochs" in refused
    assert page.driver.find_element(By.ID, "distill-epochs").get_attribute("value") == "0"
    page.type("distill-epochs", "300")
    page.choose("distill-train-size", "0")
    for method in ("ls", "tfkd", "kd"):
        _tick(page, method, True)
    before = len(_jobs(ui_server))
    page.driver.find_element(By.ID, "distill-go").click()
    ask = page.wait_text("distill-message", "Press Start jobs again")
    assert "This starts 15 jobs" in ask and "min in all" in ask
    assert len(_jobs(ui_server)) == before  # nothing started on the first click
    # Above an hour in all, in the server's estimate of each job.
    page.type("distill-seeds", "10")
    page.type("distill-epochs", "1000")
    plan = page.wait_text("distill-plan", "1,000 epochs")
    assert "50 jobs" in plan and " h in all" in plan, plan
    page.driver.find_element(By.ID, "distill-go").click()
    ask = page.wait_text("distill-message", "This starts 50 jobs")
    assert " h in all; the longest is estimated at about " in ask, ask
    assert "(1,000 epochs × 1,079 images at 8 px). Press Start jobs again" in ask
    message = page.driver.find_element(By.ID, "distill-message")
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", message)
    page.driver.save_screenshot("/tmp/distill-ask.png")
    assert len(_jobs(ui_server)) == before


def test_reload_keeps_the_form_and_the_filter_and_students_are_linked(page, ui_server):
    _open(page)
    _tick(page, "static", False)
    page.type("distill-seeds", "1")
    page.type("distill-epochs", "3")
    page.choose("distill-train-size", "200")
    page.wait(lambda d: "train_size=200" in d.current_url, message="the form in the URL")
    page.wait_text("distill-plan", "1 job · 9 training steps each (3 per epoch of 200 images")
    page.driver.find_element(By.ID, "distill-go").click()
    job_id = int(page.wait_text("distill-message", "Started 1 job:").split(": ")[1].rstrip("."))
    page.driver.refresh()
    page.wait(lambda d: "digits-default" in page.text_of("distill-teacher"), message="teacher")
    assert page.driver.find_element(By.ID, "distill-seeds").get_attribute("value") == "1"
    assert page.driver.find_element(By.ID, "distill-epochs").get_attribute("value") == "3"
    assert "200" in page.text_of("distill-train-size")
    assert not page.driver.find_element(
        By.CSS_SELECTOR, "#distill-methods input[value='static']"
    ).is_selected()
    note = page.wait_text("distill-filter", "on 200 training images")
    assert "Showing the 1 job of teacher digits-default → student digits_cnn_small" in note
    page.wait_text(f"distill-job-{job_id}", "CE")
    with httpx.Client(base_url=ui_server.url) as client:
        wait_for_job(client, job_id, {"succeeded"})
    link = page.wait(
        lambda d: d.find_elements(By.XPATH, f"//tr[@id='distill-job-{job_id}']//a"),
        120,
        "a link to the student",
    )[0]
    assert link.text == "open the student on the map"
    student = link.get_attribute("title")
    # Teacher vs student shows it, but starts no job until asked.
    page.wait(
        lambda d: student in page.text_of("distill-pair-student"), message="the student chosen"
    )
    page.wait_text("distill-pair-status", "Not matched yet")
    page.settle(3)
    assert not _jobs(ui_server, "place")
    page.driver.find_element(By.ID, "distill-pair-go").click()
    page.wait(lambda _: _jobs(ui_server, "place"), message="a place job on the click")
    page.wait(
        lambda d: d.execute_script(
            "const gd = document.querySelector('#distill-pair-map .js-plotly-plot');"
            "return gd && gd.data && gd.data.length > 1;"
        ),
        180,
        "the student on the teacher's map",
    )
    link = page.driver.find_element(By.XPATH, f"//tr[@id='distill-job-{job_id}']//a")
    link.click()
    page.wait_for_map()
    assert page.query().startswith(f"?run={student}")


def test_beta_and_rho_go_to_the_methods_that_take_them_and_name_their_series(page, ui_server):
    methods = {m["name"]: m for m in httpx.get(f"{ui_server.url}/api/distill/methods").json()}
    _open(page)
    for field, key in (("distill-rho", "default_rho"), ("distill-beta", "default_beta")):
        placeholder = page.driver.find_element(By.ID, field).get_attribute("placeholder")
        assert placeholder == f"empty: {methods['static'][key]:g}"
    assert methods["static"]["default_beta"] == 4.0  # what the page says is the default
    _tick(page, "static_free", True)
    page.type("distill-seeds", "1")
    page.type("distill-epochs", "2")
    page.choose("distill-train-size", "200")
    page.type("distill-rho", "200")
    page.driver.find_element(By.ID, "distill-go").click()
    refused = page.wait_text("distill-message", "200 is too large")
    assert "ρ of the relation term must be from 0 to 100" in refused
    before = {j["id"] for j in _jobs(ui_server, "distill")}
    page.type("distill-rho", "0.5")
    page.type("distill-beta", "2")
    page.type("distill-lam", "3")
    page.wait(lambda d: "rho=0.5" in d.current_url, message="ρ in the URL")
    page.driver.find_element(By.ID, "distill-go").click()
    page.wait_text("distill-message", "Started 3 jobs")
    started = {
        j["config"]["method"]: j for j in _jobs(ui_server, "distill") if j["id"] not in before
    }
    assert set(started) == {"ce", "static", "static_free"}
    assert (
        started["static"]["config"] | {"lam": 3.0, "beta": 2.0, "rho": 0.5}
        == started["static"]["config"]
    )
    assert {"beta": 2.0, "rho": 0.5}.items() <= started["static_free"]["config"].items()
    assert [started["ce"]["config"][k] for k in ("lam", "beta", "rho")] == [None] * 3
    # A job's settings name its series in the table and the charts.
    page.wait_text(f"distill-job-{started['static']['id']}", "static (ours) λ=3 β=2 ρ=0.5")
    page.driver.refresh()
    page.wait(lambda d: "digits-default" in page.text_of("distill-teacher"), message="teacher")
    assert page.driver.find_element(By.ID, "distill-rho").get_attribute("value") == "0.5"
    assert page.driver.find_element(By.ID, "distill-beta").get_attribute("value") == "2"
