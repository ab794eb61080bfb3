"""Fixtures shared by every test folder, and the suite's run order.

`local_stack` is THE embedded AWS of a test session (moto's state is process-global, so there is
exactly one per pytest process: one per xdist worker under `make test`). It listens on a free
port; tests talk to it with `local_stack.client("<service>")` or `local_stack.endpoint_url`.
`browser` is a headless Chromium (Debian's chromium + chromedriver, `make browser-deps`) for the
web console's tests.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

import pytest

# No third-party Hypothesis plugins in the suite: on its first import hypothesis runs every
# installed package's entry point, and trio's (trio comes with selenium) registers a Random, for
# which Hypothesis scans the whole heap (gc.get_referrers): ~0.45 s in each test process. No test
# uses trio.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

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


class _UniquePaths(list):
    """boto3 appends its own data folder to the loader's search paths in every new session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


# The garbage collector of a test process: the young generation is collected every 50,000
# allocations instead of 700, and what collection imported is frozen (pytest_collection_finish).
# Why: a worker holds ~600,000 objects after collection (moto, botocore's models, cfn-lint), and
# with the default thresholds it spent 16-20 s of a 130 s run in the collector, most of it in full
# collections walking those objects again (gc.callbacks, 2026-12-02). Frozen objects are never
# garbage (modules, collected items); cyclic garbage is still collected, less often (a worker's
# peak RSS stayed under 650 MB). https://docs.python.org/3/library/gc.html#gc.freeze
GC_THRESHOLDS = (50_000, 50, 1000)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    _share_botocore_data_loader()


def _share_botocore_data_loader() -> None:
    """Every botocore session of a test process shares one data loader (it caches what it parsed).

    Why: moto's mock_aws gives each test a new boto3 default session, and a new session parses
    botocore's endpoint and service JSON again: 80 ms for a first client instead of 25 ms, a
    sixth of the suite's CPU in the profile of 2026-12-02. The data is read-only and the same
    for every session, so sharing it changes no answer. Not done when AWS_DATA_PATH is set.
    """
    import botocore.loaders
    import botocore.session

    if os.environ.get("AWS_DATA_PATH"):
        return
    loader = botocore.loaders.create_loader()
    loader._search_paths = _UniquePaths(loader.search_paths)

    def register_shared_loader(session: botocore.session.Session) -> None:
        session._components.lazy_register_component("data_loader", lambda: loader)

    botocore.session.Session._register_data_loader = register_shared_loader


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported is frozen out of the garbage collector (see GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()


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


def pytest_runtest_setup(item: pytest.Item) -> None:
    # pytest-xdist 3.8 sends an `xdist_group` to one worker by appending "@<group>" to the node
    # id; pytest 9.2's structured node ids ignore that silently (pytest-dev/pytest-xdist#1386),
    # and every worker then builds each group's expensive fixture (two `make build`s at once,
    # two console scenarios). Fail such a test instead of running it on a spread group.
    if (
        getattr(item.config.option, "loadgroup", False)
        and "@" not in item.nodeid
        and item.get_closest_marker("xdist_group")
    ):
        pytest.fail(
            "--dist loadgroup ignored this test's xdist_group: this pytest/pytest-xdist pair"
            " does not group (pytest-dev/pytest-xdist#1386; pins in requirements-dev.txt)",
            pytrace=False,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: within a phase, the usual order. `make test` hands the tests to its xdist
    # workers in this order (--dist loadgroup --no-loadscope-reorder), so each worker runs its
    # share in it too.
    items.sort(key=run_phase)
