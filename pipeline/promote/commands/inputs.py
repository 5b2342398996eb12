"""What a command's arguments name: the pipeline file, a pipeline, a stage; and how a command
refuses or says it succeeded. No concrete state or deployer here (``wiring`` has them)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline import contract
from pipeline.definition import PipelineFile, load_pipeline
from pipeline.promote.ledger import LedgerError
from pipeline.promote.model import CommandOutcome, Outcome, exit_code
from pipeline.promote.state import StateError
from pipeline.usage import CommandError, unknown

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent.parent


def fail(message: str, outcome: Outcome = CommandOutcome.REFUSED) -> int:
    """Refuse (or stop) with one message (``main`` prefixes the command) and, with --json, a
    result; the exit code is the outcome's, from the one table."""
    raise CommandError(message, exit_code(outcome))


def stacks_dir(args: argparse.Namespace) -> Path:
    return Path(args.stacks_dir) if args.stacks_dir else Path(args.repo) / "stacks"


def definition(args: argparse.Namespace) -> PipelineFile:
    return load_pipeline(stacks_dir(args))


def services(stacks_dir: Path, definition: PipelineFile) -> frozenset[str]:
    """The blueprint's services, from ``blueprint.yaml``: one list for every pipeline and cloud
    (a release is built once, whichever substrate runs it)."""
    from components.spec.blueprint import load_blueprint

    return frozenset(load_blueprint().services)


def stacks(pipeline: Any) -> list[str]:
    return [s.stack for s in pipeline.stages]


def pipeline_name(definition: PipelineFile, given: str | None, stage: str | None = None) -> str:
    """``--pipeline`` if given (checked), else the one pipeline holding ``stage``, else the
    first in the file."""
    if given is not None:
        if given not in definition.pipelines:
            raise unknown("pipeline", given, definition.pipelines)
        return given
    if stage is not None:
        holding = [n for n, p in definition.pipelines.items() if stage in stacks(p)]
        if len(holding) == 1:
            return holding[0]
    return next(iter(definition.pipelines))


def known_stage(definition: PipelineFile, stage: str, also: set[str] | None = None) -> None:
    """Refuse a stage that is neither in the pipeline file nor (``also``) in the ledger."""
    every = {s for _, s in definition.stacks()} | (also or set())
    if stage not in every:
        raise unknown("stage", stage, every)


def said(
    args: argparse.Namespace, command: str, message: str, outcome: CommandOutcome, **data: Any
) -> int:
    """A command's sentence on stderr, or with --json its result; its exit code (the table's)."""
    code = exit_code(outcome)
    if args.json:
        contract.result(command, code, message, outcome=outcome, **data)
    else:
        print(message, file=sys.stderr)
    return code


def read_only(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A read-only command reports a bad ledger line or pipeline file in one line (exit 2)."""

    def run(args: argparse.Namespace) -> int:
        try:
            code: int = command(args)
        except LedgerError as exc:
            return fail(f"cannot read the ledger: {exc}")
        except StateError as exc:  # a record that does not verify, read past the ledger
            return fail(str(exc))
        except SpecError as exc:
            return fail(f"invalid configuration:\n{exc}")
        return code

    return run
