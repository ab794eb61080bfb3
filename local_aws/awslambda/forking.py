"""The runtime's side of fork_server.py: one fork server per distinct function sys.path.

A cold start of a Python worker spends over half of its CPU importing the SDK (boto3, botocore,
urllib3, s3transfer): 260-350 ms exec'd against 100-160 ms forked (docs/local-stack.md). The fork
server imports the runtime's SDK once per sys.path and forks each worker from there; everything
the function itself does at init (its imports, its module-scope clients) still happens in the
new worker. LOCAL_AWS_LAMBDA_FORK_SERVER=0 starts every worker with exec instead.

Why not multiprocessing's forkserver: it starts Python callables with pickled arguments in a
process that shares our sys.path and site-packages; a worker must see exactly the function's
sys.path, its own environment, cwd and session, and the runtime must learn each worker's exit
status (crash details such as "signal: killed"), which this small protocol gives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

LOG = logging.getLogger("local_aws.lambda")
FORK_SERVER_SCRIPT = Path(__file__).resolve().parent / "fork_server.py"
_MAX_PACKET = 1 << 20
_START_TIMEOUT_S = 30.0
_SPAWN_TIMEOUT_S = 10.0
# The variables the interpreter's start-up reads (PEP 538 locale coercion; -I ignores PYTHON*).
LOCALE = ("LANG", "LC_ALL", "LC_CTYPE")


class ForkServerUnavailable(RuntimeError):
    """The fork server could not start or has gone: start the worker with exec instead."""


class ForkedProcess:
    """What `runtime.WorkerProcess` uses of subprocess.Popen, for a worker the server forked."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _set_exited(self, returncode: int | None) -> None:
        self.returncode = returncode
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        return self.returncode


