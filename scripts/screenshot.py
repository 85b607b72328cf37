"""Save the manual's screenshots at 1280x800: the map, the map with a neuron's panel open,
its Pictures view, its clusters, an ablation result, the Runs tab and the Distillation tab.

    .venv/bin/python scripts/screenshot.py [--out-dir docs/images] [--home HOME]
    .venv/bin/python scripts/screenshot.py --home HOME --pictures RUN:NAME.png

`--pictures` takes only the Pictures view of RUN in HOME. The manual's CIFAR-10 one shows
the public ResNet-56 aligned on 2,000 CIFAR-10 test photos (200 a class, unpacked from
../shared/data/cifar10 as bench/own_model.py does), then mapped with UMAP:

    semvec align --checkpoint ../shared/data/teachers/resnet56-cifar10.th \
        --arch resnet56_a --dataset imagefolder --root HOME/datasets/cifar-2000 \
        --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010 --name resnet56-cifar10
    semvec project resnet56-cifar10 --method umap
    scripts/screenshot.py --home HOME --pictures resnet56-cifar10:screenshot-pictures-cifar.png

Without `--home`, runs `semvec quickstart` into a temporary data home; a home given with
`--home` (e.g. one with finished distillation jobs) is served as it is. Drives headless
Chromium with the same helpers the browser tests use.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402

from tests.backend.api.conftest import Server  # noqa: E402
from tests.browser.conftest import make_driver  # noqa: E402
from tests.browser.pages import MapPage  # noqa: E402


def pictures(page: MapPage, run: str, path: Path, neuron: str | None = None) -> Path:
    """The Pictures view of `run` (its sheet made by the page's job if missing)."""
    page.open(f"/?run={run}&view=pictures" + (f"&neuron={neuron}" if neuron else ""))
    page.wait_for_map(timeout=120)
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".map-picture"), 600, "no pictures")
    if neuron:
        page.panel_name(neuron)
        page.wait(lambda _: page.images_loaded("neuron-top-images") > 0)
    page.settle(1.5)  # the sheet's image decoded and drawn
    page.driver.save_screenshot(str(path))
    return path


def shoot(page: MapPage, neuron: str, out_dir: Path) -> list[Path]:
    shots = []

    def save(name: str) -> None:
        page.settle(1.0)
        path = out_dir / name
        page.driver.save_screenshot(str(path))
        shots.append(path)

    page.open("/?run=digits-default")
    page.wait_for_map()
    save("screenshot-map.png")
    page.open(f"/?run=digits-default&neuron={neuron}")
    page.wait_for_map()
    page.panel_name(neuron)
    page.wait(lambda _: page.images_loaded("neuron-top-images") > 0)
    save("screenshot.png")
    shots.append(pictures(page, "digits-default", out_dir / "screenshot-pictures.png", neuron))
    page.open(f"/?run=digits-default&method=umap&neuron={neuron}")
    page.wait_for_map()
    page.panel_name(neuron)
    page.choose("explorer-ablate-source", "neighbours")
    page.driver.find_element(By.ID, "explorer-ablate-go").click()
    page.wait(lambda d: d.find_elements(By.ID, "ablation-sentence"), 180, "no ablation result")
    save("screenshot-ablation.png")
    page.open("/?run=digits-default&method=umap")
    page.wait_for_map()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#explorer-clusters-list .cluster-label"))
    page.driver.execute_script("document.getElementById('explorer-clusters-list').scrollIntoView()")
    save("screenshot-clusters.png")
    page.open("/runs")
    page.wait_text("runs-table", "digits-default")
    save("screenshot-runs.png")
    page.open("/distill")
    page.wait(lambda _: "digits-default" in page.text_of("distill-teacher"))
    page.wait(lambda _: "per epoch" in page.text_of("distill-curves"), message="the charts drawn")
    save("screenshot-distill.png")
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--neuron", help="the neuron whose panel is open (default conv3:5)")
    parser.add_argument("--home", type=Path, help="serve this data home instead of a new one")
    parser.add_argument("--pictures", metavar="RUN:NAME.png", help="only this Pictures view")
    args = parser.parse_args()
    home = args.home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="semvec-shot-"))
        env = {**os.environ, "SEMVEC_HOME": str(home)}
        subprocess.run([sys.executable, "-m", "backend.cli", "quickstart"], env=env, check=True)
    server = Server(home).start()
    driver = make_driver()
    try:
        driver.set_window_size(1280, 800)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        page = MapPage(driver, server.url)
        if args.pictures:
            run, _, name = args.pictures.partition(":")
            path = args.out_dir / (name or f"screenshot-pictures-{run}.png")
            print(pictures(page, run, path, args.neuron))
            return
        for path in shoot(page, args.neuron or "conv3:5", args.out_dir):
            print(path)
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
