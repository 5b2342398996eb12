"""One JSON contract for every command's ``--json`` (docs/json.md).

Output is JSON Lines on stdout: events, each an object with ``event`` and ``time``, and last one
``result`` event with the same fields for every command (``command``, ``code``, ``outcome``,
``message``) plus that command's own data. ``docs/json-events.schema.json`` is the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.promote.events import JsonLines
from pipeline.promote.model import EXIT_CODES, CommandOutcome, exit_code

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "json-events.schema.json"

# The outcome a failure's exit code stands for, when a command ends before its own result.
OUTCOMES = {
    exit_code(o): str(o)
    for o in (
        CommandOutcome.OK,
        CommandOutcome.STOPPED,
        CommandOutcome.REFUSED,
        CommandOutcome.BUSY,
        CommandOutcome.INTERRUPTED,
    )
}
# Every (outcome, code) pair of the one table; an outcome it lists may not come with another
# code. (A command's outcome the table does not list yet passes: add it to model.EXIT_CODES.)
PAIRS = frozenset((str(o), code) for o, code in EXIT_CODES)
LISTED = frozenset(said for said, _ in PAIRS)


def result(command: str, code: int, message: str, outcome: str | None = None, **data: Any) -> None:
    """Write the closing ``result`` event of ``command`` to stdout. An outcome whose code is
    not the table's (pipeline.promote.model.EXIT_CODES) is a programming error."""
    said = str(outcome) if outcome else OUTCOMES.get(code, "failed")
    if outcome and said in LISTED and (said, code) not in PAIRS:
        raise ValueError(f"{command}: outcome {said!r} does not exit {code} (model.EXIT_CODES)")
    JsonLines()(
        "result",
        command=command,
        code=code,
        outcome=said,
        message=message,
        **data,
    )


def event(name: str, **fields: Any) -> None:
    """Write one event (``release``, ``stage``, ``entry``, ...) to stdout."""
    JsonLines()(name, **fields)
