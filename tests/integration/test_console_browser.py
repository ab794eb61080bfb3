"""The web console in a real headless Chromium (Debian's chromium + chromedriver, `make
browser-deps`), on the real pipeline. Screenshots go to artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from console_scenario import Scenario, build

from pipeline_tools import console
from pipeline_tools.contract import METRIC_NAMES

# One worker builds the console scenario once for both modules (console_scenario.build).
pytestmark = pytest.mark.xdist_group("console_scenario")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def scenario(pipeline, observer) -> Scenario:
    console.attach(pipeline.aws)  # as `python -m pipeline_tools up` does
    return build(pipeline, observer)


@pytest.fixture
def page(browser, scenario):
    """page("#/runs") -> the browser once the console has rendered that view."""
    from selenium.webdriver.support.ui import WebDriverWait

    base = f"{scenario.endpoint}/_local_aws/console/"

    def open_view(fragment: str):
        browser.get("about:blank")
        browser.get(base + fragment)
        WebDriverWait(browser, 20).until(
            lambda d: d.execute_script("return !!(window.consoleState && consoleState.loaded)")
        )
        return browser

    return open_view


def screenshot(browser, name: str) -> Path:
    """A full-page screenshot (the window is grown to the page's height first)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1500, min(max(height, 900), 6000))
    browser.execute_script("window.scrollTo(0, 0)")
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(1500, 1200)
    return path


def _rows(browser) -> dict[str, dict[str, str]]:
    """The run list as rendered, read in one script. The list re-renders every 3 s (auto-refresh),
    so element handles kept across WebDriver calls can go stale on a loaded machine."""
    return browser.execute_script(
        """const rows = {};
        document.querySelectorAll("#runs-table tbody tr.run-row").forEach((tr) => {
          rows[tr.dataset.runId] = {outcome: tr.dataset.outcome, text: tr.innerText,
            outcome_text: tr.querySelector("td.outcome").innerText,
            status_text: tr.querySelector("td.status").innerText};
        });
        return rows;"""
    )


def test_run_list_renders_with_outcomes_and_filters(page, scenario):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser = page("#/runs")
    rows = _rows(browser)
    for run, outcome in [
        (scenario.saved, "saved"),
        (scenario.duplicate, "duplicate"),
        (scenario.invalid, "quarantined"),
        (scenario.failed, "failed"),
    ]:
        row = rows[run.run_id]
        assert row["outcome"] == outcome, row
        assert row["outcome_text"] == outcome, row
        assert run.key in row["text"], row
    assert rows[scenario.failed.run_id]["status_text"] == "FAILED"
    screenshot(browser, "runs-list")

    Select(browser.find_element(By.ID, "f-outcome")).select_by_visible_text("duplicate")
    WebDriverWait(browser, 20).until(lambda d: "outcome=duplicate" in d.current_url)
    WebDriverWait(browser, 20).until(
        lambda d: (shown := _rows(d)) and all(r["outcome"] == "duplicate" for r in shown.values())
    )
    assert scenario.duplicate.run_id in _rows(browser)

    # clicking a row opens its run page (a refresh between finding the row and clicking it
    # replaces the row: find it again)
    row = f'tr[data-run-id="{scenario.duplicate.run_id}"]'
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.CSS_SELECTOR, row).click() or True
    )
    WebDriverWait(browser, 20).until(lambda d: "#/run/" in d.current_url)


