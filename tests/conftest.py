"""Fixtures shared by every test folder.

`local_stack` is THE embedded AWS of a test session (moto's state is process-global, so there is
exactly one per pytest process). It listens on a free port; tests talk to it with
`local_stack.client("<service>")` or `local_stack.endpoint_url`.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def local_stack():
    from local_aws.server import LocalAWS

    with LocalAWS(port=0) as aws:
        yield aws
