"""The Runs tab in headless Chromium: jobs started from the page, followed live, opened."""

from selenium.webdriver.common.by import By

import model_zoo
from backend.runs.checkpoint import save_state_dict


def _wait_for_run_link(page, job_id: str, timeout: float = 240):
    link = f"//tr[@id='runs-job-{job_id}']//a[contains(., 'on the map')]"
    return page.wait(
        lambda d: d.find_elements(By.XPATH, link), timeout, f"job {job_id} never succeeded"
    )[0]


def test_train_job_from_the_runs_tab_finishes_and_opens_on_the_map(page):
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.choose("runs-train-arch", "digits_cnn_small")
    page.type("runs-train-epochs", "2")
    page.type("runs-train-name", "from-the-tab")
    page.driver.find_element(By.ID, "runs-train-go").click()
    message = page.wait_text("runs-message", "Training job")
    job_id = message.split("Training job ")[1].split()[0]
    page.wait_text(f"runs-job-{job_id}", "train")  # the live table shows it
    link = _wait_for_run_link(page, job_id)
    assert link.text == "open from-the-tab on the map"
    link.click()
    page.wait_for_map(8 + 16 + 32 + 10)
    assert page.query().startswith("?run=from-the-tab")
    assert "digits_cnn_small" in page.text_of("shell-run-info")
    assert page.driver.find_element(By.ID, "shell-page-map").is_displayed()


def test_upload_and_align_from_the_runs_tab(page, tmp_path):
    path = tmp_path / "my-teacher.safetensors"
    save_state_dict(model_zoo.get_model("digits_cnn_small").state_dict(), path)
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.driver.find_element(By.CSS_SELECTOR, "#runs-upload input[type=file]").send_keys(str(path))
    page.wait_text("runs-upload-name", "my-teacher.safetensors")
    page.choose("runs-align-arch", "digits_cnn_small")
    page.driver.find_element(By.ID, "runs-align-go").click()
    message = page.wait_text("runs-message", "alignment job")
    job_id = message.split("alignment job ")[1].split()[0]
    link = _wait_for_run_link(page, job_id)
    run = link.text.removeprefix("open ").removesuffix(" on the map")
    link.click()
    page.wait_for_map(8 + 16 + 32 + 10)
    assert page.query().startswith(f"?run={run}")


def test_bad_form_input_says_what_to_fix(page):
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.type("runs-train-name", "../escape")
    page.driver.find_element(By.ID, "runs-train-go").click()
    text = page.wait_text("runs-message", "Not started")
    assert "name" in text
    page.driver.find_element(By.ID, "runs-align-go").click()
    assert "Choose a checkpoint file first" in page.wait_text("runs-message", "Choose")


def test_tabs_keep_the_map_state_and_the_path(page):
    page.open("/?run=digits-default&neuron=fc:2")
    page.wait_for_map(234)
    page.panel_name("fc:2")
    page.driver.find_element(By.XPATH, "//*[@id='shell-tabs']//*[text()='Runs']").click()
    page.wait(lambda d: d.execute_script("return location.pathname") == "/runs")
    assert page.driver.find_element(By.ID, "shell-page-runs").is_displayed()
    assert "digits_cnn" in page.text_of("shell-run-info")  # the header keeps the run
    page.driver.find_element(By.XPATH, "//*[@id='shell-tabs']//*[text()='Map']").click()
    page.wait(lambda d: d.execute_script("return location.pathname") == "/")
    assert page.panel_name("fc:2") == "fc:2" and page.query().endswith("neuron=fc:2")
