"""Argument types, option groups and the parser class every ``python -m pipeline`` command
shares.

A bad argument is bad input like a bad file: one line on stderr, exit 2, no usage dump and no
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from components.spec.loader import PROJECT
from pipeline import naming
from pipeline.usage import CommandError, add_command, command_name


class UsageError(SystemExit):
    """Bad usage (exit 2), already said on stderr; ``command`` is the command it was given to
    (``history``, ``release create``), so ``--json`` can still end in that command's result."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(2)
        self.command = command
        self.message = message


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (``prog: error: ...; see --help``) and exact
    option names only: ``--stacks`` is not taken for ``--stacks-dir`` (argparse's default
    accepts any unambiguous prefix, so a typo can silently mean another option)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        words = self.prog.removeprefix(command_name()).split()  # release create
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


def at_most(high: int) -> Callable[[str], int]:
    """A whole number from 1 to ``high`` (``--days``: a window past that overflows a date)."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"expected at most {high}, got {value}")
        return value

    return parse


MIN_WIDTH = 20  # narrower, rich cuts the shortest values (role names) with an ellipsis


def columns(text: str) -> int:
    """A table width (``--width``): at least MIN_WIDTH columns."""
    value = positive_int(text)
    if value < MIN_WIDTH:
        raise argparse.ArgumentTypeError(f"expected at least {MIN_WIDTH} columns, got {value}")
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


def existing_file(text: str) -> str:
    """A file that exists (``--policy-pack-config``)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: expected a file, found a directory")
    return text


def policy_pack(text: str) -> str:
    """A policy pack's directory (``--policy-pack``): one with a PulumiPolicy.yaml."""
    existing_directory(text)
    if not (Path(text) / "PulumiPolicy.yaml").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no PulumiPolicy.yaml, not a policy pack")
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


Handler = Callable[[argparse.Namespace], int]


def command_group(commands: Any, name: str, *, help: str, description: str) -> Any:
    """A command of actions (``release create``, ``policies catalog``): its help lists them,
    one is required, and ``args.<name>_command`` says which was given (``cli._name``)."""
    group = add_command(commands, name, help=help, description=description)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def action(
    actions: Any,
    name: str,
    run: Handler,
    *,
    help: str,
    description: str,
    exits: dict[int, str],
) -> argparse.ArgumentParser:
    """A leaf command (or a group's action) that ``run`` handles, with its exit codes in its
    help; the caller adds its options."""
    parser = add_command(actions, name, help=help, description=description, exits=exits)
    parser.set_defaults(func=run)
    return parser


def check_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--check``: a generated file is compared, not written (exit 1 when stale)."""
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {what} is stale")


PROJECT_DIR = Path(__file__).resolve().parent.parent


def stacks_dir_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--stacks-dir DIR``: an existing directory, by default the project's ``stacks``."""
    parser.add_argument(
        "--stacks-dir",
        type=existing_directory,
        default=str(PROJECT_DIR / "stacks"),
        metavar="DIR",
        help=help,
    )


def width_option(parser: argparse.ArgumentParser) -> None:
    """``--width COLUMNS`` for a command that prints a table (pipeline.terminal.width_for)."""
    parser.add_argument(
        "--width",
        type=columns,
        metavar="COLUMNS",
        help="fit the table to this width (default: the terminal's; else $COLUMNS; else 100)",
    )


def cache_options(parser: argparse.ArgumentParser, kept: str, afresh: str) -> None:
    """``--cache-dir DIR`` (``kept``: what is kept there) and ``--no-cache`` (``afresh``)."""
    parser.add_argument(
        "--cache-dir",
        type=state_directory,
        default=str(naming.cache_dir(PROJECT_DIR)),
        metavar="DIR",
        help=f"where {kept} are kept by content (default: {naming.cache_hint()})",
    )
    parser.add_argument("--no-cache", action="store_true", help=afresh)


def cache_directory(args: argparse.Namespace) -> Path | None:
    """The ``--cache-dir`` a command writes to, created now (None with ``--no-cache``), so a
    directory that cannot be made is one line before any work, not a traceback after it."""
    if args.no_cache:
        return None
    path = Path(args.cache_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"--cache-dir {path}: cannot create it ({exc.strerror})") from None
    return path


def record_options(
    parser: argparse.ArgumentParser, *, stacks_dir: bool = True, json: bool = True
) -> None:
    """Where the promotion record is, for every command that reads or writes it: ``--remote
    NAME`` (git, the default), ``--state-dir DIR`` (a git record in DIR), ``--repo DIR`` (the
    checkout); the hidden ``--stacks-dir DIR`` (default: the checkout's ``stacks``; without
    ``stacks_dir``, for a command with its own) and ``--json`` (without ``json``: none)."""
    parser.add_argument(
        "--remote",
        default="origin",
        metavar="NAME",
        help=f"git remote holding the {PROJECT}/state and stages/* branches (default: origin)",
    )
    parser.add_argument(
        "--state-dir",
        type=state_directory,
        metavar="DIR",
        help="keep the record (releases, ledger, locks) in a git repository under DIR instead of"
        " on the remote (one machine only; an old directory's files are imported once)",
    )
    parser.add_argument(
        "--repo",
        type=existing_directory,
        default=str(PROJECT_DIR),
        metavar="DIR",
        help="the git checkout (default: .)",
    )
    if stacks_dir:
        parser.add_argument(
            "--stacks-dir", type=existing_directory, metavar="DIR", help=argparse.SUPPRESS
        )
    if json:
        json_option(parser)


def json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: JSON Lines events ending in one result event."""
    parser.add_argument(
        "--json", action="store_true", help="JSON Lines events ending in one result (docs/json.md)"
    )


def policy_pack_option(parser: argparse.ArgumentParser) -> None:
    """``--policy-pack DIR``: the pack the preview runs (default: the project's policies)."""
    parser.add_argument(
        "--policy-pack", type=policy_pack, metavar="DIR", help="the pack (default: policies)"
    )


def health_timeout_option(parser: argparse.ArgumentParser, waits: str) -> None:
    """``--health-timeout SECONDS``: how long ``waits`` (what checks) waits for health paths."""
    parser.add_argument(
        "--health-timeout",
        type=positive_seconds,
        default=300.0,
        metavar="SECONDS",
        help=f"how long {waits} waits for the health paths (default 300)",
    )
