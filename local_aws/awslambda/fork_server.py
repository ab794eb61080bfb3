"""Fork server of the emulated Python runtime: starts Lambda workers by fork, not by exec.

Started by `forking.ForkServer` as `python -I -S fork_server.py <socket_fd> <module>...` with the
sys.path of one function (its code, its requirements, the layers, the runtime's boto3) in
LOCAL_AWS_SYS_PATH. It imports the runtime's SDK modules (`boto3`) once and then forks one child
per worker, for that function or any other whose sys.path finds every module of that import in
the same place (forking.py decides, from the names this server reports). A child is set up the
way `runtime.WorkerProcess` would have exec'd `python -I -S worker.py` (its own session,
stdout/stderr on the output pipe, stdin /dev/null, the worker's environment, cwd and sys.path)
and runs worker.py's `main()`: the function's own code is imported in the child, by its init
phase, exactly as in a fresh worker. Only the SDK import is skipped, which is why a cold start
here costs less than half the CPU (docs/fidelity.md, "Lambda cold start").

Only the standard library may be imported here (besides the preloaded modules). Protocol on a
SOCK_SEQPACKET socket (one JSON message per packet):

    server -> runtime  {"t": "ready", "imported": [...], "not_found": [...]}  (once: the top-level
                       names the preload imported, and those it tried to import and found nowhere)
    runtime -> server  {"op": "spawn", "env": {...}, "cwd": ..., "sys_path": [...]}
                       with the fds [to_worker_r, from_worker_w, output_w] (SCM_RIGHTS)
    server -> runtime  {"t": "spawned", "pid"} | {"t": "spawn_error", "error"}
                       {"t": "exit", "pid", "returncode"}   (Popen's convention: -N = signal N)

The server exits when the runtime closes its end; the workers it started keep running until the
runtime stops them (they are in their own sessions, as exec'd workers are).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

_MAX_PACKET = 1 << 20


def _load_worker():
    spec = importlib.util.spec_from_file_location(
        "local_aws_worker", Path(__file__).resolve().with_name("worker.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _child(worker, fds: list[int], request: dict, sock: socket.socket, wake: tuple) -> None:
    """In the forked child: become the worker process; never returns."""
    code = 1
    try:
        gc.enable()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sock.close()
        for fd in wake:
            os.close(fd)
        os.setsid()
        to_worker_r, from_worker_w, output_w = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output_w, 1)
        os.dup2(output_w, 2)
        os.close(devnull)
        os.close(output_w)
        os.chdir(request["cwd"])
        sys.path[: _PREFIX_LENGTH[0]] = request["sys_path"]  # the function's, not the server's
        os.environ.clear()
        os.environ.update(request["env"])
        for name, value in _STARTUP_ADDED.items():  # e.g. LC_CTYPE from locale coercion
            os.environ.setdefault(name, value)
        time.tzset()  # TZ may differ from the server's
        sys.argv = [str(Path(worker.__file__)), str(to_worker_r), str(from_worker_w)]
        worker.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # what the interpreter would print for an uncaught exception
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the process is ending either way
                stream.flush()
        os._exit(code)


def serve(sock: socket.socket, worker) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)

    def send(message: dict) -> None:
        sock.send(json.dumps(message).encode())

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            send({"t": "exit", "pid": pid, "returncode": os.waitstatus_to_exitcode(status)})

    while True:
        ready, _, _ = select.select([sock, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            reap()
        if sock in ready:
            data, fds, _flags, _addr = socket.recv_fds(sock, _MAX_PACKET, 3)
            if not data:
                return
            request = json.loads(data)
            gc.freeze()  # see main()
            try:
                pid = os.fork()
            except OSError as exc:
                for fd in fds:
                    os.close(fd)
                send({"t": "spawn_error", "error": str(exc)})
                continue
            if pid == 0:
                _child(worker, fds, request, sock, (wake_r, wake_w))
            for fd in fds:
                os.close(fd)
            send({"t": "spawned", "pid": pid})
        reap()  # a SIGCHLD between select() and now is not lost either way


# What the interpreter added to the environment it was given while starting (PEP 538's LC_CTYPE):
# an exec'd worker started with the same locale variables would have the same additions.
_STARTUP_ADDED: dict[str, str] = {}


_PREFIX_LENGTH = [0]  # how many sys.path entries at the front are the server's function's


class _NotFound:
    """Last on sys.meta_path while preloading: records the top-level imports nothing could find
    (optional dependencies such as botocore's awscrt), which another sys.path might provide."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def find_spec(self, name, path=None, target=None):
        if path is None:
            self.names.add(name)
        return None


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    prefix = json.loads(os.environ.pop("LOCAL_AWS_SYS_PATH"))
    given = set(json.loads(os.environ.pop("LOCAL_AWS_GIVEN_ENV")))
    _STARTUP_ADDED.update({k: v for k, v in os.environ.items() if k not in given})
    not_found = _NotFound()
    # What the gc docs advise for a process that forks without exec: no collections in the server,
    # its objects frozen before each fork, collections again in the child. A child's collections
    # then skip the preloaded SDK's objects instead of walking (and copying) them: ~30 ms less CPU
    # per cold start. https://docs.python.org/3/library/gc.html#gc.freeze
    gc.disable()
    try:
        # worker.py's own imports first, with the standard library only (as an exec'd worker
        # imports them before it gets the function's sys.path), then the SDK with that sys.path.
        worker = _load_worker()
        sys.path[:0] = prefix
        _PREFIX_LENGTH[0] = len(prefix)
        before = set(sys.modules)
        sys.meta_path.append(not_found)
        for module in sys.argv[2:]:
            importlib.import_module(module)
        sys.meta_path.remove(not_found)
    except BaseException:
        sock.send(json.dumps({"t": "preload_error", "error": traceback.format_exc()}).encode())
        return
    imported = {name.partition(".")[0] for name in set(sys.modules) - before}
    ready = {"t": "ready", "imported": sorted(imported), "not_found": sorted(not_found.names)}
    sock.send(json.dumps(ready).encode())
    serve(sock, worker)


if __name__ == "__main__":
    main()
