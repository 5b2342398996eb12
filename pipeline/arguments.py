"""Argument types and the parser class every ``python -m pipeline`` command shares.

A bad argument is bad input like a bad file: one line on stderr, exit 2, no usage dump and no
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn


class UsageError(SystemExit):
    """Bad usage (exit 2), already said on stderr; ``command`` is the command it was given to
    (``history``, ``release create``), so ``--json`` can still end in that command's result."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(2)
        self.command = command
        self.message = message


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (``prog: error: ...; see --help``)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        words = self.prog.split()[3:]  # "python -m pipeline release create" -> release create
        raise UsageError(" ".join(words) or "pipeline", f"error: {message}")


def positive_int(text: str) -> int:
    """A whole number of at least 1 (``--jobs``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """A duration in seconds, more than zero (``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def existing_directory(text: str) -> str:
    """A directory that exists (``--stacks-dir``)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: expected a directory, found a file")
    return text


def state_directory(text: str) -> str:
    """A directory, or a path where one can be created (``--state-dir``)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: expected a directory, found a file")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {parent} is a file, not a directory")
            break
    return text
