"""What every command shares: help with exit codes, one-line failures, "did you mean".

A command handler raises :class:`CommandError` for an expected failure (bad input, a missing
tool); ``pipeline.cli.main`` prints it as one line on stderr and exits with its code, so no
expected failure ends in a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import re
import textwrap
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_STOPPED, EXIT_INVALID, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_PIPE = 141  # 128 + SIGPIPE: what a reader that closed the pipe (head) sees from any tool

# Exit codes every command shares, added to each command's own in its help.
COMMON_EXITS: dict[int, str] = {
    EXIT_INVALID: "bad usage (unknown option or argument)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, or the SIGTERM a CI runner sends on cancel)",
}


PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
ENTRY_POINT = "pipeline.__main__:console"
MODULE_COMMAND = "python -m pipeline"


@cache
def command_name() -> str:
    """What people type: the console script ``pyproject.toml`` declares for this CLI (installed
    into .venv/bin by ``make``), else ``python -m pipeline``. Help, errors and the README's
    reference use it, so the name lives in one place."""
    try:
        scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return MODULE_COMMAND
    return next((name for name, entry in scripts.items() if entry == ENTRY_POINT), MODULE_COMMAND)


class CommandError(Exception):
    """An expected failure: ``main`` prints ``<command>: <message>`` and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def one_of(words: Iterable[str]) -> str:
    """``dev, test, staging, live``: choices for a person to read (not a Python list)."""
    return ", ".join(str(w) for w in words) or "none"


def unknown(what: str, word: str, choices: Iterable[str]) -> CommandError:
    """``no stage 'lve'; did you mean 'live'? (one of: dev, live, ...)`` as a CommandError."""
    options = sorted(set(choices))
    return CommandError(
        f"no {what} {word!r}{did_you_mean(word, options)} (one of: {one_of(options)})"
    )


class HelpFormatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description on its own; keeps indented lines (lists) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        for paragraph in text.strip("\n").split("\n\n"):
            if paragraph.startswith(" "):
                out.append(
                    "\n".join(_hanging(indent + line, width) for line in paragraph.splitlines())
                )
            else:
                flat = re.sub(r"\s+", " ", paragraph).strip()
                out.append(
                    textwrap.fill(flat, width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n\n".join(out)


def with_common(exits: dict[int, str]) -> dict[int, str]:
    """A command's exit codes plus the shared ones (its own 2 also covers bad usage)."""
    merged = COMMON_EXITS | exits
    if EXIT_INVALID in exits:
        merged[EXIT_INVALID] = f"{exits[EXIT_INVALID]}; or bad usage"
    return dict(sorted(merged.items()))


def _hanging(line: str, width: int) -> str:
    """Wrap ``  2    text ...`` so that continuation lines start under ``text``."""
    match = re.match(r"(\s+\S+\s+)(.*)", line)
    if not match:
        return line
    lead = " " * len(match.group(1))
    return textwrap.fill(line, width, subsequent_indent=lead)


def exit_epilog(exits: dict[int, str]) -> str:
    lines = [f"  {code:<4} {text}" for code, text in with_common(exits).items()]
    return "exit codes:\n\n" + "\n".join(lines)


# Each command's own exit codes by its prog ("<command> plan"), for the README reference.
EXIT_CODES: dict[str, dict[int, str]] = {}


def add_command(
    commands: Any,
    name: str,
    *,
    help: str,
    description: str,
    exits: dict[int, str] | None = None,
) -> argparse.ArgumentParser:
    """A subcommand whose help shows its description and, for a leaf command, its exit codes."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=exit_epilog(exits) if exits is not None else None,
        formatter_class=HelpFormatter,
    )
    if exits is not None:
        EXIT_CODES[parser.prog] = dict(sorted(exits.items()))
    return parser
