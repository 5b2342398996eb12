"""``status``, ``history``, ``metrics``: what the ledger and the stages say, read only."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from components.spec.loader import PROJECT
from pipeline import contract
from pipeline.promote.commands import wiring
from pipeline.promote.commands.inputs import (
    PROJECT_DIR,
    definition,
    fail,
    known_stage,
    pipeline_name,
    read_only,
    stacks_dir,
)
from pipeline.promote.model import EXIT_OK
from pipeline.promote.state import PromotionState, StateError
from pipeline.usage import CommandError

HISTORY_SHOWN = 50  # ledger entries `history` prints by default (--all for every one)


def view(args: argparse.Namespace, state: PromotionState, whole: bool = False) -> Any:
    """The ledger's view for the gates (``whole``: over every entry, for metrics)."""
    from pipeline.promote.history import LedgerView

    if not wiring.checked(state):
        return LedgerView([])
    return LedgerView(state.entries() if whole else state.decisive())


@read_only
def status(args: argparse.Namespace) -> int:
    from pipeline.promote.insight import status as stage_rows

    pipelines = definition(args)
    name = pipeline_name(pipelines, args.pipeline)
    try:
        state = wiring.state(args)
        ledger = view(args, state)
    except StateError as exc:
        return fail(str(exc))
    if args.offline:
        from components.spec import read_stack

        def outputs(stack: str) -> dict[str, Any]:
            record = state.stage_record(stack)
            if record is not None:  # what git records the stage runs
                return {"release": record.release}
            config = read_stack(stacks_dir(args), stack).values
            return {"release": config.get(f"{PROJECT}:release")}
    else:
        try:
            deployer, _ = wiring.deployer(
                args.deployer,
                300.0,  # status reads outputs only: nothing is verified
                state,
                Path(args.repo),
                PROJECT_DIR,
                stacks_dir(args),
            )
        except StateError as exc:
            return fail(str(exc))
        except CommandError as exc:
            if str(exc) == wiring.PULUMI_MISSING:
                raise CommandError(f"{exc}; --offline reads the stack files instead") from None
            raise
        outputs = deployer.outputs  # type: ignore[assignment]
    chosen = pipelines.pipelines[name]
    rows = stage_rows(
        chosen,
        outputs,
        ledger,
        records=state.stage_record,
        walk=partial(wiring.status_resolver(pipelines, state).candidate, chosen, ledger),
    )
    if args.json:
        for row in rows:
            contract.event("stage", **row.to_json())
        contract.result("status", EXIT_OK, f"pipeline {name}: {len(rows)} stage(s)", pipeline=name)
        return EXIT_OK
    from pipeline import terminal
    from pipeline.promote.tables import status_table

    print(status_table(rows, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK


@read_only
def history(args: argparse.Namespace) -> int:
    try:
        state = wiring.state(args)
        shown = wiring.checked(state)
        if args.stage:
            known_stage(definition(args), args.stage, state.ledger_stages() if shown else None)
        # A person reads the recent end; a tool reading --json gets every entry unless it asks.
        limit = None if args.all else args.limit or (None if args.json else HISTORY_SHOWN)
        entries = state.recent(limit or 0, args.stage) if shown else []
        # The whole count, which the state knows without reading every entry.
        counted = shown and limit and len(entries) == limit and not args.stage
        total = state.head()[0] if counted else None
    except StateError as exc:
        return fail(str(exc))
    if args.json:
        for entry in entries:
            contract.event("entry", **entry.stored())  # "time" is the entry's own
        contract.result("history", EXIT_OK, f"{len(entries)} entries")
        return EXIT_OK
    if not entries:
        where = f" for {args.stage}" if args.stage else ""
        print(f"history: no ledger entries{where} yet (nothing promoted)", file=sys.stderr)
        return EXIT_OK
    from pipeline import terminal
    from pipeline.promote.tables import history_table

    print(history_table(entries, terminal.width_for(None), terminal.wants_color()))
    if total is not None and total > len(entries):
        print(
            f"history: the last {len(entries)} of {total} entries; --all shows every one",
            file=sys.stderr,
        )
    elif total is None and limit and len(entries) == limit:
        print(
            f"history: the last {limit} entries of {args.stage or 'the ledger'};"
            " --all shows every one",
            file=sys.stderr,
        )
    return EXIT_OK


@read_only
def metrics(args: argparse.Namespace) -> int:
    from pipeline.promote.insight import metrics as dora

    pipelines = definition(args)
    pipeline = pipelines.pipelines[pipeline_name(pipelines, args.pipeline, args.stage)]
    stage = args.stage or pipeline.stages[-1].stack
    known_stage(pipelines, stage)
    try:
        state = wiring.state(args)
        ledger = view(args, state, whole=True)
        commit_times = {r.id: r.commit_time for r in state.releases.all()}
    except StateError as exc:
        return fail(str(exc))
    result = dora(ledger, stage, commit_times, days=args.days)
    from pipeline.reconcile.run import drift_metrics  # issue 26: drift events per stage

    result |= drift_metrics(ledger.entries, stage, args.days)
    if args.json:
        contract.result("metrics", EXIT_OK, f"{stage}, last {args.days} days", metrics=result)
    else:
        from pipeline import terminal
        from pipeline.promote.tables import metrics_table

        print(metrics_table(result, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK
