"""Hot reload for `make up`: a changed function folder reaches the next invocation.

A watcher polls the deployed functions' code folders and their layers' folders (schemas live in
Validate's folder). On a change it calls the Lambda API on the endpoint, as a deploy to AWS
would: UpdateFunctionCode (the folder as a zip) for the function whose folder changed, and
UpdateFunctionConfiguration for every function using a changed layer (on AWS a layer change is a
new layer version plus this call). The local Lambda runtime retires that function's warm workers
on either call, so the next invocation cold-starts on the new code; one line says so. A change to
template.yaml or to a state machine definition cannot be applied in place (resources, environment
and the definition are read at deploy time): the watcher prints what to do instead.

Why a polling stat loop and not the `watchdog` library: a few small folders polled once a second
cost nothing measurable, need no dependency, and behave the same on Linux, macOS and mounted
folders (WSL, containers), where native file events are missing or unreliable.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLL_S = 1.0
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
Snapshot = dict[Path, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """(mtime_ns, size) of every file under root that a function would load."""
    files: Snapshot = {}
    if root.is_file():
        stat = root.stat()
        return {root: (stat.st_mtime_ns, stat.st_size)}
    for path in root.rglob("*"):
        if _SKIPPED_PARTS & set(path.parts) or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed while walking
            continue
        if path.is_file():
            files[path] = (stat.st_mtime_ns, stat.st_size)
    return files


def changed_files(before: Snapshot, after: Snapshot) -> list[Path]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def zipped(folder: Path) -> bytes:
    """The folder as a deployment package (what UpdateFunctionCode's ZipFile carries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(snapshot(folder)):
            archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


@dataclass
class Watched:
    """One watched folder or file and what a change to it means."""

    root: Path
    code_of: list[str] = field(default_factory=list)  # functions whose code folder it is
    layer_of: list[str] = field(default_factory=list)  # functions that use it as a layer
    redeploy: bool = False  # template or state machine definition: needs a new deploy
    state: Snapshot = field(default_factory=dict)


def watch_list(stack: Any) -> list[Watched]:
    """What to watch for a local_aws DeployedStack: its functions' folders and layers, the
    template and the state machine definitions (DefinitionUri)."""
    by_root: dict[Path, Watched] = {}

    def entry(root: Path) -> Watched:
        return by_root.setdefault(root, Watched(root))

    for spec in stack.functions.values():
        entry(Path(spec.code_dir)).code_of.append(spec.name)
        for layer in spec.layers:
            entry(Path(layer.content_dir).resolve()).layer_of.append(spec.name)
    template = stack.template
    entry(template.path).redeploy = True
    for lid in template.resources_of_type("AWS::Serverless::StateMachine"):
        uri = template.properties(lid).get("DefinitionUri")
        if isinstance(uri, str):
            entry((template.base_dir / uri).resolve()).redeploy = True
    return list(by_root.values())


class HotReloader:
    """Polls the watched paths and applies each change through the Lambda API."""

    def __init__(
        self,
        lambda_client: Any,
        watched: Iterable[Watched],
        *,
        base_dir: Path | None = None,
        log: Callable[[str], None] = print,
        poll_s: float = POLL_S,
    ) -> None:
        self.lambda_client = lambda_client
        self.watched = list(watched)
        self.base_dir = base_dir
        self.log = log
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for item in self.watched:
            item.state = snapshot(item.root)

    def start(self) -> HotReloader:
        self._thread = threading.Thread(target=self._loop, name="hot-reload", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except Exception as exc:  # keep watching; say what went wrong
                self.log(f"[reload] failed: {type(exc).__name__}: {exc}")

    def _name(self, path: Path) -> str:
        if self.base_dir is not None:
            try:
                return str(path.relative_to(self.base_dir))
            except ValueError:
                pass
        return str(path)

    def poll(self) -> list[str]:
        """One look at every watched path; returns the lines it printed."""
        lines = []
        for item in self.watched:
            current = snapshot(item.root)
            changed = changed_files(item.state, current)
            if not changed:
                continue
            item.state = current
            what = self._name(changed[0]) + (f" and {len(changed) - 1} more" if changed[1:] else "")
            lines += self._apply(item, what, changed)
        for line in lines:
            self.log(line)
        return lines

    def _apply(self, item: Watched, what: str, changed: list[Path]) -> list[str]:
        if item.redeploy:
            return [
                f"[reload] {what} changed: not applied in place (resources, environment and the "
                "state machine are created at deploy time); stop `make up` (Ctrl-C) and start "
                "it again to redeploy"
            ]
        lines = []
        if any(p.name.startswith("requirements") and p.suffix == ".txt" for p in changed):
            lines.append(
                f"[reload] {what}: requirements changed; they are installed at deploy time, "
                "restart `make up` to install them"
            )
        for name in item.code_of:
            self.lambda_client.update_function_code(FunctionName=name, ZipFile=zipped(item.root))
            lines.append(f"[reload] {name}: {what} changed; next invocation cold-starts on it")
        for name in item.layer_of:
            self.lambda_client.update_function_configuration(
                FunctionName=name, Description=f"hot reload: layer changed at {time.ctime()}"
            )
        if item.layer_of:
            names = ", ".join(item.layer_of)
            lines.append(f"[reload] layer {what} changed; next invocation of {names} cold-starts")
        return lines


def start_for_stack(lambda_client: Any, stack: Any) -> HotReloader:
    """Watch a deployed stack (the hook of `make up`); prints one line to say so."""
    reloader = HotReloader(lambda_client, watch_list(stack), base_dir=Path.cwd()).start()
    print(
        f"[reload] watching {len(reloader.watched)} paths (functions' folders, layers, template, "
        "state machine definitions): a code change reaches the next invocation",
        flush=True,
    )
    return reloader
