"""The Distillation tab with a loaded model as the teacher, in headless Chromium: the test's
own model file uploaded and aligned on real photos; beside the teacher, what it is and its
knowledge file; a student proposed for its colour 32-px photos; the methods from the
registry; students trained on the photo folder; the summary chart of each method against CE,
marked by what it took of the teacher."""

import pytest
from selenium.webdriver.common.by import By

from backend.distill.registry import list_methods
from tests.backend.api.conftest import wait_for_job
from tests.backend.distill.test_loaded_teacher import STUDENT, petal_server

SUMMARY = "#distill-summary .js-plotly-plot"


@pytest.fixture(scope="module")
def petal(tmp_path_factory):
    with petal_server(tmp_path_factory.mktemp("distill-loaded-ui")) as server:
        yield server


def _finished(server, methods: tuple[str, ...], seeds: int) -> None:
    """Students of each method and seed (API-submitted: the form would give them 600
    alignment steps each, minutes on this machine; test_distill_ui starts jobs from it)."""
    with server.client() as client:
        ids = [
            client.post(
                "/api/jobs",
                json={
                    "kind": "distill",
                    "config": {"teacher": "petal", "method": m, "seed": s, **STUDENT},
                },
            ).json()["id"]
            for m in methods
            for s in range(seeds)
        ]
        for job_id in ids:
            assert wait_for_job(client, job_id, {"succeeded"}, timeout=600)


def _legend(page) -> list[str]:
    return page.driver.execute_script(
        "const gd = document.querySelector(arguments[0]);"
        "return gd && gd.data ? gd.data.filter(t => t.showlegend !== false).map(t => t.name) : [];",
        SUMMARY,
    )


def test_a_loaded_teacher_its_knowledge_file_and_the_summary_against_ce(driver, petal):
    from tests.browser.pages import MapPage

    page = MapPage(driver, petal.url).open("/distill#teacher=petal")
    what = page.wait_text("distill-teacher-what", "Loaded model", 60)
    note = "proposed for this teacher's colour 32-px images"
    assert "resnet8" in page.wait_text("distill-student", "resnet8")
    assert page.wait_text("distill-student-note", note.capitalize()) == note.capitalize()
    # the students trained below (searched for: the list opens scrolled to resnet8)
    driver.find_element(By.ID, "distill-student").click()
    search = page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-search"))
    search[0].send_keys("digits_cnn_small")
    option = (
        "//label[contains(@class, 'dash-dropdown-option')][.//input[@value='digits_cnn_small']]"
    )
    page.wait(lambda d: d.find_elements(By.XPATH, option), message="the option").pop().click()
    page.wait_text("distill-student-note", f"resnet8 is {note}")
    page.wait(lambda d: "student=digits_cnn_small" in d.current_url, message="the student kept")
    assert "petal_net.py:make_petalnet, weights from petal-" in what
    assert "imagefolder" in what and "training images" in what
    knowledge = page.text_of("distill-knowledge")
    with petal.client() as client:
        size = client.get("/api/distill/teachers/petal").json()["knowledge"]["bytes"]
    assert 1000 < size < 2000  # 2 vectors of 64 float32 and the file's description
    assert f"Knowledge file: {size / 1000:.1f} kB — logit layer decide (2 × 64-d)" in knowledge
    assert (
        "2 classes: china, flower" in knowledge and "made from the teacher's vectors" in knowledge
    )
    offered = [
        box.get_attribute("value")
        for box in driver.find_elements(By.CSS_SELECTOR, "#distill-methods input")
    ]
    assert sorted(offered) == sorted(list_methods())  # new methods appear by themselves
    assert "KD · runs the teacher" in page.text_of("distill-methods")
    assert "static (ours) · reads the knowledge file only" in page.text_of("distill-methods")
    _finished(petal, ("ce", "static", "kd"), seeds=2)
    # The chart refreshes on a poll: wait for both finished methods, not for any 2 entries
    # (static's and the tie key can come before KD's).
    both = {"ran the teacher", "knowledge file only"}
    page.wait(lambda _: both <= set(_legend(page)), 60, "the summary chart with KD and static")
    titles = driver.execute_script(
        "const l = document.querySelector(arguments[0]).layout;"
        "return [l.xaxis.title.text, l.yaxis.title.text];",
        SUMMARY,
    )
    assert "± 1 std of the difference over seeds" in titles[0] and titles[1] == "method"
    driver.refresh()
    page.wait_text("distill-knowledge", f"{size / 1000:.1f} kB", 60)
    assert "made from" not in page.text_of("distill-knowledge")  # the static job made it
    errors = page.console_errors()
    assert not errors, "\n".join(errors)
