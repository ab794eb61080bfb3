"""Bootstrap of one warm Lambda worker process (the emulated Python runtime).

Started by `runtime.WorkerProcess` as `python -I -S worker.py <in_fd> <out_fd>`:
isolated mode and no `site`, so the only importable packages are the ones the parent puts on
sys.path (the function's folder, its requirements, the layer, the runtime's boto3), as in AWS.

Only the standard library may be imported here. The parent and the worker exchange framed JSON
messages (4-byte big-endian length + UTF-8 JSON) on two dedicated pipes, so the handler's own
stdout/stderr never mixes with the protocol:

    parent -> worker  {"op": "init", "sys_path": [...], "handler": "app.lambda_handler"}
                      {"op": "invoke", "request_id", "payload", "deadline_ms", "trace_id",
                       "invoked_function_arn", "client_context", "fault"}
    worker -> parent  {"t": "log", "ts", "line"}           (Python-level stdout/stderr/logging)
                      {"t": "ready", "init_ms"} | {"t": "init_error", "error"}
                      {"t": "result", "payload" | "error", "max_rss_kb"}

Log messages are sent before the result on the same pipe, so by the time the parent has the
result it has every line the invocation printed.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import resource
import struct
import sys
import threading
import time
import traceback

_HEADER = struct.Struct(">I")


class _Channel:
    def __init__(self, in_fd: int, out_fd: int):
        self._in = os.fdopen(in_fd, "rb", buffering=0)
        self._out_fd = out_fd
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        data = json.dumps(message, ensure_ascii=False, default=str).encode("utf-8")
        frame = _HEADER.pack(len(data)) + data
        with self._lock:
            view = memoryview(frame)
            while view:
                written = os.write(self._out_fd, view)
                view = view[written:]

    def _read_exact(self, size: int) -> bytes | None:
        chunks = []
        while size:
            chunk = self._in.read(size)
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> dict | None:
        header = self._read_exact(_HEADER.size)
        if header is None:
            return None
        body = self._read_exact(_HEADER.unpack(header)[0])
        return None if body is None else json.loads(body)


class _LogStream(io.TextIOBase):
    """sys.stdout / sys.stderr replacement: every complete line becomes one log event."""

    def __init__(self, channel: _Channel, name: str):
        self._channel = channel
        self._buffer = ""
        self._lock = threading.Lock()
        self.name = name

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return "utf-8"

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._buffer += text
            if "\n" not in self._buffer:
                return len(text)
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._channel.send({"t": "log", "ts": time.time() * 1000, "line": line})
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._buffer = self._buffer, ""
        if pending:
            self._channel.send({"t": "log", "ts": time.time() * 1000, "line": pending})


class _LambdaLogHandler(logging.Handler):
    """What the AWS Python runtime installs on the root logger: one event per record."""

    def __init__(self, channel: _Channel):
        super().__init__()
        self._channel = channel
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._channel.send(
                {"t": "log", "ts": record.created * 1000, "line": self.format(record)}
            )
        except Exception:  # pragma: no cover - never let logging break the handler
            self.handleError(record)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _CURRENT["request_id"]
        return True


_CURRENT: dict = {"request_id": ""}


class LambdaContext:
    """The context object the AWS Python runtime passes to the handler."""

    def __init__(self, message: dict):
        self.aws_request_id = message["request_id"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = message.get("invoked_function_arn", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = message.get("client_context")
        self.identity = None
        self.tenant_id = None
        self._deadline_ms = message["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


def _error_from_exception(exc: BaseException) -> dict:
    # Like the AWS runtime: the stack trace shows the user's frames, not the bootstrap's.
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename != __file__
        and not frame.filename.startswith("<frozen importlib")
        and "/importlib/" not in frame.filename
    ]
    return _error(type(exc).__name__, str(exc), traceback.format_list(frames))


def _log_error(channel: _Channel, error: dict) -> None:
    """The runtime's own `[ERROR]` record for an unhandled exception (one log event)."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in error["stackTrace"])
    channel.send({"t": "log", "ts": time.time() * 1000, "line": "\n".join(lines)})


def _load_handler(handler: str):
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        return None, _error("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return None, _error(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        )
    except SyntaxError as exc:
        return None, _error(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}'],
        )
    except Exception as exc:  # an exception raised while importing the module
        return None, _error_from_exception(exc)
    function = getattr(module, function_name, None)
    if function is None:
        return None, _error(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return function, None


def _decimal_default(value):
    # The AWS runtime's marshaller turns Decimal into a JSON number.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _peak_rss_kb() -> int:
    # VmHWM is this process's own peak (ru_maxrss would include the parent's before exec).
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    channel = _Channel(int(sys.argv[1]), int(sys.argv[2]))
    stdout = _LogStream(channel, "<stdout>")
    stderr = _LogStream(channel, "<stderr>")
    sys.stdout, sys.stderr = stdout, stderr

    init = channel.receive()
    if init is None:
        return
    started = time.perf_counter()
    if sys.path[: len(init["sys_path"])] != init["sys_path"]:  # a fork server has set it
        sys.path[:0] = init["sys_path"]
    os.chdir(init["sys_path"][0])

    root = logging.getLogger()
    handler = _LambdaLogHandler(channel)
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)

    function, init_error = _load_handler(init["handler"])
    stdout.flush()
    stderr.flush()
    if init_error is not None:
        _log_error(channel, init_error)
        channel.send({"t": "init_error", "error": init_error})
        return
    channel.send({"t": "ready", "init_ms": (time.perf_counter() - started) * 1000})

    while True:
        message = channel.receive()
        if message is None or message.get("op") == "shutdown":
            return
        _CURRENT["request_id"] = message["request_id"]
        # The header the runtime built (local_aws/xray/trace_header.py), passed on verbatim as
        # Lambda does: this bootstrap may import only the standard library (see the module doc),
        # so it never parses the header; aws-xray-sdk in the function reads it from here.
        os.environ["_X_AMZN_TRACE_ID"] = message.get("trace_id") or ""
        if message.get("fault") == "crash":
            os._exit(1)
        reply: dict = {"t": "result"}
        try:
            event = json.loads(message["payload"]) if message.get("payload") else {}
            result = function(event, LambdaContext(message))
        except Exception as exc:
            error = _error_from_exception(exc)
            error["requestId"] = message["request_id"]
            reply["error"] = error
            stdout.flush()
            stderr.flush()
            _log_error(channel, error)
        else:
            try:
                reply["payload"] = json.dumps(result, default=_decimal_default)
            except (TypeError, ValueError) as exc:
                reply["error"] = _error(
                    "Runtime.MarshalError", f"Unable to marshal response: {exc}"
                )
        stdout.flush()
        stderr.flush()
        reply["max_rss_kb"] = _peak_rss_kb()
        channel.send(reply)


if __name__ == "__main__":
    main()
