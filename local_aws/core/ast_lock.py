"""One `ast.parse` at a time, on the CPython releases whose AST constructor races.

CPython 3.11.0 to 3.11.7 keep the recursion depth of the C-to-Python AST conversion in
interpreter-wide state; a garbage collection in the middle of one thread's `ast.parse` can run
another thread's parse, and the first then fails with "SystemError: AST constructor recursion
depth mismatch" (python/cpython#106905, fixed in 3.11.8 by python/cpython#113476). The local
stack parses in many threads at once: moto's ASL parser calls `ast.literal_eval` on every string
literal of a definition, once per execution and per TestState, beside werkzeug, hypothesis and
pytest parsing source. Seen here as a TestState answering InvalidDefinition under `-n 4`.
On those releases `apply()` puts `ast.parse` (which `ast.literal_eval` calls) behind one
re-entrant lock; on fixed releases it changes nothing.
"""

from __future__ import annotations

import ast
import functools
import sys
import threading

AFFECTED = (3, 11) <= sys.version_info[:3] < (3, 11, 8)
_lock = threading.RLock()


def apply() -> None:
    """Idempotent; a no-op where the AST constructor does not race."""
    if not AFFECTED or getattr(ast.parse, "_local_aws_locked", False):
        return
    unlocked = ast.parse

    @functools.wraps(unlocked)
    def parse(*args, **kwargs):
        with _lock:
            return unlocked(*args, **kwargs)

    parse._local_aws_locked = True
    ast.parse = parse
