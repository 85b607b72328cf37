"""The Runs tab's forms say what they accept and refuse at submit what cannot run (issue
13): ranges beside the fields, typed values kept, a dataset folder picked inside the data
home, and one progress bar per job over all its phases."""

import time

import httpx
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.backend.api.test_half_made_runs_api import _image_folder


def _jobs(ui_server) -> int:
    return httpx.get(f"{ui_server.url}/api/jobs").json()["count"]


def _start(page) -> str:
    page.driver.find_element(By.ID, "runs-train-go").click()
    return page.wait(
        lambda _: (t := page.text_of("runs-message")) and ("Not started" in t or "job" in t) and t,
        message="a message",
    )


def _words_only(text: str) -> None:
    assert "--" not in text and "data." not in text and "Input should" not in text, text
    assert "Value error" not in text and "CLI" not in text, text


def test_epochs_out_of_range_are_kept_and_refused_in_words(page, ui_server):
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    label = page.driver.find_element(By.XPATH, "//label[.//input[@id='runs-train-epochs']]")
    assert "1 … 1000" in label.text
    # The job's cost is stated before it is started, and follows the epochs asked for.
    cost = page.wait_text("runs-train-cost", "Estimated time: about")
    assert "10 epochs" in cost, cost
    page.type("runs-train-epochs", "1000")
    assert "1,000 epochs" in page.wait_text("runs-train-cost", "1,000 epochs")
    jobs = _jobs(ui_server)
    for typed, why in (("100000", "too large"), ("0", "too small")):
        page.type("runs-train-epochs", typed)
        page.driver.find_element(By.ID, "runs-train-go").click()
        text = page.wait_text("runs-message", f"{typed} is {why}")
        assert "epochs" in text, text
        _words_only(text)
        value = page.driver.find_element(By.ID, "runs-train-epochs").get_attribute("value")
        assert value == typed
    assert _jobs(ui_server) == jobs


def test_a_dataset_without_files_is_refused_at_submit_and_a_folder_is_offered(page, ui_server):
    _image_folder(ui_server.home / "datasets" / "three-digits")
    (ui_server.home / "datasets" / "empty").mkdir()
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    jobs = _jobs(ui_server)
    page.choose("runs-train-dataset", "cifar10")
    note = page.wait_text("runs-train-root-note", "No folder here holds cifar10")
    assert "inside the data home's datasets/" in note and str(ui_server.home) not in note
    assert "no files here" in page.text_of("runs-train-dataset")
    text = _start(page)
    assert "cifar10 is not built in: choose the folder" in text, text
    _words_only(text)
    page.choose("runs-train-root", "datasets/empty")  # paths relative to the data home
    page.driver.find_element(By.ID, "runs-train-go").click()
    text = page.wait_text("runs-message", "does not hold cifar10")
    assert "cifar-10-batches-py/data_batch_1" in text, text
    _words_only(text)
    assert _jobs(ui_server) == jobs  # refused at submit, nothing queued
    page.choose("runs-train-dataset", "imagefolder")
    page.wait_text("runs-train-root-note", "hold imagefolder come first")
    assert "three-digits/ — imagefolder" in page.text_of("runs-train-root")
    page.type("runs-train-epochs", "1")
    page.type("runs-train-name", "from-a-folder")
    page.driver.find_element(By.ID, "runs-train-go").click()
    page.wait_text("runs-message", "Training job")
    job = httpx.get(f"{ui_server.url}/api/jobs").json()["data"][0]
    assert job["config"]["data"]["root"] == "datasets/three-digits"
    httpx.delete(f"{ui_server.url}/api/jobs/{job['id']}")


def test_one_bar_per_job_over_all_phases_with_the_phase_and_the_time_left(page, ui_server):
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.choose("runs-train-arch", "digits_cnn_small")
    page.type("runs-train-epochs", "30")  # long enough to watch the training phase
    job_id = _start(page).split("Training job ")[1].split()[0]
    row = f"runs-job-{job_id}"
    seen, phases, estimates = [], set(), set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:  # the table is redrawn every second: read one cell in one go
            bar, phase, text = page.driver.execute_script(
                "const r = document.getElementById(arguments[0]);"
                "const c = r && r.querySelector('.job-progress');"
                "return c ? [c.querySelector('progress').value,"
                " c.querySelector('.job-phase').textContent, r.textContent] : [null, '', ''];",
                row,
            )
            done = "succeeded" in text
        except StaleElementReferenceException:
            continue
        if bar is not None:
            seen.append(float(bar))
            phases |= {p for p in ("training", "fitting vectors", "analysis") if p in phase}
            estimates |= {"left"} if "left" in phase else set()
        if done:
            break
        time.sleep(0.25)
    assert "succeeded" in page.text_of(row)
    assert seen == sorted(seen), seen  # never backwards
    # The later phases of a digits job last well under the table's 1 s refresh (the
    # vectors fit from cached activations); tests/backend/jobs/test_phases.py names them.
    assert "training" in phases, phases
    assert "left" in estimates
