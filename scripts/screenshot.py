"""Save the README's screenshot: the digits map with a neuron's panel open, at 1280x800.

    .venv/bin/python scripts/screenshot.py [--out assets/screenshot.png]

Runs `semvec quickstart` into a temporary data home, serves it, and drives headless
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

from tests.backend.api.conftest import Server  # noqa: E402
from tests.browser.conftest import make_driver  # noqa: E402
from tests.browser.pages import MapPage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshot.png")
    parser.add_argument("--neuron", default="conv3:5")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="semvec-shot-"))
    env = {**os.environ, "SEMVEC_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "backend.cli", "quickstart"], env=env, check=True)
    server = Server(home).start()
    driver = make_driver()
    try:
        driver.set_window_size(1280, 800)
        page = MapPage(driver, server.url).open(f"/?run=digits-default&neuron={args.neuron}")
        page.wait_for_map()
        page.panel_name(args.neuron)
        page.wait(lambda _: page.images_loaded("neuron-top-images") > 0)
        page.settle(1.0)
        driver.save_screenshot(str(args.out))
        print(args.out)
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
