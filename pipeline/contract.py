"""One JSON contract for every command's ``--json`` (docs/json.md).

Output is JSON Lines on stdout: events, each an object with ``event`` and ``time``, and last one
``result`` event with the same fields for every command (``command``, ``code``, ``outcome``,
``message``) plus that command's own data. ``docs/json-events.schema.json`` is the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.promote.events import JsonLines

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "json-events.schema.json"

# The outcome a failure's exit code stands for, when a command ends before its own result.
OUTCOMES = {0: "ok", 1: "stopped", 2: "refused", 3: "busy", 130: "interrupted"}


def result(command: str, code: int, message: str, outcome: str | None = None, **data: Any) -> None:
    """Write the closing ``result`` event of ``command`` to stdout."""
    JsonLines()(
        "result",
        command=command,
        code=code,
        outcome=outcome or OUTCOMES.get(code, "failed"),
        message=message,
        **data,
    )


def event(name: str, **fields: Any) -> None:
    """Write one event (``release``, ``stage``, ``entry``, ...) to stdout."""
    JsonLines()(name, **fields)
