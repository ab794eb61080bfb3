"""Fixtures shared by every test folder, and the suite's run order.

`local_stack` is THE embedded AWS of a test session (moto's state is process-global, so there is
exactly one per pytest process: one per xdist worker under `make test`). It listens on a free
port; tests talk to it with `local_stack.client("<service>")` or `local_stack.endpoint_url`.
`browser` is a headless Chromium (Debian's chromium + chromedriver, `make browser-deps`) for the
web console's tests.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1500,1200",
)


@pytest.fixture(scope="session")
def local_stack():
    from local_aws.server import LocalAWS

    with LocalAWS(port=0) as aws:
        yield aws


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail(
            "Chromium and chromedriver are needed for the web console tests: run "
            "`make browser-deps` (as root: apt-get install -y chromium chromium-driver)"
        )
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def run_phase(item: pytest.Item) -> int:
    """0: `starts_first` tests (the longest: under xdist the rest runs beside them);
    1: tests on the session's local stack;
    2: the rest. Among them every test that enters moto's in-process `mock_aws`, which resets
       moto's process-global state, the local stack's tables, queues and state machines included:
       run after every local-stack test of the same process, that cannot hurt one."""
    if item.get_closest_marker("starts_first"):
        return 0
    return 1 if "local_stack" in getattr(item, "fixturenames", ()) else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: within a phase, the usual order. `make test` hands the tests to its xdist
    # workers in this order (--dist loadgroup --no-loadscope-reorder), so each worker runs its
    # share in it too.
    items.sort(key=run_phase)
