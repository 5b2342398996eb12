"""Terminal output with rich: the width to fit, colour only for a terminal, progress on stderr.

Width: ``--width`` if given, else the terminal's when stdout is one, else ``COLUMNS`` when set,
else 100 columns (a CI log, a file). Colour: only on a terminal, and never when ``NO_COLOR`` is
set (https://no-color.org).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

PIPE_WIDTH = 100
MIN_WIDTH = 20  # the narrowest --width takes (pipeline.arguments.columns)


def width_for(requested: int | None, stream: Any = None) -> int:
    """The width to fit: the option, else the terminal's (at least 20 columns; a terminal that
    reports 0, as some CI ptys do, gets 100), else ``COLUMNS`` (a pipe into ``less`` or a file
    from a wide window: ``COLUMNS=$COLUMNS stageline plan | less``), else 100 columns."""
    if requested:
        return requested
    stream = stream or sys.stdout
    if stream.isatty():
        try:
            measured = os.get_terminal_size(stream.fileno()).columns
        except OSError:
            measured = 0
        if measured:
            return max(MIN_WIDTH, measured)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= MIN_WIDTH:
        return int(columns)
    return PIPE_WIDTH


def render_text(renderables: Iterable[RenderableType], width: int, color: bool = False) -> str:
    """Render to a string at ``width`` columns; plain text unless ``color``."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        soft_wrap=False,
        legacy_windows=False,
    )
    for renderable in renderables:
        console.print(renderable)
    # rich pads table rows to the width it laid out; the padding is not content.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def wants_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ


Advance = Callable[[str, str, int], None]
"""``advance(phase, stack, total)``: one of ``total`` stages done in a phase."""


@contextmanager
def progress(stream: Any = None) -> Iterator[Advance | None]:
    """A progress bar per phase on stderr when it is a terminal; None elsewhere (CI logs,
    pipes), so output that tools read never holds control sequences."""
    stream = stream or sys.stderr
    if not stream.isatty() or os.environ.get("TERM") == "dumb":
        yield None
        return
    console = Console(file=stream, no_color="NO_COLOR" in os.environ)
    bar = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def advance(phase: str, stack: str, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total, last="")
        bar.update(tasks[phase], advance=1, last=stack)

    with bar:
        yield advance
