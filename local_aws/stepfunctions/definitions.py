"""The states of an ASL definition, nested Map and Parallel states included (no moto import:
the run reader uses it too)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _states(definition: Mapping[str, Any] | str) -> dict[str, dict[str, Any]]:
    """Every state of a definition, nested Map/Parallel states included."""
    if isinstance(definition, str):
        definition = json.loads(definition)
    found: dict[str, dict[str, Any]] = {}

    def walk(machine: Mapping[str, Any]) -> None:
        for name, state in machine.get("States", {}).items():
            found[name] = state
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    walk(state[key])
            for branch in state.get("Branches", []):
                walk(branch)

    walk(definition)
    return found


def all_states(definition: Mapping[str, Any] | str) -> set[str]:
    return set(_states(definition))


def task_states(definition: Mapping[str, Any] | str) -> dict[str, dict[str, Any]]:
    """{name: state} of every Task state (the only states a mock configuration can answer)."""
    return {name: s for name, s in _states(definition).items() if s.get("Type") == "Task"}
