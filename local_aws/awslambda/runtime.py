"""A Docker-free Lambda runtime: each function runs in warm worker processes.

A worker is `python -I -S local_aws/awslambda/worker.py` whose sys.path holds exactly what the
function would see in AWS: its code folder, its own installed requirements, the layers (and their
requirements) and the boto3 the runtime ships. Workers are reused across invocations; more are
started when invocations overlap, up to a bound per function (further calls wait for a free
worker, without polling). Errors, timeouts and crashes come back the way Lambda reports them;
stdout/stderr go to CloudWatch Logs `/aws/lambda/<name>` with START/END/REPORT lines; EMF lines
become CloudWatch metrics.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import math
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from local_aws import config as settings
from local_aws.awslambda.cloudwatch import CloudWatchSink
from local_aws.awslambda.forking import LOCALE, ForkServers, ForkServerUnavailable
from local_aws.awslambda.packages import install_requirements, runtime_path
from local_aws.xray.trace_header import child_header, trace_parent, trace_root

LOG = logging.getLogger("local_aws.lambda")
_PLACEHOLDER_ZIP = base64.b64encode(
    b"PK\x05\x06" + b"\x00" * 18  # an empty zip archive: moto only stores it
).decode()
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
# What the runtime ships and every Python function imports (runtime_requirements.txt): the fork
# server imports it once per sys.path, so a cold start skips only this import.
PRELOADED_MODULES = ("boto3",)
INIT_TIMEOUT_S = 10.0  # AWS limits the init phase of on-demand functions to 10 s
_HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class LayerSpec:
    """A layer: content_dir holds the importable packages (what AWS mounts at /opt/python)."""

    name: str
    content_dir: Path


@dataclass
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str = "app.lambda_handler"
    environment: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    timeout_s: float = 3.0
    layers: list[LayerSpec] = field(default_factory=list)
    runtime: str = "python3.12"
    role: str | None = None  # the execution role's ARN (its credentials go to the workers)


@dataclass
class InvocationRecord:
    """Facts about one invocation (read by tests, the benchmark and the inspection tools)."""

    function: str
    request_id: str
    cold: bool
    init_ms: float | None
    duration_ms: float
    billed_ms: int
    max_memory_mb: int
    trace_id: str
    error_type: str | None
    worker_pid: int | None
    log_stream: str | None
    started_at: float  # epoch seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InvokeResult:
    status_code: int
    payload: bytes
    function_error: str | None
    request_id: str
    log_tail: str = ""
    record: InvocationRecord | None = None


class FunctionNotFound(LookupError):
    pass


class WorkerDied(RuntimeError):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class WorkerTimedOut(RuntimeError):
    pass


def _exit_detail(returncode: int | None) -> str:
    if returncode is None:
        return "Runtime exited with error: unknown"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name.removeprefix("SIG").lower()
        except ValueError:
            name = str(-returncode)
        name = {"kill": "killed", "segv": "segmentation fault", "abrt": "aborted"}.get(name, name)
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {returncode}"


def base_environment() -> dict[str, str]:
    """The variables every worker (and fork server) starts with, before the function's own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "HOME": os.environ.get("HOME", "/tmp"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }


