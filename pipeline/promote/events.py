"""Progress: a line per stage and step for people, or JSON Lines events for CI (``--json``).

Each finished step is one line, the stage, step and mark each starting in one column however
long the pipeline's stage names are. On a terminal the step that is running shows as a spinner
with its elapsed time on that line (rich), replaced by the finished line; elsewhere (a CI log, a
pipe) there is no spinner and no control sequence, and ``--json`` prints only the events.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
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
STEP_WIDTH = 22  # "set-images (rollback)" and a space


def waiting(gates: list[dict[str, str]]) -> list[str]:
    """The gates of a rehearsed stage that hold it back: ``soak hold: 4h of 24h``."""
    return [
        f"{g['gate']} {g['verdict']}: {g.get('reason', '')}".rstrip(": ")
        for g in gates
        if g.get("verdict") not in PASSING
    ]


def on_terminal(stream: Any) -> bool:
    return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"


class Progress:
    """Human progress: ``[staging]      up          ok``, plus diffs and notes indented.

    ``stages``: the pipeline's stage names, so the step column clears the longest of them."""

    def __init__(self, stream: TextIO | None = None, stages: Iterable[str] = ()) -> None:
        self.stream = stream or sys.stderr
        self.stage_width = max([STAGE_WIDTH, *(len(s) + 3 for s in stages)])
        self._status: Any = None
        self._console: Any = None
        if on_terminal(self.stream):
            from rich.console import Console

            self._console = Console(
                file=self.stream, no_color="NO_COLOR" in os.environ, highlight=False
            )

    def _row(self, stage: str, step: str, mark: str, detail: str = "") -> str:
        where = f"[{stage}]"
        return f"{where:<{self.stage_width}}{step:<{STEP_WIDTH}}{mark:<4} {detail}".rstrip()

    def _line(self, text: str) -> None:
        self.close()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _running(self, stage: str, step: str) -> None:
        """On a terminal: a spinner on the step's own line while it runs."""
        if self._console is None:
            return
        self.close()
        from rich.text import Text

        self._status = self._console.status(Text(self._row(stage, step, "..")), spinner="dots")
        self._status.start()

    def close(self) -> None:
        """Stop the spinner, if one runs (before any other output, and at the end)."""
        status, self._status = self._status, None
        if status is not None:
            status.stop()

    def __call__(self, event: str, **fields: Any) -> None:
        stage = fields.get("stage", "")
        if event == "step":
            kind = " (rollback)" if fields.get("kind") == "rollback" else ""
            step = str(fields["step"]) + kind
            if fields.get("status") == "started":
                self._running(stage, step)
                return  # a line once it ends: one line per step
            mark = MARKS.get(str(fields.get("status")), "")
            detail = fields.get("detail") or ""
            gates = fields.get("gates")
            if gates is not None:  # a rehearsed stage: "ok" only when no gate holds it back
                held = waiting(gates)
                if held and fields.get("status") == "completed":
                    mark = "hold"
                detail = "; ".join(held) or "every gate passes"
            self._line(self._row(stage, step, mark, detail))
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
