"""jobs.db damaged under a running server: the Runs tab still lists the runs, and where
the jobs were it says that the job store is damaged and what to do."""

from tests.backend.api.conftest import Server
from tests.backend.api.test_damaged_store_api import damage
from tests.browser.pages import MapPage


def test_the_runs_tab_says_the_job_store_is_damaged_and_what_to_do(driver, tmp_path):
    with Server(tmp_path) as server:
        damage(tmp_path / "jobs.db")
        page = MapPage(driver, server.url).open("/runs")
        text = page.wait_text("runs-jobs", "damaged")
        assert text.startswith("Jobs cannot be shown: jobs.db in the data home is damaged")
        assert "stop the server, move jobs.db aside" in text and "start the server again" in text
        assert "No runs yet" in page.text_of("runs-table")  # the runs are still listed
