"""Clusters on the map and a neuron's optimised images, in headless Chromium on the real
digits-default run."""

from selenium.webdriver.common.by import By

NEURONS = 234


def test_click_a_cluster_label_selects_its_neurons(page):
    page.open("/?run=digits-default&method=pca")
    page.wait_for_map(NEURONS)
    labels = page.wait(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#explorer-map .annotation-text"),
        message="cluster labels on the map",
    )
    first = next(a for a in labels if a.text.startswith("#1 "))
    label = first.text
    first.click()
    count = page.wait_text("lasso-count", "neurons selected")
    size = int(count.split()[0])
    assert size >= 5 and page.text_of("lasso-cluster") == f"cluster {label}"
    assert len(page.text_of("lasso-list").split(", ")) == size
    assert page.driver.find_element(By.ID, "explorer-lasso-csv").is_enabled()
    listed = page.driver.find_elements(By.CSS_SELECTOR, "#explorer-clusters-list .cluster-hit")
    assert listed[0].text.startswith(label) and listed[0].text.endswith(f" {size}")
    picked = page.driver.execute_script(
        "const gd = document.querySelector('#explorer-map .js-plotly-plot');"
        "return gd.data.filter(t => t.meta === 'cluster' && t.line.width === 3).length;"
    )
    assert picked == 1  # its outline stands out
    # The toggle hides outlines and labels; the map's points stay.
    page.driver.find_element(By.CSS_SELECTOR, "#explorer-clusters-show input").click()
    page.wait(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#explorer-map .annotation-text"),
        message="labels hidden",
    )
    assert len(page.points()) == NEURONS


def test_a_neuron_shows_its_optimised_images_after_a_visualize_job(page):
    page.open("/?run=digits-default&neuron=conv3:7")
    page.wait_for_map(NEURONS)
    page.panel_name("conv3:7")
    start = page.wait(
        lambda d: d.find_elements(By.XPATH, "//button[text()='Optimise images for this neuron']"),
        message="the button that starts a visualize job",
    )
    start[0].click()
    page.wait_text("explorer-panel", "Optimising images (visualize job")
    page.wait(
        lambda _: page.images_loaded("neuron-feature-images") == 2, 600, "two optimised images"
    )
    assert "activation" in page.text_of("neuron-feature-max")
    assert "coarse: 8×8 pixels" in page.text_of("neuron-feature-coarse")
    page.driver.save_screenshot("/tmp/feature-ui.png")
    # Open it again: the images come from the run, with no job.
    page.open("/?run=digits-default&neuron=conv3:7")
    page.wait(lambda _: page.images_loaded("neuron-feature-images") == 2, 30, "served again")
    assert "Optimising" not in page.text_of("explorer-panel")
