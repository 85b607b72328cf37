"""*Load a model* on the Runs tab, in headless Chromium: a model file of the test's own
(offered by the server's owner through SEMVEC_MODEL_FILES), its uploaded checkpoint, a
folder of real photographs inside the data home, the layer picker, the align job, then
the run's neurons on the map; a model near chance, warned about where its figures are
read; published weights in the server's cache, which prefill the preprocessing."""

import httpx
import pytest
import torch
import torchvision
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
    # Published weights in the server's torch cache: a random ResNet-18 under the file name
    # its IMAGENET1K_V1 enum expects (nothing downloads).
    cache = home.parent / f"{home.name}-torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), cache / "resnet18-f37072fd.pth")
    torch_home = str(cache.parent.parent)
    env = {"SEMVEC_MODEL_FILES": ref, "PYTHONPATH": str(site), "TORCH_HOME": torch_home}
    server = Server(home, **env).start()
    server.ref = ref
    yield server
    server.stop()


def _form_with(driver, server, source: str, arch: str):
    """The Runs tab with `arch` of `source` chosen in *Load a model*."""
    from tests.browser.pages import MapPage

    page = MapPage(driver, server.url)
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    page.choose("load-source", source)
    page.choose("runs-align-arch", arch)
    return page


def test_load_a_model_of_ones_own_on_photos_and_browse_it(driver, own_model_server, tmp_path):
    scope: dict = {}
    exec(USER_MODEL, scope)
    checkpoint = tmp_path / "petal.th.safetensors"
    save_file(scope["make_petalnet"]().state_dict(), str(checkpoint))
    page = _form_with(driver, own_model_server, "file", own_model_server.ref)
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
    page.choose("runs-align-root", "datasets/photos")
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
    page = _form_with(driver, own_model_server, "plugin", "plugin:petal")
    assert page.wait_text("load-layers-total", "neurons").startswith("58 neurons in 4 layers")


def test_a_loaded_model_near_chance_is_warned_about_in_the_header_and_the_runs_tab(
    driver, own_model_server, tmp_path
):
    """Weights of another architecture are refused at the click, in the page's words, with
    the closest architecture named. Then a random digits CNN, uploaded as a weights-only
    torch file named `.th`, aligned on the digits: its map's header and its Runs-tab row say
    in words that it scores near chance (with the quality references beside); the healthy
    default run has no warning."""
    import model_zoo

    wrong = tmp_path / "resnet8.safetensors"
    save_file(model_zoo.get_model("resnet8").state_dict(), str(wrong))
    page = _form_with(driver, own_model_server, "zoo", "digits_cnn")
    upload = driver.find_element(By.CSS_SELECTOR, "#runs-upload input[type=file]")
    upload.send_keys(str(wrong))
    page.wait_text("runs-upload-name", "ready: resnet8.safetensors")
    jobs = httpx.get(own_model_server.url + "/api/jobs").json()["count"]
    driver.find_element(By.ID, "runs-align-go").click()
    refused = page.wait_text("runs-message", "Not started", timeout=60)
    assert "these weights do not fit digits_cnn: choose the architecture the weights were " in (
        refused
    )
    assert "saved from; closest: resnet8 (100% of keys)" in refused and "--" not in refused
    assert httpx.get(own_model_server.url + "/api/jobs").json()["count"] == jobs

    torch.manual_seed(0)
    checkpoint = tmp_path / "random-digits.th"
    torch.save(model_zoo.get_model("digits_cnn").state_dict(), checkpoint)
    upload.send_keys(str(checkpoint))
    page.wait_text("runs-upload-name", "ready: random-digits.th")
    page.type("load-steps", "10")
    driver.find_element(By.ID, "runs-align-go").click()
    text = page.wait_text("runs-message", "alignment job", timeout=60)
    assert text.startswith("Uploaded random-digits.th (")
    link = _wait_for_run_link(page, text.split("alignment job ")[1].split()[0])
    run = link.text.removeprefix("open ").removesuffix(" on the map")
    row = f"//tr[td/a[text()='{run}']]/following-sibling::tr[1][contains(@class, 'run-warning')]"
    warned = page.wait(lambda d: d.find_elements(By.XPATH, row), message="no warning row")
    assert "near chance" in warned[0].text and "--" not in warned[0].text
    link.click()
    warning = page.wait_text("explorer-warning-0", "near chance")
    assert "preprocessing or classes may not fit these images" in warning
    assert "Check the image size, crop, mean and std" in warning and "--" not in warning
    assert page.text_of("explorer-ceiling").startswith("ceiling r ")
    assert page.text_of("explorer-bound").startswith("rank-64 bound r ")

    page.open("/?run=digits-default")
    ceiling = page.wait_text("explorer-ceiling", "P@10")
    assert float(ceiling.split("r ")[1].split(" /")[0]) > 0.5
    assert "P@10" in page.text_of("explorer-bound")
    assert "digits_cnn" in page.text_of("shell-run-info")
    assert not driver.find_elements(By.CSS_SELECTOR, ".run-warning")
    errors = page.console_errors()
    assert not errors, "\n".join(errors)


def test_published_weights_in_the_servers_cache_prefill_the_preprocessing(driver, own_model_server):
    page = _form_with(driver, own_model_server, "torchvision", "torchvision:resnet18")
    page.wait_text("load-layers-total", "neurons")
    page.choose("load-weights", "IMAGENET1K_V1")
    page.wait_text("load-preprocess-note", "Prefilled from the IMAGENET1K_V1 weights")
    values = {
        key: driver.find_element(By.ID, f"load-{key}").get_attribute("value")
        for key in ("resize", "crop", "mean", "std")
    }
    assert values == {
        "resize": "256",
        "crop": "224",
        "mean": "0.485,0.456,0.406",
        "std": "0.229,0.224,0.225",
    }
