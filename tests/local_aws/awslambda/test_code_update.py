"""UpdateFunctionCode / UpdateFunctionConfiguration retire a function's warm workers.

On AWS, invocations after a code or configuration update run in new execution environments.
The local runtime runs a function from its code folder, so the same API calls are how a changed
folder is picked up (the hot reload of `make up` makes them).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws.awslambda.runtime import FunctionSpec

HANDLER = """import os

def lambda_handler(event, context):
    return {"version": VERSION, "pid": os.getpid()}

VERSION = {version}
"""


@pytest.fixture
def editable(local_stack, tmp_path):
    """A function whose code folder is a temp copy (name, folder)."""
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "app.py").write_text(HANDLER.replace("{version}", "1"))
    name = f"editable-{tmp_path.name[-8:]}".replace("_", "-")
    local_stack.lambdas.register(FunctionSpec(name, folder))
    yield name, folder
    local_stack.lambdas.unregister(name)
    shutil.rmtree(folder, ignore_errors=True)


def call(local_stack, name):
    response = local_stack.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    return json.loads(response["Payload"].read())


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.py")):
            archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


def test_update_function_code_makes_the_next_invocation_cold_on_the_new_code(local_stack, editable):
    name, folder = editable
    first = call(local_stack, name)
    assert call(local_stack, name)["pid"] == first["pid"]  # warm: same worker, same code
    before = (folder / "app.py").stat()
    (folder / "app.py").write_text(HANDLER.replace("{version}", "2"))
    # the same size and mtime as version 1 (an edit within the second of its import): the
    # worker's .pyc of version 1 looks valid, so the update must not let it be reused
    os.utime(folder / "app.py", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert call(local_stack, name)["version"] == 1  # the warm worker still runs what it loaded
    local_stack.client("lambda").update_function_code(FunctionName=name, ZipFile=zipped(folder))
    after = call(local_stack, name)
    assert after["pid"] != first["pid"], "the warm worker was not retired"
    assert after["version"] == 2
    cold = [r.cold for r in local_stack.lambdas.invocations if r.function == name]
    assert cold == [True, False, False, True]


def test_update_function_configuration_retires_workers_too(local_stack, editable):
    name, _ = editable
    first = call(local_stack, name)
    local_stack.client("lambda").update_function_configuration(
        FunctionName=name, Description="reloaded"
    )
    assert call(local_stack, name)["pid"] != first["pid"]


def test_a_failed_update_keeps_the_workers(local_stack, editable):
    name, _ = editable
    first = call(local_stack, name)
    client = local_stack.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    local_stack.faults.add(
        "lambda", "UpdateFunctionConfiguration", "ResourceConflictException", count=1
    )
    try:
        with pytest.raises(ClientError, match="ResourceConflictException"):
            client.update_function_configuration(FunctionName=name, Description="rejected")
    finally:
        local_stack.faults.clear()
    assert call(local_stack, name)["pid"] == first["pid"]
