"""Progress: a line per stage and step on a terminal, or JSON Lines events for CI (``--json``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from pipeline.promote.ledger import now_iso


class EventSink(Protocol):
    def __call__(self, event: str, **fields: Any) -> None: ...


class JsonLines:
    """One JSON object per line, flushed at once, so a CI log shows each step as it happens."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": now_iso(), **fields}
        self.stream.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        self.stream.flush()


MARKS = {"started": "..", "completed": "ok", "failed": "!!", "skipped": "--"}
PASSING = ("ok", "not run")  # gate verdicts that do not hold a stage back
STAGE_WIDTH = 16  # "[azure-staging]" and a space: every step starts in one column


def waiting(gates: list[dict[str, str]]) -> list[str]:
    """The gates of a rehearsed stage that hold it back: ``soak hold: 4h of 24h``."""
    return [
        f"{g['gate']} {g['verdict']}: {g.get('reason', '')}".rstrip(": ")
        for g in gates
        if g.get("verdict") not in PASSING
    ]


class Progress:
    """Human progress: ``[staging] up ............ ok``, plus diffs and notes indented."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: str, **fields: Any) -> None:
        stage = fields.get("stage", "")
        if event == "step":
            if fields.get("status") == "started":
                return  # shown once it ends; keeps the terminal to one line per step
            kind = " (rollback)" if fields.get("kind") == "rollback" else ""
            mark = MARKS.get(str(fields.get("status")), "")
            detail = fields.get("detail") or ""
            gates = fields.get("gates")
            if gates is not None:  # a rehearsed stage: "ok" only when no gate holds it back
                held = waiting(gates)
                if held and fields.get("status") == "completed":
                    mark = "hold"
                detail = "; ".join(held) or "every gate passes"
            where = f"[{stage}]"
            self._line(
                f"{where:<{STAGE_WIDTH}}{fields['step'] + kind:<20} {mark:<4} {detail}".rstrip()
            )
            for line in fields.get("diff") or []:
                self._line(f"    {line}")
        elif event == "note":
            prefix = f"[{stage}] " if stage else ""
            self._line(f"{prefix}{fields.get('message', '')}")
        elif event in ("promotion", "rehearsal"):
            self._line(f"{event}: {fields.get('message', '')}")


def quiet(event: str, **fields: Any) -> None:
    """Discard events (library use)."""


Sink = Callable[..., None]