class ForkServer:
    """One running fork_server.py, with the given sys.path and SDK modules imported."""

    def __init__(self, sys_path: list[str], env: dict[str, str], modules: tuple[str, ...]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    str(FORK_SERVER_SCRIPT),
                    str(theirs.fileno()),
                    *modules,
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={
                    **env,
                    "LOCAL_AWS_SYS_PATH": json.dumps(sys_path),
                    "LOCAL_AWS_GIVEN_ENV": json.dumps(sorted(env)),
                },
                cwd=sys_path[0],
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._sock = ours
        self._sock.settimeout(_START_TIMEOUT_S)
        try:
            first = json.loads(self._sock.recv(_MAX_PACKET) or b'{"t": "eof"}')
        except (OSError, ValueError) as exc:
            self.close()
            raise ForkServerUnavailable(f"fork server did not start: {exc}") from exc
        if first.get("t") != "ready":
            self.close()
            raise ForkServerUnavailable(f"fork server did not start: {first.get('error', first)}")
        self._sock.settimeout(None)
        self._spawn_lock = threading.Lock()
        self._replies: queue.Queue = queue.Queue()
        self._children: dict[int, ForkedProcess] = {}
        self._children_lock = threading.Lock()
        self.alive = True
        self._reader = threading.Thread(
            target=self._read, daemon=True, name=f"lambda-fork-server-{self.process.pid}"
        )
        self._reader.start()

    def spawn(self, fds: tuple[int, int, int], env: dict[str, str], cwd: str) -> ForkedProcess:
        """Fork a worker whose pipes are `fds` (to_worker_r, from_worker_w, output_w)."""
        request = json.dumps({"op": "spawn", "env": env, "cwd": cwd}).encode()
        with self._spawn_lock:
            if not self.alive:
                raise ForkServerUnavailable("fork server has exited")
            try:
                socket.send_fds(self._sock, [request], list(fds))
                reply = self._replies.get(timeout=_SPAWN_TIMEOUT_S)
            except (OSError, queue.Empty) as exc:
                # A late reply would be taken for the next spawn's: never use this server again.
                self.alive = False
                raise ForkServerUnavailable(f"fork server did not answer: {exc!r}") from exc
        if isinstance(reply, ForkedProcess):
            return reply
        raise ForkServerUnavailable(str(reply))

    def _read(self) -> None:
        try:
            while True:
                data = self._sock.recv(_MAX_PACKET)
                if not data:
                    break
                message = json.loads(data)
                if message["t"] == "spawned":
                    child = ForkedProcess(message["pid"])
                    with self._children_lock:
                        self._children[child.pid] = child
                    self._replies.put(child)
                elif message["t"] == "spawn_error":
                    self._replies.put(message["error"])
                elif message["t"] == "exit":
                    with self._children_lock:
                        child = self._children.pop(message["pid"], None)
                    if child is not None:
                        child._set_exited(message["returncode"])
        except OSError:
            pass
        finally:
            self.alive = False
            self._replies.put("fork server has exited")
            with self._children_lock:
                orphans, self._children = list(self._children.values()), {}
            for child in orphans:  # nobody reports their exit any more: watch for it
                threading.Thread(target=_watch_orphan, args=(child,), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader, and the server exits
        with contextlib.suppress(OSError):
            self._sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _watch_orphan(child: ForkedProcess) -> None:
    """Wait for a worker whose fork server died: gone, or a zombie nobody reaps (a container's
    init may not). Its exit status is lost with its parent: returncode None ("unknown")."""
    while True:
        try:
            with open(f"/proc/{child.pid}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    break
        except (OSError, IndexError):
            break
        time.sleep(0.05)
    child._set_exited(None)


class ForkServers:
    """The fork servers of one runtime, by sys.path.

    Keyed by the exact sys.path (and locale): an SDK imported with another sys.path could have
    found other optional modules (botocore uses awscrt when it can import it). A server costs
    about two exec'd cold starts to start, so the first `exec_first` cold starts of a key are
    exec'd and only a key that keeps cold-starting (crashes, timeouts, scaling out) gets one:
    in `make test` most of ~40 sys.paths cold-start once or twice."""

    def __init__(self, modules: tuple[str, ...], exec_first: int = 2) -> None:
        self.modules = modules
        self.exec_first = exec_first
        self._servers: dict[tuple, ForkServer | None] = {}
        self._starting: dict[tuple, threading.Lock] = {}
        self._cold_starts: dict[tuple, int] = {}
        self._lock = threading.Lock()

    def get(self, sys_path: list[str], env: dict[str, str]) -> ForkServer | None:
        """The server for a cold start with `sys_path` and the locale variables of `env` (they
        decide what the interpreter sets up at start); None: start this worker with exec."""
        key = (tuple(sys_path), tuple(sorted((k, v) for k, v in env.items() if k in LOCALE)))
        with self._lock:
            seen = self._cold_starts[key] = self._cold_starts.get(key, 0) + 1
            if seen <= self.exec_first:
                return None
            starting = self._starting.setdefault(key, threading.Lock())
        with starting:  # one start per key; other keys' cold starts do not wait for it
            with self._lock:
                dead = None
                if key in self._servers:
                    server = self._servers[key]
                    if server is None:
                        return None  # it failed to start once: do not retry on every cold start
                    if server.alive:
                        return server
                    dead = server
            if dead is not None:
                dead.close()
            try:
                server = ForkServer(sys_path, env, self.modules)
            except (ForkServerUnavailable, OSError) as exc:
                LOG.warning("Lambda fork server unavailable, starting workers with exec: %s", exc)
                server = None
            with self._lock:
                self._servers[key] = server
            return server

    def discard(self, sys_path: list[str]) -> None:
        """Stop the servers of `sys_path` (their preloaded modules may be stale)."""
        with self._lock:
            keys = [key for key in self._servers if key[0] == tuple(sys_path)]
            servers = [self._servers.pop(key) for key in keys]
        for server in servers:
            if server is not None:
                server.close()

    def shutdown(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            if server is not None:
                server.close()
