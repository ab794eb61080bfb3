"""The runtime's side of fork_server.py: fork servers shared by the functions whose sys.paths
import the same SDK.

A cold start of a Python worker spends over half of its CPU importing the SDK (boto3, botocore,
urllib3, s3transfer): 260-350 ms exec'd against 100-160 ms forked (docs/local-stack.md). A fork
server imports the runtime's SDK once and forks workers from there, for every function whose
sys.path would import exactly those files; everything the function itself does at init (its
imports, its module-scope clients) still happens in the new worker.
LOCAL_AWS_LAMBDA_FORK_SERVER=0 starts every worker with exec instead.

Why not multiprocessing's forkserver: it starts Python callables with pickled arguments in a
process that shares our sys.path and site-packages; a worker must see exactly the function's
sys.path, its own environment, cwd and session, and the runtime must learn each worker's exit
status (crash details such as "signal: killed"), which this small protocol gives.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import json
import logging
import os
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


def resolve(names: frozenset[str], sys_path: list[str]) -> dict[str, object]:
    """Where an import of each top-level name would look first on `sys_path`: the entry that
    has it, a tuple of namespace-package portions, or None (not there: the standard library's,
    or missing). Two sys.paths with equal answers import the same files for those names."""
    found: dict[str, object] = {}
    for name in names:
        portions: list[str] = []
        where: object = None
        for entry in sys_path:
            spec = importlib.machinery.PathFinder.find_spec(name, [entry])
            if spec is None:
                continue
            if spec.loader is None:  # a namespace portion: import keeps looking
                portions.append(entry)
                continue
            where = entry
            break
        found[name] = (*portions, where) if portions else where
    return found


def _mtimes(sys_path: list[str]) -> tuple:
    def mtime(entry: str) -> int | None:
        try:
            return os.stat(entry).st_mtime_ns
        except OSError:
            return None

    return tuple(mtime(entry) for entry in sys_path)


class ForkServer:
    """One running fork_server.py, with the given sys.path and SDK modules imported."""

    def __init__(self, sys_path: list[str], env: dict[str, str], modules: tuple[str, ...]):
        self.sys_path = list(sys_path)
        self.locale = _locale_key(env)
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
        # What the preload imported, and what it looked for and did not find (botocore's
        # optional awscrt): a sys.path that finds any of them elsewhere gets another server.
        self._names = frozenset(first["imported"]) | frozenset(first["not_found"])
        self._resolved = resolve(self._names, self.sys_path)
        self._serves: dict[tuple, bool] = {}
        self._spawn_lock = threading.Lock()
        self._replies: queue.Queue = queue.Queue()
        self._children: dict[int, ForkedProcess] = {}
        self._children_lock = threading.Lock()
        self.alive = True
        self._reader = threading.Thread(
            target=self._read, daemon=True, name=f"lambda-fork-server-{self.process.pid}"
        )
        self._reader.start()

    def serves(self, sys_path: list[str]) -> bool:
        """Would a worker with `sys_path` import the preloaded modules from the same files?

        Resolving ~130 names costs ~11 ms, on every cold start: the answer is kept per sys.path
        and the mtimes of its folders (a module added to or removed from a folder changes its
        mtime, which is also how the import system's own finders notice)."""
        if sys_path == self.sys_path:
            return True
        key = (tuple(sys_path), _mtimes(sys_path))
        if key not in self._serves:
            self._serves[key] = resolve(self._names, sys_path) == self._resolved
        return self._serves[key]

    def preloaded_from(self) -> set[str]:
        """The sys.path entries the preloaded modules came from."""
        return {
            entry
            for where in self._resolved.values()
            for entry in (where if isinstance(where, tuple) else (where,))
            if entry is not None
        }

    def spawn(
        self, fds: tuple[int, int, int], env: dict[str, str], cwd: str, sys_path: list[str]
    ) -> ForkedProcess:
        """Fork a worker whose pipes are `fds` (to_worker_r, from_worker_w, output_w)."""
        request = json.dumps({"op": "spawn", "env": env, "cwd": cwd, "sys_path": sys_path})
        request = request.encode()
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


def _locale_key(env: dict[str, str]) -> tuple:
    return tuple(sorted((k, v) for k, v in env.items() if k in LOCALE))


class ForkServers:
    """The fork servers of one runtime, shared across functions.

    A cold start uses a running server (of the same locale) that `serves` its sys.path: the
    preloaded SDK is then the very files the worker would have imported, and every optional
    module the SDK looked for is still absent (botocore uses awscrt when it can import it). A
    server costs about two exec'd cold starts to start, so the first `exec_first` cold starts
    that no server serves are exec'd; the next starts a server with that cold start's sys.path.
    In `make test` most functions then share one server per test process."""

    def __init__(self, modules: tuple[str, ...], exec_first: int = 2) -> None:
        self.modules = modules
        self.exec_first = exec_first
        self._servers: list[ForkServer] = []
        self._failed: set[tuple] = set()  # (sys.path, locale) whose server could not start
        self._starting: set[tuple] = set()  # locales with a server starting
        self._unserved: dict[tuple, int] = {}  # cold starts no server served, by locale
        self._lock = threading.Lock()

    def get(self, sys_path: list[str], env: dict[str, str]) -> ForkServer | None:
        """The server for a cold start with `sys_path` and the locale variables of `env` (they
        decide what the interpreter sets up at start); None: start this worker with exec."""
        locale = _locale_key(env)
        key = (tuple(sys_path), locale)
        with self._lock:
            dead = [server for server in self._servers if not server.alive]
            self._servers = [server for server in self._servers if server not in dead]
            serving = next(
                (s for s in self._servers if s.locale == locale and s.serves(sys_path)), None
            )
            start = False
            if serving is None:
                seen = self._unserved[locale] = self._unserved.get(locale, 0) + 1
                # exec this one: still under the threshold, this sys.path's server failed
                # once, or another cold start is starting a server
                start = not (
                    seen <= self.exec_first or key in self._failed or locale in self._starting
                )
                if start:
                    self._starting.add(locale)
        for gone in dead:
            gone.close()
        if not start:
            return serving
        try:
            started = ForkServer(sys_path, env, self.modules)
        except (ForkServerUnavailable, OSError) as exc:
            LOG.warning("Lambda fork server unavailable, starting workers with exec: %s", exc)
            started = None
        with self._lock:
            self._starting.discard(locale)
            if started is None:
                self._failed.add(key)
            else:
                self._servers.append(started)
        return started

    def discard(self, entries: list[str]) -> None:
        """Stop the servers that preloaded modules from any of `entries` (they may be stale)."""
        changed = set(entries)
        with self._lock:
            stale = [s for s in self._servers if s.preloaded_from() & changed]
            self._servers = [s for s in self._servers if s not in stale]
        for server in stale:
            server.close()

    def shutdown(self) -> None:
        with self._lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.close()
