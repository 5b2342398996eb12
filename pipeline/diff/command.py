"""``python -m pipeline diff``: the desired-state diff of every stage between two revisions."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import naming
from pipeline.arguments import (
    cache_directory,
    cache_options,
    positive_int,
    positive_seconds,
    width_option,
)
from pipeline.diff import DiffError, diff_revisions
from pipeline.diff.compare import EXIT_INVALID
from pipeline.diff.output import as_json, markdown, table
from pipeline.diff.revisions import RENDER_TIMEOUT
from pipeline.usage import CommandError, add_command

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
FORMATS: dict[str, Callable[..., str]] = {"table": table, "markdown": markdown, "json": as_json}


def _write(path: str, text: str) -> None:
    """Write whole or not at all: a reader never sees half a comment."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise CommandError(f"{path}: cannot write it ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from pipeline import terminal

    cache_dir = cache_directory(args)
    try:
        with terminal.progress() as advance:

            def done(role: str, how: str) -> None:
                if advance is not None:
                    advance("rendering revisions", f"{role} {how}", 2)

            result = diff_revisions(
                PROJECT_DIR,
                args.base,
                args.head,
                args.stack or None,
                jobs=args.jobs,
                timeout=args.timeout,
                cache_dir=cache_dir,
                done=done,
            )
    except DiffError as exc:
        from pipeline.diff.masking import Masker

        print(f"diff: {Masker(exc.secrets).text(str(exc))}", file=sys.stderr)
        return EXIT_INVALID
    # The result's data is masked structurally already (diff_revisions): no pass over the text,
    # which could break JSON or the comment marker.
    if args.format == "table":
        width = terminal.width_for(args.width)
        text = table(result, width, color=not args.output and terminal.wants_color())
    else:
        text = FORMATS[args.format](result)
    if args.output:
        _write(args.output, text)
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    if args.json_output:
        _write(args.json_output, as_json(result) + "\n")
    return result.exit_code()


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "diff",
        help="show what a change does to every stage (offline, no secrets)",
        description="Render every stage at two revisions, each with its own code, and show the"
        " resources added, removed and changed per stage, stateful replacements, and parity and"
        " mandatory policy findings at head.",
        exits={
            0: "head adds no parity or mandatory policy violation",
            1: "head adds a violation, or a change the cloud refuses to make in place",
            2: "bad revision, invalid configuration, or a revision that does not render",
        },
    )
    parser.add_argument("--base", required=True, metavar="REV", help="revision to compare from")
    parser.add_argument(
        "--head", metavar="REV", default=None, help="revision to compare to (default: working tree)"
    )
    parser.add_argument(
        "--stack", action="append", metavar="NAME", help="stage to compare (repeatable)"
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="table",
        help="table for a terminal (default), markdown for one pull-request comment, json",
    )
    parser.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    parser.add_argument(
        "--json-output", metavar="FILE", help="also write the full diff as JSON to FILE"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="stages each revision renders at once",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=RENDER_TIMEOUT,
        metavar="SECONDS",
        help=f"give up when both revisions have not rendered by then (default: {RENDER_TIMEOUT})",
    )
    width_option(parser)
    cache_options(
        parser,
        "rendered stages and committed revisions' plans",
        f"render both revisions afresh (default: reuse what {naming.cache_hint()} holds)",
    )
    parser.set_defaults(func=run)
