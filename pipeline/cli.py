"""``python -m pipeline``: every stageline command (plan, diff, policies, promote, ...)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.arguments import Parser, existing_directory, positive_int
from pipeline.plan import EXIT_INVALID, make_plan
from pipeline.stages import StagesError

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Each module adds its own subcommands: register(subparsers) -> None.
COMMAND_MODULES: list[str] = [
    "pipeline.diff.command",
    "pipeline.policy.command",
    "pipeline.promote.cli",
]


def _plan(args: argparse.Namespace) -> int:
    from pipeline import report
    from pipeline.policy import PolicyConfigError, PolicyPackError

    try:
        plan = make_plan(PROJECT_DIR, Path(args.stacks_dir), args.stack or None, jobs=args.jobs)
    except StagesError as exc:
        print(f"plan: invalid configuration, nothing rendered:\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    except (PolicyPackError, PolicyConfigError) as exc:
        print(f"plan: the policy pack could not check the stages:\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    formats: dict[str, Callable[..., str]] = {
        "table": report.table,
        "markdown": report.markdown,
        "json": report.as_json,
    }
    print(formats[args.format](plan))
    for stack, error in plan.render_errors.items():
        print(f"plan: {stack} did not render: {error}", file=sys.stderr)
    return plan.exit_code()


def _schema(args: argparse.Namespace) -> int:
    from components.spec.schema import SCHEMA_FILE, render_schema

    target = Path(args.stacks_dir) / SCHEMA_FILE
    text = render_schema()
    if args.check:
        current = target.read_text() if target.exists() else ""
        if current != text:
            print(f"schema: {target} is stale; run python -m pipeline schema", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"schema: wrote {target}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = Parser(
        prog="python -m pipeline",
        description="stageline: render, compare and promote the stages of one blueprint.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = commands.add_parser(
        "plan",
        help="render every stage offline and show how they differ",
        description="Render each stage's program under Pulumi's mock runtime (no cloud, no CLI)"
        " and report its resources and the parity matrix. Exit 0 clean, 1 parity or mandatory"
        " policy violations, 2 invalid configuration.",
    )
    plan.add_argument(
        "--stack",
        action="append",
        metavar="NAME",
        help="stage to render (repeatable; default: every stage in the pipeline)",
    )
    plan.add_argument(
        "--stacks-dir",
        type=existing_directory,
        default=str(PROJECT_DIR / "stacks"),
        metavar="DIR",
        help="directory of stack files and pipeline.yaml (default: stacks)",
    )
    plan.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    plan.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="stages rendered at once (default: one per core)",
    )
    plan.set_defaults(func=_plan)
    schema = commands.add_parser(
        "schema",
        help="write the JSON Schema of stack files (stacks/stageline.schema.json)",
        description="Export the stage spec as JSON Schema, so editors complete stack files.",
    )
    schema.add_argument(
        "--stacks-dir", type=existing_directory, default=str(PROJECT_DIR / "stacks"), metavar="DIR"
    )
    schema.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    schema.set_defaults(func=_schema)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        # Building the parser imports every command module: a Ctrl-C can land there too.
        args = parser().parse_args(words)
        code: int = args.func(args)
    except KeyboardInterrupt:
        command = next((w for w in words if not w.startswith("-")), "pipeline")
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    return code
