"""The console's DLQ page in headless Chromium, on the copied stack: the list with its reasons
and filters, and the redrive dry run (which moves nothing)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from pipeline_tools import console


@pytest.fixture
def dlq_page(browser, copied_stack):
    """dlq_page(**query) -> the browser once the DLQ page has rendered for that query."""
    from selenium.webdriver.support.ui import WebDriverWait

    stack = copied_stack
    console.attach(stack.runner.aws)  # as `python -m pipeline_tools up` does
    target = {
        "dlq_url": stack.ref("MessagesDeadLetterQueue"),
        "queue_url": stack.ref("MessagesQueue"),
        "table": stack.ref("MessagesTable"),
    }

    def open_page(**query: str):
        browser.get("about:blank")
        fragment = "#/dlq?" + urlencode({**target, **query})
        browser.get(f"{stack.runner.aws.endpoint_url}/_local_aws/console/{fragment}")
        WebDriverWait(browser, 30).until(
            lambda d: d.execute_script("return !!(window.consoleState && consoleState.loaded)")
        )
        return browser

    return open_page


def _rows(browser):
    from selenium.webdriver.common.by import By

    return {
        row.get_attribute("data-sqs-id"): row
        for row in browser.find_elements(By.CSS_SELECTOR, "#dlq-table tbody tr.dlq-row")
    }


def test_dlq_page_lists_reasons_filters_and_shows_a_redrive_dry_run(
    dlq_page, copied_stack, letters, new_body, group, wait_for
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    stack = copied_stack
    invalid = new_body(source="")  # minLength 1: InvalidMessage
    invalid_id = json.loads(invalid)["message_id"]
    stack.observer.send(invalid, group)
    moved = new_body()
    moved_id = json.loads(moved)["message_id"]
    moved_sqs_id = stack.client("sqs").send_message(  # as SQS moves one: no attributes
        QueueUrl=stack.ref("MessagesDeadLetterQueue"),
        MessageBody=moved,
        MessageGroupId=group,
        MessageDeduplicationId=moved_id,
    )["MessageId"]
    [quarantined] = wait_for(
        "the quarantined message", lambda: [m for m in letters() if m["message_id"] == invalid_id]
    )

    browser = dlq_page(group=group)
    rows = _rows(browser)
    assert set(rows) == {quarantined["sqs_message_id"], moved_sqs_id}
    row = rows[quarantined["sqs_message_id"]]
    assert row.get_attribute("data-reason") == "InvalidMessage"
    assert "$.source: must not be empty" in row.find_element(By.CSS_SELECTOR, "td.detail").text
    assert rows[moved_sqs_id].get_attribute("data-kind") == "dead-lettered"
    assert rows[moved_sqs_id].get_attribute("data-reason") == "unknown"

    # filter by reason from the page's own select
    Select(browser.find_element(By.ID, "d-reason")).select_by_visible_text("InvalidMessage")
    browser.find_element(By.CSS_SELECTOR, "#dlq-filters button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: "reason=InvalidMessage" in d.current_url)
    WebDriverWait(browser, 30).until(lambda d: set(_rows(d)) == {quarantined["sqs_message_id"]})

    # the dry run: one message would move, with the command to apply it; nothing moved
    browser.find_element(By.ID, "dlq-plan-button").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "dlq-command"))
    plan_rows = browser.find_elements(By.CSS_SELECTOR, "#dlq-plan-table tr.plan-row")
    assert len(plan_rows) == 1 and quarantined["source_message_id"] in plan_rows[0].text
    command = browser.find_element(By.ID, "dlq-command").text
    assert command.endswith(f"redrive --reason InvalidMessage --group {group} --apply")
    assert {m["message_id"] for m in letters()} >= {invalid_id, moved_id}
    screenshot(browser)


def screenshot(browser) -> None:
    """artifacts/screenshots/dlq.png (git-ignored), to look at the page."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(folder / "dlq.png"))
