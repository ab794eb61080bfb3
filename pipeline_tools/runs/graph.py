"""The workflow as a graph (from its ASL definition) and the path one run took through it: what
the web console draws."""

from __future__ import annotations

import itertools
import json
from typing import Any


def workflow_graph(definition: dict[str, Any]) -> dict[str, Any]:
    """Nodes and edges of an ASL definition, for drawing it (like the Step Functions console).

    Nodes: `Start`, `End`, every state (Map/Parallel states are compound nodes holding their
    branch's states, with the branch's own start/end markers). Edges: `next`, `choice`,
    `default` and `catch` (labelled with the errors it catches)."""
    nodes: list[dict[str, Any]] = [
        {"id": "__start__", "label": "Start", "type": "Start", "parent": None},
        {"id": "__end__", "label": "End", "type": "End", "parent": None},
    ]
    edges: list[dict[str, Any]] = []

    def add_scope(states: dict[str, Any], start_at: str, parent: str | None) -> None:
        start_id = "__start__" if parent is None else f"{parent}::start"
        end_id = "__end__" if parent is None else f"{parent}::end"
        if parent is not None:
            nodes.append({"id": start_id, "label": "", "type": "BranchStart", "parent": parent})
            nodes.append({"id": end_id, "label": "", "type": "BranchEnd", "parent": parent})
        edges.append(_edge(start_id, start_at, "next"))
        for name, state in states.items():
            kind = state.get("Type", "")
            nodes.append(
                {
                    "id": name,
                    "label": name,
                    "type": kind,
                    "parent": parent,
                    "resource": state.get("Resource"),
                }
            )
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if kind == "Map" and processor:
                add_scope(processor.get("States", {}), processor.get("StartAt"), name)
            for index, branch in enumerate(state.get("Branches") or []):
                branch_id = f"{name}::branch{index}"
                nodes.append({"id": branch_id, "label": "", "type": "Branch", "parent": name})
                add_scope(branch.get("States", {}), branch.get("StartAt"), branch_id)
            if state.get("Next"):
                edges.append(_edge(name, state["Next"], "next"))
            if state.get("End") or kind in ("Succeed", "Fail"):
                edges.append(_edge(name, end_id, "end"))
            for choice in state.get("Choices") or []:
                edges.append(_edge(name, choice["Next"], "choice", _choice_label(choice)))
            if state.get("Default"):
                edges.append(_edge(name, state["Default"], "default", "Default"))
            for catch in state.get("Catch") or []:
                errors = ", ".join(catch.get("ErrorEquals", []))
                edges.append(_edge(name, catch["Next"], "catch", errors))

    add_scope(definition.get("States", {}), definition.get("StartAt"), None)
    # Edges into and out of a Map state attach to its branch's start/end markers, so the layout
    # ranks the box between its neighbours (a layered layout does not rank compound nodes).
    maps = {n["id"] for n in nodes if n["type"] == "Map"}
    for index, edge in enumerate(edges):
        source = f"{edge['source']}::end" if edge["source"] in maps else edge["source"]
        target = f"{edge['target']}::start" if edge["target"] in maps else edge["target"]
        if (source, target) != (edge["source"], edge["target"]):
            edges[index] = _edge(source, target, edge["kind"], edge["label"])
    seen = set()
    unique = []
    for edge in edges:
        if edge["id"] not in seen:
            seen.add(edge["id"])
            unique.append(edge)
    return {"nodes": nodes, "edges": unique}


def _edge(source: str, target: str, kind: str, label: str = "") -> dict[str, Any]:
    return {
        "id": f"{source}->{target}:{kind}:{label}",
        "source": source,
        "target": target,
        "kind": kind,
        "label": label,
    }


def _choice_label(choice: dict[str, Any]) -> str:
    for key, value in choice.items():
        if key in ("Next", "Variable"):
            continue
        variable = choice.get("Variable", "")
        return f"{variable.removeprefix('$.')} {key} {json.dumps(value)}".strip()
    return "choice"


def taken_path(graph: dict[str, Any], steps: list[dict[str, Any]], run: dict[str, Any]) -> dict:
    """Which nodes and edges of `graph` one run took (ids), and each node's status."""
    node_ids = {n["id"] for n in graph["nodes"]}
    parents = {n["id"]: n["parent"] for n in graph["nodes"]}
    types = {n["id"]: n["type"] for n in graph["nodes"]}
    status: dict[str, str] = {}
    visited: list[str] = []
    for step in steps:
        if step["name"] in node_ids:
            visited.append(step["name"])
            status[step["name"]] = step["status"]
    edges: set[str] = set()
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for edge in graph["edges"]:
        by_pair.setdefault((edge["source"], edge["target"]), []).append(edge)
    step_by_name = {s["name"]: s for s in steps}

    def pick(source: str, target: str) -> None:
        candidates = by_pair.get((source, target), [])
        if not candidates:
            return
        step = step_by_name.get(source)
        caught = step is not None and step["status"] == "CAUGHT"
        preferred = [e for e in candidates if (e["kind"] == "catch") == caught] or candidates
        edges.add(preferred[0]["id"])

    if visited:
        first_parent = parents.get(visited[0])
        start = "__start__" if first_parent is None else f"{first_parent}::start"
        pick(start, visited[0])
        containers = _ancestors(visited[0], parents, types)
        for container in containers:
            status.setdefault(container, "RUNNING" if run["status"] == "RUNNING" else "SUCCEEDED")
            grand = parents.get(container)
            pick("__start__" if grand is None else f"{grand}::start", f"{container}::start")
            status[f"{container}::start"] = "SUCCEEDED"
        if containers or first_parent is None:
            status["__start__"] = "SUCCEEDED"
        for source, target in itertools.pairwise(visited):
            pick(source, target)
        last = visited[-1]
        if run["status"] == "SUCCEEDED":  # a failed run never reaches an end
            parent = parents.get(last)
            end = "__end__" if parent is None else f"{parent}::end"
            pick(last, end)
            if parent is not None:
                status[end] = "SUCCEEDED"
            for container in _ancestors(last, parents, types):
                grand = parents.get(container)
                pick(f"{container}::end", "__end__" if grand is None else f"{grand}::end")
            status["__end__"] = "SUCCEEDED"
        if run["status"] == "FAILED":
            for container in _ancestors(last, parents, types):
                status[container] = "FAILED"
    return {"nodes": status, "edges": sorted(edges)}


def _ancestors(node: str, parents: dict[str, str | None], types: dict[str, str]) -> list[str]:
    """The Map/Parallel states around a state, innermost first."""
    out = []
    parent = parents.get(node)
    while parent:
        if types.get(parent) != "Branch":
            out.append(parent)
        parent = parents.get(parent)
    return out
