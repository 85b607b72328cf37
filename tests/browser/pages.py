"""What a person does on the page, as methods: open a URL, click a neuron on the WebGL map,
read the panel. Points are clicked with a real mouse event at their pixel position."""

import time

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

GRAPH = "#explorer-map .js-plotly-plot"

# Pixel position (page coordinates) and neuron id of the map's clickable points: traces
# with a `meta` (the overlays, the greyed-out layers) are skipped.
_POINTS_JS = """
const gd = document.querySelector(arguments[0]);
if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis || !gd.data) { return null; }
const fl = gd._fullLayout, box = gd.getBoundingClientRect(), out = [];
for (let t = 0; t < gd.data.length; t++) {
  const tr = gd.data[t];
  if (tr.meta) { continue; }
  for (let k = 0; k < (tr.customdata || []).length; k++) {
    out.push([tr.customdata[k], box.left + fl._size.l + fl.xaxis.l2p(tr.x[k]),
              box.top + fl._size.t + fl.yaxis.l2p(tr.y[k])]);
  }
}
return out;
"""


class MapPage:
    def __init__(self, driver, base_url: str, timeout: float = 30):
        self.driver, self.base_url, self.timeout = driver, base_url, timeout

    def wait(self, condition, timeout: float | None = None, message: str = ""):
        # Dash replaces elements while it renders: one found and then replaced is stale,
        # so look again rather than fail.
        return WebDriverWait(
            self.driver,
            timeout or self.timeout,
            poll_frequency=0.1,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(condition, message)

    def open(self, path: str = "/") -> "MapPage":
        self.driver.get_log("browser")  # the session's driver keeps earlier tests' lines
        self.driver.get(self.base_url + path)
        return self

    def console_errors(self) -> list[str]:
        """SEVERE console lines of this server's pages since `open` (another test's stopped
        server, still polled by a page left behind, says nothing about this one)."""
        return [
            e["message"]
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and e["message"].startswith(self.base_url)
        ]

    def points(self) -> list[tuple[int, float, float]]:
        return self.driver.execute_script(_POINTS_JS, GRAPH) or []

    def wait_for_map(self, count: int | None = None, timeout: float | None = None) -> list:
        """The map's points once drawn (and, given `count`, once it shows that many)."""

        def drawn(_):
            pts = self.points()
            return pts if pts and (count is None or len(pts) == count) else False

        return self.wait(drawn, timeout, f"the map never showed {count or 'any'} points")

    def isolated_neuron(self, min_gap: float = 12) -> tuple[int, float, float]:
        """A point with no other point within `min_gap` pixels (so a click hits only it)."""
        pts = self.points()
        for i, (nid, x, y) in enumerate(pts):
            if all(
                (x - a) ** 2 + (y - b) ** 2 >= min_gap**2
                for j, (_, a, b) in enumerate(pts)
                if j != i
            ):
                return nid, x, y
        raise AssertionError("no isolated point on the map")

    def graph_offset(self, x: float, y: float) -> tuple:
        """(graph element, dx, dy): page point (x, y) relative to the graph's centre, as
        selenium's pointer actions want it."""
        graph = self.driver.find_element(By.CSS_SELECTOR, GRAPH)
        left, top, width, height = self.driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height];",
            graph,
        )
        return graph, round(x - left - width / 2), round(y - top - height / 2)

    def click_at(self, x: float, y: float) -> None:
        graph, dx, dy = self.graph_offset(x, y)
        ActionChains(self.driver).move_to_element_with_offset(graph, dx, dy).click().perform()

    def lasso(self, corners: list[tuple[float, float]]) -> None:
        """Draw a closed lasso through `corners` (page coordinates) with the mouse."""
        lasso_tool = "[data-attr='dragmode'][data-val='lasso']"
        self.driver.find_element(By.CSS_SELECTOR, lasso_tool).click()
        graph, dx, dy = self.graph_offset(*corners[0])
        chain = ActionChains(self.driver).move_to_element_with_offset(graph, dx, dy)
        chain.click_and_hold()
        for x, y in [*corners[1:], corners[0]]:
            _, dx, dy = self.graph_offset(x, y)
            chain.move_to_element_with_offset(graph, dx, dy + 1)
        chain.release().perform()

    def panel_name(self, expected: str | None = None, timeout: float | None = None) -> str:
        def named(driver):
            found = driver.find_elements(By.ID, "neuron-name")
            text = found[0].text.split("\n")[0].strip() if found else ""
            if expected is None:
                return text or False
            return text if text.startswith(expected) else False

        return self.wait(named, timeout, f"the panel never showed {expected or 'a neuron'}")

    def type(self, element_id: str, text: str) -> None:
        """Replace what a text or number box holds with `text`."""
        box = self.driver.find_element(By.ID, element_id)
        box.clear()
        box.send_keys(text)

    def choose(self, dropdown_id: str, value: str) -> None:
        """Open a dropdown and click the option whose value is `value`."""
        self.driver.find_element(By.ID, dropdown_id).click()
        option = f"//label[contains(@class, 'dash-dropdown-option')][.//input[@value='{value}']]"
        self.wait(lambda d: d.find_elements(By.XPATH, option), message=f"option {value}")
        self.driver.find_element(By.XPATH, option).click()

    def text_of(self, element_id: str) -> str:
        return self.driver.find_element(By.ID, element_id).text

    def wait_text(self, element_id: str, needle: str, timeout: float | None = None) -> str:
        self.wait(
            EC.text_to_be_present_in_element((By.ID, element_id), needle),
            timeout,
            f"#{element_id} never said {needle!r}",
        )
        return self.text_of(element_id)

    def overlay(self, meta: str) -> list[int]:
        """Neuron ids drawn by the overlay trace `meta` (selected, neighbours, found,
        filtered)."""
        return self.driver.execute_script(
            "const gd = document.querySelector(arguments[0]);"
            "const t = gd && gd.data ? gd.data.find(t => t.meta === arguments[1]) : null;"
            "return t ? Array.from(t.customdata || []) : [];",
            GRAPH,
            meta,
        )

    def highlighted(self) -> list[int]:
        """Neuron ids drawn by the 'selected' overlay trace."""
        return self.overlay("selected")

    def query(self) -> str:
        return self.driver.execute_script("return window.location.search")

    def images_loaded(self, container_id: str) -> int:
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' img'))"
            ".filter(i => i.complete && i.naturalWidth > 0).length;",
            container_id,
        )

    def body_text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def settle(self, seconds: float = 0.3) -> None:
        time.sleep(seconds)
