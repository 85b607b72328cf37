"""*Load a model* on the Runs tab, in headless Chromium: a model file of the test's own
(offered by the server's owner through SEMVEC_MODEL_FILES), its uploaded checkpoint, a
folder of real photographs inside the data home, the layer picker, the align job, then
the run's neurons on the map."""

import pytest
from safetensors.torch import save_file
from selenium.webdriver.common.by import By

from tests.backend.api.conftest import Server
from tests.backend.models.conftest import USER_MODEL, installed_plugin
from tests.browser.test_runs_ui import _wait_for_run_link
from tests.photos import photo_folder


@pytest.fixture(scope="module")
def own_model_server(quickstart_copy):
    home = quickstart_copy("own-model")
    photo_folder(home / "datasets" / "photos", per_class=12)
    code = home.parent / f"{home.name}-code" / "petal_net.py"
    code.parent.mkdir()
    code.write_text(USER_MODEL)
    ref = f"{code}:make_petalnet"
    site = installed_plugin(home.parent / f"{home.name}-site")
    server = Server(home, SEMVEC_MODEL_FILES=ref, PYTHONPATH=str(site)).start()
    server.ref = ref
    yield server
    server.stop()


def test_load_a_model_of_ones_own_on_photos_and_browse_it(driver, own_model_server, tmp_path):
    from tests.browser.pages import MapPage

    scope: dict = {}
    exec(USER_MODEL, scope)
    checkpoint = tmp_path / "petal.th.safetensors"
    save_file(scope["make_petalnet"]().state_dict(), str(checkpoint))
    page = MapPage(driver, own_model_server.url)
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.choose("load-source", "file")
    page.choose("runs-align-arch", own_model_server.ref)
    # The layer picker: the user's own module names, the default probe checked, the total.
    total = page.wait_text("load-layers-total", "neurons")
    assert total.startswith("58 neurons in 4 layers") and "decide" in total
    picker = page.text_of("load-layers")
    assert "towers.1 (Trunk, 20 ch)" in picker and "towers.0.mix (Conv2d, 12 ch)" in picker
    driver.find_element(By.XPATH, "//*[@id='load-layers']//label[contains(., 'towers.2 ')]").click()
    page.wait_text("load-layers-total", "34 neurons in 3 layers")
    driver.find_element(By.CSS_SELECTOR, "#runs-upload input[type=file]").send_keys(str(checkpoint))
    page.wait_text("runs-upload-name", "ready: petal.th.safetensors")
    page.choose("runs-align-dataset", "imagefolder")
    page.choose("runs-align-root", str(own_model_server.home / "datasets" / "photos"))
    page.type("load-resize", "40")
    page.type("load-steps", "20")
    driver.find_element(By.ID, "runs-align-go").click()
    text = page.wait_text("runs-message", "alignment job", timeout=60)
    job_id = text.split("alignment job ")[1].split()[0]
    link = _wait_for_run_link(page, job_id)
    run = link.text.removeprefix("open ").removesuffix(" on the map")
    assert run.startswith("petal_net-aligned-job")
    link.click()
    page.wait_for_map(34)
    assert "petal_net.py:make_petalnet" in page.text_of("shell-run-info")
    errors = page.console_errors()
    assert not errors, "\n".join(errors)


def test_a_file_that_is_no_checkpoint_is_refused_with_a_reason(driver, own_model_server, tmp_path):
    from tests.browser.pages import MapPage

    notes = tmp_path / "notes.txt"
    notes.write_text("not weights")
    page = MapPage(driver, own_model_server.url)
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    driver.find_element(By.CSS_SELECTOR, "#runs-upload input[type=file]").send_keys(str(notes))
    text = page.wait_text("runs-upload-name", "not a checkpoint")
    assert ".safetensors" in text and ".th" in text


def test_an_installed_packages_architecture_is_offered(driver, own_model_server):
    from tests.browser.pages import MapPage

    page = MapPage(driver, own_model_server.url)
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.choose("load-source", "plugin")
    page.choose("runs-align-arch", "plugin:petal")
    assert page.wait_text("load-layers-total", "neurons").startswith("58 neurons in 4 layers")
