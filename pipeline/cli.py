"""The CLI (``.venv/bin/<command>``, or ``python -m pipeline``): every command (plan, diff,
policies, promote, ...)."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from components.spec import SpecError
from components.spec.loader import PROJECT
from components.spec.schema import SCHEMA_FILE
from pipeline import naming, usage
from pipeline.arguments import (
    Parser,
    UsageError,
    cache_directory,
    cache_options,
    check_option,
    positive_int,
    stacks_dir_option,
    width_option,
)
from pipeline.plan import EXIT_CLEAN, EXIT_INVALID, EXIT_VIOLATIONS, make_plan
from pipeline.stages import StagesError

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Each module adds its own subcommands: register(subparsers) -> None.
COMMAND_MODULES: list[str] = [
    "pipeline.diff.command",
    "pipeline.policy.command",
    "pipeline.promote.cli",
    "pipeline.adopt",
    "pipeline.site.command",
    "pipeline.reconcile.command",
    "pipeline.review.command",
]


def _plan(args: argparse.Namespace) -> int:
    from pipeline import report, terminal
    from pipeline.policy import PolicyConfigError, PolicyPackError

    try:
        with terminal.progress() as advance:
            stacks_dir = Path(args.stacks_dir)
            cache_dir, cache = cache_directory(args), None
            if cache_dir is not None:
                from pipeline.cache import RenderCache

                cache = RenderCache(cache_dir, PROJECT_DIR, stacks_dir / "pipeline.yaml")
            plan = make_plan(
                PROJECT_DIR,
                stacks_dir,
                args.stack or None,
                jobs=args.jobs,
                progress=advance,
                cache=cache,
            )
    except StagesError as exc:
        print(f"plan: invalid configuration, nothing rendered:\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    except (PolicyPackError, PolicyConfigError) as exc:
        print(f"plan: the policy pack could not check the stages:\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.format == "table":
        color = terminal.wants_color()
        print(report.table(plan, terminal.width_for(args.width), color, args.resources))
    else:
        formats: dict[str, Callable[..., str]] = {
            "markdown": report.markdown,
            "json": report.as_json,
        }
        print(formats[args.format](plan))
    for stack, error in plan.render_errors.items():
        print(f"plan: {stack} did not render: {error}", file=sys.stderr)
    return plan.exit_code()


def _schema(args: argparse.Namespace) -> int:
    from components import project
    from components.spec import blueprint
    from components.spec.schema import render_schema
    from pipeline import definition

    targets = {
        Path(args.stacks_dir) / SCHEMA_FILE: render_schema(),
        Path(args.stacks_dir) / definition.SCHEMA_FILE: definition.render_pipeline_schema(),
        project.ROOT / blueprint.SCHEMA_FILE: blueprint.render_blueprint_schema(),
    }
    if args.check:
        stale = [t for t, text in targets.items() if not t.exists() or t.read_text() != text]
        for target in stale:
            print(f"schema: {target} is stale; run {usage.command_name()} schema", file=sys.stderr)
        return 1 if stale else 0
    for target, text in targets.items():
        target.write_text(text)
        print(f"schema: wrote {target}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = Parser(
        prog=usage.command_name(),
        description=f"{PROJECT}: render, compare and promote the stages of one blueprint."
        " Every command takes --help.",
        epilog=usage.exit_epilog({}),
        formatter_class=usage.HelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = usage.add_command(
        commands,
        "plan",
        help="render every stage offline and show how they differ",
        description="Render each stage's program under Pulumi's mock runtime (no cloud, no CLI)"
        " and report its resources, the parity matrix and the policy pack's findings.",
        exits={
            EXIT_CLEAN: "clean",
            EXIT_VIOLATIONS: "parity violations or mandatory policy violations",
            EXIT_INVALID: "invalid configuration, or a stage that does not render",
        },
    )
    plan.add_argument(
        "--stack",
        action="append",
        metavar="NAME",
        help="stage to render (repeatable; default: every stage in the pipeline file)",
    )
    stacks_dir_option(plan, "directory of stack files and pipeline.yaml (default: stacks)")
    plan.add_argument(
        "--format",
        choices=["table", "markdown", "json"],
        default="table",
        help="table for a terminal (default), markdown for a pull-request comment, json for tools",
    )
    plan.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="stages rendered at once (default: one per core)",
    )
    width_option(plan)
    plan.add_argument(
        "--resources",
        action="store_true",
        help="with the table, each stage's resources by role and type (after the differences"
        " and compliance)",
    )
    cache_options(
        plan,
        "rendered stages",
        f"render every stage afresh (default: reuse {naming.cache_hint()} for unchanged stages)",
    )
    plan.set_defaults(func=_plan)
    schema = usage.add_command(
        commands,
        "schema",
        help=f"write the JSON Schema of stack files (stacks/{SCHEMA_FILE})",
        description="Export the stage spec as JSON Schema, so editors complete stack files.",
        exits={0: "written (or up to date with --check)", 1: "stale (--check)"},
    )
    stacks_dir_option(schema, "where the schema file goes (default: stacks)")
    check_option(schema, "the file")
    schema.set_defaults(func=_schema)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return root


def _quiet_stdout() -> None:
    """The reader closed the pipe (``| head``): send what is still buffered nowhere, so the
    interpreter's own flush at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _name(args: argparse.Namespace) -> str:
    """``release create``, ``promote``: the command as its messages name it."""
    action = getattr(args, f"{args.command}_command", None)
    return f"{args.command} {action}" if action else str(args.command)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM: stop as on Ctrl-C, so each command cleans up its work


def main(argv: Sequence[str] | None = None) -> int:
    # A cancelled CI job gets SIGINT, then SIGTERM. By default SIGTERM ends the process on the
    # spot: a diff's renders (in their own sessions) and worktrees would outlive it, and a
    # promotion would not say where it stopped. Handled as an interrupt, both wind down.
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)  # only the main thread may set a handler (an embedding caller's)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    name = next((w for w in words if not w.startswith("-")), "pipeline")
    args: argparse.Namespace | None = None
    try:
        # Building the parser imports every command module: a Ctrl-C can land there too.
        args = parser().parse_args(words)
        name = _name(args)
        code: int = args.func(args)
        sys.stdout.flush()
    except UsageError as exc:  # said on stderr already; with --json also the closing result
        if "--json" in words:
            from pipeline import contract

            contract.result(exc.command, EXIT_INVALID, exc.message)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return _failed(args, name, "interrupted", usage.EXIT_INTERRUPTED)
    except BrokenPipeError:
        _quiet_stdout()
        return usage.EXIT_PIPE
    except usage.CommandError as exc:
        return _failed(args, name, str(exc), exc.code)
    except SpecError as exc:
        return _failed(args, name, f"invalid configuration, nothing done:\n{exc}", EXIT_INVALID)
    return code


def _failed(args: argparse.Namespace | None, name: str, message: str, code: int) -> int:
    """One message on stderr; with --json also the closing result event, so a reader of the
    stream always gets one."""
    print(f"{name}: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        from pipeline import contract

        contract.result(name, code, message)
    return code