def test_duplicate_run_page_highlights_the_duplicate_path(page, scenario):
    from selenium.webdriver.common.by import By

    browser = page("#/run/" + quote(scenario.duplicate.run_id, safe=""))
    graph = browser.execute_script(
        """const cy = consoleState.graph;
        const cls = (id) => cy.getElementById(id).classes();
        const taken = cy.edges('.taken').map((e) => e.source().id() + '>' + e.target().id());
        return {validate: cls('Validate'), isDup: cls('IsDuplicate'), save: cls('Save'),
                del: cls('Delete'), quarantine: cls('QuarantineMessage'), taken: taken,
                nodes: cy.nodes().length};"""
    )
    assert graph["nodes"] > 14  # every state of the ASL is drawn, taken or not
    for key in ("validate", "isDup", "del"):
        assert "taken" in graph[key] and "ok" in graph[key], (key, graph[key])
    assert "not-taken" in graph["save"] and "taken" not in graph["save"]
    assert "not-taken" in graph["quarantine"]
    assert "IsDuplicate>Delete" in graph["taken"]
    assert "IsDuplicate>Save" not in graph["taken"] and "Save>Delete" not in graph["taken"]
    assert "CheckIdempotency>IsDuplicate" in graph["taken"]

    summary = browser.find_element(By.ID, "run-outcome").text
    assert "duplicate" in summary
    assert not browser.find_elements(By.ID, "run-error")  # a duplicate is not an error
    logs = browser.find_element(By.ID, "run-logs").text
    assert scenario.duplicate.message_id in logs and "message_skipped" in logs
    trace = browser.find_element(By.ID, "run-trace").text
    assert "AWS::Lambda::Function" in trace and "GetItem" in trace and "DeleteMessage" in trace
    metrics = browser.find_element(By.ID, "run-metrics").text
    assert "DuplicateMessages" in metrics and "MessagesSaved" not in metrics

    # the state panel shows the selected state's input and output; clicking a timeline row
    browser.find_element(By.CSS_SELECTOR, 'tr[data-state="CheckIdempotency"]').click()
    assert browser.find_element(By.ID, "state-name").text == "CheckIdempotency"
    assert '"outcome": "duplicate"' in browser.find_element(By.ID, "state-output").text
    assert scenario.duplicate.sqs_message_id in browser.find_element(By.ID, "state-input").text
    screenshot(browser, "run-duplicate")


def test_failed_run_page_shows_its_error(page, scenario):
    from selenium.webdriver.common.by import By

    browser = page("#/run/" + quote(scenario.failed.run_id, safe=""))
    assert browser.find_element(By.ID, "run-error-name").text == "DynamoDBSaveError"
    cause = browser.find_element(By.ID, "run-error-cause").text
    assert "PutItem failed" in cause and "InternalServerError" in cause
    assert "FAILED" in browser.find_element(By.ID, "run-status").text
    classes = browser.execute_script(
        """const cy = consoleState.graph;
        return {save: cy.getElementById('Save').classes(),
                record: cy.getElementById('RecordDynamoDBSaveError').classes(),
                fail: cy.getElementById('FailDynamoDBSave').classes(),
                map: cy.getElementById('ProcessBatch').classes(),
                catchTaken: cy.edges('.taken-catch').map((e) => e.target().id())};"""
    )
    assert "caught" in classes["save"]
    assert "ok" in classes["record"]
    assert "bad" in classes["fail"]
    assert "bad" in classes["map"]
    assert classes["catchTaken"] == ["RecordDynamoDBSaveError"]
    # the state panel opens on the failing state; Save shows its attempts and the caught error
    assert browser.find_element(By.ID, "state-name").text == "FailDynamoDBSave"
    browser.find_element(By.CSS_SELECTOR, 'tr[data-state="Save"]').click()
    panel = browser.find_element(By.ID, "state-panel").text.lower()  # h4s are upper-cased
    assert "attempts (3, 2 retries)" in panel
    assert "caught error → recorddynamodbsaveerror" in panel
    screenshot(browser, "run-failed")


def test_metrics_panel_charts_the_eight_metrics(page, scenario):
    from selenium.webdriver.common.by import By

    browser = page("#/metrics?range=15m")
    cards = browser.find_elements(By.CSS_SELECTOR, "#charts .chart-card")
    names = [card.get_attribute("data-metric") for card in cards]
    assert names == list(METRIC_NAMES)  # in the layer contract's order
    totals = {
        card.get_attribute("data-metric"): float(
            card.find_element(By.CSS_SELECTOR, "[data-total]").text
        )
        for card in cards
    }
    assert totals["MessagesSaved"] >= 2 and totals["DuplicateMessages"] >= 1
    assert totals["InvalidMessages"] >= 1 and totals["DynamoDBSaveError"] >= 1
    drawn = browser.execute_script("return Object.keys(Chart.instances || {}).length")
    assert drawn == 8
    screenshot(browser, "metrics")
