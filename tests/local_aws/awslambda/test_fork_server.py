"""Workers forked from the fork server are the workers exec would start, boto3 pre-imported aside.

The fork server (local_aws/awslambda/forking.py) only skips the import of the SDK the runtime
ships; these tests pin everything else a function can observe against a worker started with
exec (LOCAL_AWS_LAMBDA_FORK_SERVER=0), and the fallbacks when no fork server can run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import uuid
from pathlib import Path

import pytest

from local_aws.awslambda.forking import ForkServers
from local_aws.awslambda.runtime import PRELOADED_MODULES, FunctionSpec, base_environment

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"


def invoke(stack, name, event=None):
    response = stack.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return response, json.loads(response["Payload"].read())


@pytest.fixture
def probe(stack):
    """Register a probe function; its workers start by fork (True) or exec (False) until the
    next call (the mode is the runtime's, read at each cold start)."""
    runtime = stack.lambdas
    saved_mode, saved_servers = runtime.use_fork_server, runtime.fork_servers
    names = []

    def start(fork: bool, servers: ForkServers | None = None, code_dir: Path | None = None) -> str:
        runtime.use_fork_server = fork
        # from the first cold start on (the runtime's own servers wait for a few)
        if servers is not None or runtime.fork_servers is saved_servers:
            runtime.fork_servers = servers or ForkServers(PRELOADED_MODULES, exec_first=0)
        name = f"probe-{'fork' if fork else 'exec'}-{uuid.uuid4().hex[:6]}"
        code_dir = code_dir or FUNCTIONS / "probe"
        runtime.register(FunctionSpec(name, code_dir, environment={"PROBE": "1"}))
        names.append(name)
        return name

    yield start
    for name in names:
        runtime.get(name).shutdown()
    runtime.fork_servers.shutdown()
    runtime.use_fork_server, runtime.fork_servers = saved_mode, saved_servers


def test_a_forked_worker_sees_what_an_execd_worker_sees(stack, probe):
    names, bodies = {}, {}
    for mode in (True, False):  # the mode applies to the cold starts that follow
        names[mode] = probe(mode)
        bodies[mode] = invoke(stack, names[mode])[1]
    forked, execd = bodies[True], bodies[False]
    assert forked["sdk_preloaded"] is True and execd["sdk_preloaded"] is False
    same = ("boto3_file", "sys_path", "argv_length", "cwd", "flags", "session_leader")
    same += ("stdin_is_devnull", "stdout_is_stderr", "open_fds", "tzname")
    assert {k: forked[k] for k in same} == {k: execd[k] for k in same}
    assert forked["session_leader"] and forked["stdin_is_devnull"] and forked["stdout_is_stderr"]
    assert forked["flags"] == [1, 1, 1]

    def normalised(environ: dict, name: str) -> dict:
        drop = {"AWS_LAMBDA_LOG_STREAM_NAME", "_X_AMZN_TRACE_ID"}
        return {k: v.replace(name, "NAME") for k, v in environ.items() if k not in drop}

    assert normalised(forked["environ"], names[True]) == normalised(execd["environ"], names[False])
    for mode, name in names.items():
        assert bodies[mode]["pid"] in stack.lambdas.worker_pids(name)


def test_two_forked_workers_do_not_share_their_random_state(stack, probe):
    name = probe(True)
    first = invoke(stack, name)[1]
    stack.lambdas.get(name).recycle()
    second = invoke(stack, name)[1]
    assert first["pid"] != second["pid"] and first["random"] != second["random"]


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "exec"])
def test_a_killed_worker_is_reported_as_on_aws(stack, probe, fork):
    name = probe(fork)
    response, body = invoke(stack, name, {"kill": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in body["errorMessage"]
    _, after = invoke(stack, name)  # the next invocation starts a new environment
    assert "pid" in after and stack.lambdas.worker_pids(name) == [after["pid"]]


def test_workers_start_with_exec_when_no_fork_server_can_start(stack, probe, caplog):
    name = probe(True, ForkServers(("module_the_fork_server_cannot_import",), exec_first=0))
    _, body = invoke(stack, name)
    assert body["sdk_preloaded"] is False
    assert "fork server unavailable" in caplog.text
    assert "module_the_fork_server_cannot_import" in caplog.text


def test_a_fork_server_that_died_is_replaced_and_its_workers_still_reported(stack, probe):
    servers = ForkServers(PRELOADED_MODULES, exec_first=0)
    name = probe(True, servers)
    function = stack.lambdas.get(name)
    first = invoke(stack, name)[1]
    server = stack.lambdas.fork_server(function, base_environment())
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    # The worker forked by the dead server still answers; its death is still noticed.
    assert invoke(stack, name)[1]["pid"] == first["pid"]
    _, body = invoke(stack, name, {"kill": True})
    # Only its (dead) parent could have read the exit status: "Runtime exited with error: unknown"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: " in body["errorMessage"]
    _, after = invoke(stack, name)
    assert after["sdk_preloaded"] is True and after["pid"] != first["pid"]
    assert stack.lambdas.fork_server(function, base_environment()) is not server


def test_only_cold_starts_that_keep_coming_get_a_fork_server(stack, probe):
    name = probe(True, ForkServers(PRELOADED_MODULES, exec_first=2))
    function = stack.lambdas.get(name)
    preloaded = []
    for _ in range(4):
        preloaded.append(invoke(stack, name)[1]["sdk_preloaded"])
        function.recycle()  # the next invocation cold-starts
    assert preloaded == [False, False, True, True]


def probe_copy(tmp_path: Path, folder: str, extra: dict[str, str] | None = None) -> Path:
    """The probe's code in a folder of its own, with `extra` files (relative path -> text)."""
    code = tmp_path / folder
    shutil.copytree(FUNCTIONS / "probe", code, ignore=shutil.ignore_patterns("__pycache__"))
    for relative, text in (extra or {}).items():
        (code / relative).parent.mkdir(parents=True, exist_ok=True)
        (code / relative).write_text(text)
    return code


def test_functions_whose_sys_paths_find_the_same_sdk_share_one_server(stack, probe, tmp_path):
    first = invoke(stack, probe(True))[1]
    other = probe(True, code_dir=probe_copy(tmp_path, "other"))
    second = invoke(stack, other)[1]
    assert first["sdk_preloaded"] and second["sdk_preloaded"]
    assert first["ppid"] == second["ppid"]  # one server forked both
    assert second["sys_path"][0] == str(tmp_path / "other")  # each with its own sys.path
    assert first["boto3_file"] == second["boto3_file"]


@pytest.mark.parametrize(
    "extra",
    [
        {"boto3/__init__.py": "__version__ = 'vendored'\n"},  # its own copy of a preloaded module
        {"awscrt/__init__.py": ""},  # a module the SDK looks for, absent from the shared server
    ],
    ids=["vendored-boto3", "provides-awscrt"],
)
def test_a_function_whose_sys_path_imports_another_sdk_gets_its_own_server(
    stack, probe, tmp_path, extra
):
    shared = invoke(stack, probe(True))[1]
    own = probe(True, code_dir=probe_copy(tmp_path, "own", extra))
    body = invoke(stack, own)[1]
    assert body["ppid"] != shared["ppid"]
    if "boto3/__init__.py" in extra:
        assert body["boto3_file"] == str(tmp_path / "own" / "boto3" / "__init__.py")


def test_a_function_that_vendors_the_sdk_later_stops_sharing_the_server(stack, probe, tmp_path):
    name = probe(True, code_dir=probe_copy(tmp_path, "later"))
    shared = invoke(stack, probe(True))[1]
    assert invoke(stack, name)[1]["ppid"] == shared["ppid"]
    (tmp_path / "later" / "boto3").mkdir()
    (tmp_path / "later" / "boto3" / "__init__.py").write_text("__version__ = 'vendored'\n")
    stack.lambdas.recycle(name)  # a code update: the next invocation cold-starts
    body = invoke(stack, name)[1]
    assert body["ppid"] != shared["ppid"]
    assert body["boto3_file"] == str(tmp_path / "later" / "boto3" / "__init__.py")