class WorkerProcess:
    """One warm worker of one function."""

    def __init__(self, function: RegisteredFunction, env: dict[str, str]):
        self.function = function
        self.log_stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            self.process = self._start(function, env, to_worker_r, from_worker_w, output_w)
        finally:
            for fd in (to_worker_r, from_worker_w, output_w):
                os.close(fd)
        self.pid = self.process.pid
        self._to_worker = to_worker_w
        self._from_worker = from_worker_r
        self._buffer = bytearray()
        self.invocations = 0
        self.dead = False
        self.generation = function.generation  # retired by RegisteredFunction.recycle
        # Anything written at file-descriptor level (C extensions, subprocesses, a dying
        # interpreter) bypasses the worker's Python-level capture: forward it to the same stream.
        self._output_thread = threading.Thread(
            target=self._forward_output,
            args=(output_r,),
            daemon=True,
            name=f"lambda-output-{function.spec.name}-{self.pid}",
        )
        self._output_thread.start()

    @staticmethod
    def _start(function, env, to_worker_r, from_worker_w, output_w):
        cwd = str(function.spec.code_dir)
        server = function.runtime.fork_server(function, env)
        if server is not None:
            try:
                fds = (to_worker_r, from_worker_w, output_w)
                return server.spawn(fds, env, cwd, function.sys_path)
            except ForkServerUnavailable as exc:
                LOG.warning("%s: starting the worker with exec: %s", function.spec.name, exc)
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(WORKER_SCRIPT), str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w),
            stdin=subprocess.DEVNULL,
            stdout=output_w,
            stderr=output_w,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )

    def _forward_output(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.function.sink.put_log_events(
                    self.function.log_group, self.log_stream, [(time.time() * 1000, line)]
                )

    def send(self, message: dict) -> None:
        data = json.dumps(message).encode("utf-8")
        try:
            os.write(self._to_worker, _HEADER.pack(len(data)) + data)
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(self._died()) from exc

    def receive(self, deadline: float) -> dict:
        """Next message from the worker; waits (select, no polling) until `deadline` (monotonic)."""
        while True:
            if len(self._buffer) >= _HEADER.size:
                size = _HEADER.unpack_from(self._buffer)[0]
                if len(self._buffer) >= _HEADER.size + size:
                    body = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
                    del self._buffer[: _HEADER.size + size]
                    return json.loads(body)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimedOut()
            ready, _, _ = select.select([self._from_worker], [], [], remaining)
            if not ready:
                raise WorkerTimedOut()
            chunk = os.read(self._from_worker, 1 << 16)
            if not chunk:
                raise WorkerDied(self._died())
            self._buffer += chunk

    def _died(self) -> str:
        self.dead = True
        try:
            returncode = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            returncode = None
        self.close()
        return _exit_detail(returncode)

    def peak_rss_kb(self) -> int:
        """The worker's peak resident memory (VmHWM), 0 if it is gone."""
        try:
            with open(f"/proc/{self.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def kill(self) -> None:
        self.dead = True
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()
        self.close()

    def shutdown(self) -> None:
        if not self.dead:
            with contextlib.suppress(WorkerDied):
                self.send({"op": "shutdown"})
        self.kill()

    def close(self) -> None:
        for attr in ("_to_worker", "_from_worker"):
            fd = getattr(self, attr, None)
            if fd is not None:
                setattr(self, attr, None)
                with contextlib.suppress(OSError):
                    os.close(fd)


class RegisteredFunction:
    """A function's spec, resolved sys.path and worker pool."""

    def __init__(self, runtime: LambdaRuntime, spec: FunctionSpec, sys_path: list[str]):
        self.runtime = runtime
        self.spec = spec
        self.sys_path = sys_path
        self.sink = runtime.sink
        self.arn = f"arn:aws:lambda:{runtime.region}:{runtime.account_id}:function:{spec.name}"
        self.log_group = f"/aws/lambda/{spec.name}"
        self._idle: list[WorkerProcess] = []
        self._all: set[WorkerProcess] = set()
        self._starting = 0
        self._cond = threading.Condition()
        self.closed = False
        self.generation = 0  # bumped by recycle(): older workers are not reused

    # -- pool ---------------------------------------------------------------------------------
    def acquire(self) -> WorkerProcess | None:
        """An idle warm worker, or None when the caller should start one (a cold start)."""
        with self._cond:
            while True:
                if self.closed:
                    raise FunctionNotFound(self.spec.name)
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._starting < self.runtime.max_workers_per_function:
                    self._starting += 1
                    return None
                self._cond.wait()

    def reserve_start(self, target: int) -> bool:
        """Reserve a worker start if fewer than `target` workers exist (or are starting)."""
        with self._cond:
            total = len(self._all) + self._starting
            if self.closed or total >= min(target, self.runtime.max_workers_per_function):
                return False
            self._starting += 1
            return True

    def adopt(self, worker: WorkerProcess | None) -> None:
        """Count a started worker (or a failed start) against the pool bound."""
        with self._cond:
            self._starting -= 1
            if worker is not None:
                self._all.add(worker)
            self._cond.notify()

    def release(self, worker: WorkerProcess) -> None:
        with self._cond:
            retire = worker.dead or self.closed or worker.generation != self.generation
            if retire:
                self._all.discard(worker)
            else:
                self._idle.append(worker)
            self._cond.notify()
        if retire:
            worker.kill()

    def recycle(self) -> int:
        """Retire every warm worker (the code changed, as after UpdateFunctionCode on AWS): idle
        ones stop now, busy ones when their invocation ends; the next invocation cold-starts.
        Returns how many workers were retired."""
        # A .pyc is trusted when the source's mtime (whole seconds) and size match: an edit of the
        # same size within the second of the last import would be hidden by the old bytecode.
        for folder in (self.spec.code_dir, *(layer.content_dir for layer in self.spec.layers)):
            for cache in Path(folder).rglob("__pycache__"):
                shutil.rmtree(cache, ignore_errors=True)
        # The last entry is the runtime's own boto3, which no function's update changes.
        self.runtime.fork_servers.discard(self.sys_path[:-1])
        with self._cond:
            self.generation += 1
            idle, self._idle = self._idle, []
            retired = len(self._all)
            self._all.difference_update(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.shutdown()
        return retired

    def discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._cond:
            self._all.discard(worker)
            self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self.closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.shutdown()

    @property
    def worker_pids(self) -> list[int]:
        with self._cond:
            return sorted(worker.pid for worker in self._all)

    # -- workers ------------------------------------------------------------------------------
    def environment(self, log_stream: str) -> dict[str, str]:
        spec, runtime = self.spec, self.runtime
        env = base_environment()
        env.update(spec.environment)
        env.update(runtime.extra_env)
        env.update(
            {
                "AWS_ENDPOINT_URL": runtime.endpoint_url(),
                "AWS_REGION": runtime.region,
                "AWS_DEFAULT_REGION": runtime.region,
                **self._credentials(),
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "LAMBDA_TASK_ROOT": str(spec.code_dir),
                "LAMBDA_RUNTIME_DIR": self.sys_path[-1],
                "_HANDLER": spec.handler,
            }
        )
        return env

    def _credentials(self) -> dict[str, str]:
        provider = self.runtime.role_credentials
        role = self.spec.role
        role_environment = provider(role, self.spec.name) if provider and role else None
        if role_environment is not None:
            return role_environment
        return {
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "local-aws-secret",
            "AWS_SESSION_TOKEN": "local-aws-session-token",
        }

    def start_worker(self) -> tuple[WorkerProcess, float, dict | None]:
        """Start and initialise a worker: (worker, init ms, init error or None)."""
        now = dt.datetime.now(dt.UTC)
        log_stream = f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        started = time.monotonic()
        worker = WorkerProcess(self, self.environment(log_stream))
        try:
            worker.send({"op": "init", "sys_path": self.sys_path, "handler": self.spec.handler})
            events: list[tuple[float, str]] = []
            deadline = started + INIT_TIMEOUT_S
            while True:
                message = worker.receive(deadline)
                if message["t"] == "log":
                    events.append((message["ts"], message["line"]))
                    continue
                break
        except WorkerTimedOut:
            worker.kill()
            message = {
                "t": "init_error",
                "error": {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"INIT timed out after {INIT_TIMEOUT_S:.2f} seconds",
                    "stackTrace": [],
                },
            }
            events = []
        except WorkerDied as died:
            message = {
                "t": "init_error",
                "error": {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"Error: {died.detail}",
                    "stackTrace": [],
                },
            }
            events = []
        init_ms = (time.monotonic() - started) * 1000
        self.sink.put_log_events(self.log_group, log_stream, events)
        if message["t"] == "init_error":
            return worker, init_ms, message["error"]
        return worker, init_ms, None


class LambdaRuntime:
    """All registered functions; `invoke` is what the Lambda Invoke API calls."""

    def __init__(
        self,
        endpoint_url: Callable[[], str],
        account_id: str = settings.DEFAULT_ACCOUNT_ID,
        region: str = settings.DEFAULT_REGION,
        max_workers_per_function: int | None = None,
    ):
        self.endpoint_url = endpoint_url
        self.account_id = account_id
        self.region = region
        self.max_workers_per_function = (
            max_workers_per_function or settings.max_workers_per_function()
        )
        self.sink = CloudWatchSink(account_id, region)
        self.extra_env: dict[str, str] = {}
        # (role ARN, function name) -> the role session's AWS_* variables, as Lambda injects
        # them (None for a role IAM does not know); unset: full-access credentials for all.
        self.role_credentials: Callable[[str, str], dict[str, str] | None] | None = None
        self.invocations: list[InvocationRecord] = []
        # Called after each invocation with (record, the caller's X-Amzn-Trace-Id or None),
        # e.g. by local X-Ray to record the function's segments. Must not raise.
        self.invocation_listeners: list[Callable[[InvocationRecord, str | None], None]] = []
        self._functions: dict[str, RegisteredFunction] = {}
        self._lock = threading.Lock()
        # Workers are forked from a server that has imported the SDK the runtime ships
        # (forking.py); LOCAL_AWS_LAMBDA_FORK_SERVER=0: every worker starts with exec.
        self.fork_servers = ForkServers(PRELOADED_MODULES)
        self.use_fork_server = settings.lambda_fork_server()
        self._event_threads: set[threading.Thread] = set()

    # -- registry -----------------------------------------------------------------------------
    def register(self, spec: FunctionSpec) -> str:
        """Register (or replace) a function; installs its requirements (cached). Returns its ARN."""
        spec.code_dir = Path(spec.code_dir).resolve()
        sys_path = [str(spec.code_dir)]
        sys_path += _requirements_dir(spec.code_dir)
        for layer in spec.layers:
            content = Path(layer.content_dir).resolve()
            sys_path.append(str(content))
            sys_path += _requirements_dir(content)
        sys_path.append(str(runtime_path()))
        function = RegisteredFunction(self, spec, sys_path)
        with self._lock:
            previous = self._functions.get(spec.name)
            self._functions[spec.name] = function
        if previous is not None:
            previous.shutdown()
        self._mirror_in_moto(spec)
        return function.arn

    def _mirror_in_moto(self, spec: FunctionSpec) -> None:
        """Create the function in moto's Lambda backend too, so GetFunction/ListFunctions see it
        (moto never runs it: Invoke is answered by this runtime). Best effort."""
        try:
            from moto.awslambda.models import lambda_backends
            from moto.iam.models import iam_backends

            from local_aws.iam.trust import trust_policy

            iam = iam_backends[self.account_id]["aws"]
            role = "local-aws-lambda"
            if role not in {r.name for r in iam.roles.values()}:
                trust = trust_policy("lambda.amazonaws.com")
                iam.create_role(role, json.dumps(trust), "/", None, "local_aws", [], None)
            backend = lambda_backends[self.account_id][self.region]
            with contextlib.suppress(Exception):
                backend.delete_function(spec.name, None)
            backend.create_function(
                {
                    "FunctionName": spec.name,
                    "Runtime": spec.runtime,
                    "Role": spec.role or f"arn:aws:iam::{self.account_id}:role/{role}",
                    "Handler": spec.handler,
                    "Code": {"ZipFile": _PLACEHOLDER_ZIP},
                    "Timeout": math.ceil(spec.timeout_s),
                    "MemorySize": spec.memory_mb,
                    "Environment": {"Variables": dict(spec.environment)},
                    "Description": f"local_aws: runs from {spec.code_dir}",
                }
            )
        except Exception:  # never let the mirror break registration
            LOG.debug("could not mirror %s in moto's Lambda backend", spec.name, exc_info=True)

    def unregister(self, name: str) -> None:
        with self._lock:
            function = self._functions.pop(name, None)
        if function is not None:
            function.shutdown()
        with contextlib.suppress(Exception):
            from moto.awslambda.models import lambda_backends

            lambda_backends[self.account_id][self.region].delete_function(name, None)

    def get(self, name_or_arn: str) -> RegisteredFunction:
        name = function_name_from(name_or_arn)
        with self._lock:
            function = self._functions.get(name)
        if function is None:
            raise FunctionNotFound(name)
        return function

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        with self._lock:
            return {name: fn.spec for name, fn in self._functions.items()}

    def worker_pids(self, name: str) -> list[int]:
        return self.get(name).worker_pids

    def recycle(self, name: str) -> int:
        """Retire the function's warm workers (see RegisteredFunction.recycle)."""
        return self.get(name).recycle()

    def warm(self, name: str, count: int = 1) -> int:
        """Start workers ahead of traffic (like provisioned concurrency) until `count` exist
        (bounded by max_workers_per_function); returns how many were started. Their first
        invocation is then warm; the init shows in the worker's log stream, not in a REPORT."""
        function = self.get(name)
        started = 0
        while function.reserve_start(count):
            try:
                worker, _init_ms, error = function.start_worker()
            except BaseException:
                function.adopt(None)
                raise
            function.adopt(None if error else worker)
            if error:
                worker.kill()
                raise RuntimeError(f"{name} failed to initialise: {error}")
            function.release(worker)
            started += 1
        return started

    def fork_server(self, function: RegisteredFunction, env: dict[str, str]):
        """The fork server for a worker of `function` with environment `env`, or None: start
        it with exec."""
        if not self.use_fork_server:
            return None
        locale = {k: v for k, v in env.items() if k in LOCALE}
        return self.fork_servers.get(function.sys_path, {**base_environment(), **locale})

    def shutdown(self) -> None:
        with self._lock:
            functions = list(self._functions.values())
            self._functions.clear()
        for function in functions:
            function.shutdown()
        self.fork_servers.shutdown()
        for thread in list(self._event_threads):
            thread.join(timeout=1)

    # -- invocation ---------------------------------------------------------------------------
    def invoke(
        self,
        name_or_arn: str,
        payload: bytes | str | None = b"{}",
        *,
        invocation_type: str = "RequestResponse",
        trace_header: str | None = None,
        client_context: str | None = None,
        log_type: str | None = None,
        fault: str | None = None,
    ) -> InvokeResult:
        """Invoke a function like the Lambda Invoke API.

        fault: None, "crash" (the worker exits mid-invocation) or "timeout" (the invocation is
        treated as having run out of time, without waiting for it).
        """
        function = self.get(name_or_arn)
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        payload = payload or b"{}"
        json.loads(payload)  # the API rejects a non-JSON payload (caller maps it to a 400)
        request_id = str(uuid.uuid4())
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, request_id)
        if invocation_type == "Event":
            thread = threading.Thread(
                target=self._invoke_event,
                args=(function, payload, request_id, trace_header, client_context, fault),
                daemon=True,
            )
            self._event_threads.add(thread)
            thread.start()
            return InvokeResult(202, b"", None, request_id)
        return self._invoke(
            function, payload, request_id, trace_header, client_context, log_type, fault
        )

    def _invoke_event(self, function, payload, request_id, trace_header, client_context, fault):
        try:
            self._invoke(function, payload, request_id, trace_header, client_context, None, fault)
        finally:
            self._event_threads.discard(threading.current_thread())

    def _invoke(
        self,
        function: RegisteredFunction,
        payload: bytes,
        request_id: str,
        trace_header: str | None,
        client_context: str | None,
        log_type: str | None,
        fault: str | None,
    ) -> InvokeResult:
        spec = function.spec
        # The caller's trace (or a new one), with a new parent: this function's segment.
        trace = child_header(trace_header)
        started_at = time.time()
        worker = function.acquire()
        cold = worker is None
        init_ms: float | None = None
        error: dict | None = None
        result_payload: bytes = b""
        max_rss_kb = 0
        events: list[tuple[float, str]] = []
        init_failed = False
        if worker is None:
            try:
                worker, init_ms, error = function.start_worker()
            except BaseException:
                function.adopt(None)
                raise
            init_failed = error is not None
            function.adopt(None if init_failed else worker)
            if init_failed:
                worker.kill()  # AWS initialises a fresh environment on the next invocation
        log_stream = worker.log_stream
        start_ms = time.time() * 1000
        events.append((start_ms, f"START RequestId: {request_id} Version: $LATEST"))
        began = time.monotonic()
        status = None
        if error is None:
            try:
                if fault == "timeout":
                    raise WorkerTimedOut()
                worker.send(
                    {
                        "op": "invoke",
                        "request_id": request_id,
                        "payload": payload.decode("utf-8"),
                        "deadline_ms": start_ms + spec.timeout_s * 1000,
                        "trace_id": trace,
                        "invoked_function_arn": function.arn,
                        "client_context": client_context,
                        "fault": fault,
                    }
                )
                deadline = began + spec.timeout_s
                while True:
                    message = worker.receive(deadline)
                    if message["t"] == "log":
                        events.append((message["ts"], message["line"]))
                        continue
                    max_rss_kb = message.get("max_rss_kb", 0)
                    if "error" in message:
                        error = message["error"]
                    else:
                        result_payload = message["payload"].encode("utf-8")
                    break
            except WorkerTimedOut:
                status = "timeout"
                max_rss_kb = worker.peak_rss_kb()
                error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": (
                        f"RequestId: {request_id} Error: Task timed out after "
                        f"{spec.timeout_s:.2f} seconds"
                    ),
                }
                events.append(
                    (
                        time.time() * 1000,
                        f"{_iso_now()} {request_id} Task timed out after "
                        f"{spec.timeout_s:.2f} seconds",
                    )
                )
            except WorkerDied as died:
                status = "error"
                error = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {request_id} Error: {died.detail}",
                }
                events.append((time.time() * 1000, f"RequestId: {request_id} Error: {died.detail}"))
        duration_ms = (time.monotonic() - began) * 1000
        if status == "timeout":
            duration_ms = max(duration_ms, spec.timeout_s * 1000)
        if init_failed:
            pass
        elif status is not None or worker.dead:
            function.discard(worker)  # a timed-out or crashed environment is never reused
        else:
            function.release(worker)
        worker.invocations += 1

        billed_ms = max(1, math.ceil(duration_ms))
        memory_used = max(1, round(max_rss_kb / 1024)) if max_rss_kb else 0
        end_ms = time.time() * 1000
        events.append((end_ms, f"END RequestId: {request_id}"))
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {billed_ms} ms\tMemory Size: {spec.memory_mb} MB\t"
            f"Max Memory Used: {memory_used} MB\t"
        )
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        if status:
            report += f"Status: {status}\t"
        root, parent = trace_root(trace), trace_parent(trace)
        report += f"\nXRAY TraceId: {root}\tSegmentId: {parent}\tSampled: true\t"
        events.append((end_ms, report))
        function.sink.put_log_events(function.log_group, log_stream, events)
        function.sink.put_emf(line for _, line in events)

        record = InvocationRecord(
            function=spec.name,
            request_id=request_id,
            cold=cold,
            init_ms=round(init_ms, 3) if init_ms is not None else None,
            duration_ms=round(duration_ms, 3),
            billed_ms=billed_ms,
            max_memory_mb=memory_used,
            trace_id=trace,
            error_type=error.get("errorType") if error else None,
            worker_pid=worker.pid,
            log_stream=log_stream,
            started_at=started_at,
        )
        self.invocations.append(record)
        for listener in self.invocation_listeners:
            try:
                listener(record, trace_header)
            except Exception:  # an observer must never break an invocation
                logging.getLogger("local_aws.lambda").exception("invocation listener failed")

        function_error = None
        if error is not None:
            function_error = "Unhandled"
            body = {
                "errorMessage": error.get("errorMessage", ""),
                "errorType": error.get("errorType", "Exception"),
            }
            if "requestId" in error:
                body["requestId"] = error["requestId"]
            if error.get("stackTrace") or error["errorType"] not in (
                "Sandbox.Timedout",
                "Runtime.ExitError",
            ):
                body["stackTrace"] = error.get("stackTrace", [])
            result_payload = json.dumps(body).encode("utf-8")
        log_tail = ""
        if log_type == "Tail":
            text = "\n".join(line for _, line in events) + "\n"
            log_tail = base64.b64encode(text.encode("utf-8")[-4096:]).decode("ascii")
        return InvokeResult(200, result_payload, function_error, request_id, log_tail, record)


def _requirements_dir(folder: Path) -> list[str]:
    requirements = folder / "requirements.txt"
    return [str(install_requirements(requirements))] if requirements.is_file() else []


def _iso_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def function_name_from(name_or_arn: str) -> str:
    """Accept a name, a full or partial ARN, with or without a `:qualifier`."""
    value = name_or_arn
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    parts = value.split(":")
    if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
        return parts[2]
    return parts[0]
