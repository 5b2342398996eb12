"""``promote``: forward, ``--rollback`` and ``--rehearse``; arguments to a ``Request``, the
orchestrator (or the rehearsal) run on it, its outcome rendered."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline import contract
from pipeline.definition import PipelineFile
from pipeline.promote.commands import wiring
from pipeline.promote.commands.inputs import (
    PROJECT_DIR,
    definition,
    fail,
    pipeline_name,
    services,
    stacks,
    stacks_dir,
)
from pipeline.promote.deployer import DeployError
from pipeline.promote.events import JsonLines, Progress
from pipeline.promote.gates import FreezeOverride
from pipeline.promote.model import CommandOutcome, PromotionOutcome, exit_code
from pipeline.promote.orchestrator import PromotionError, Request, stage_policy
from pipeline.promote.protected_branch import ProtectedBranch
from pipeline.promote.state import PromotionState, StateError
from pipeline.usage import CommandError, unknown


def confirm_on_terminal(stage: str, release: str, reason: str) -> str | None:
    print(f"{reason}. Type the stage name ({stage}) to promote {release}:", file=sys.stderr)
    try:
        answer = input("> ").strip()
    except EOFError:
        return None
    return getpass.getuser() if answer == stage else None


def rehearsal_message(report: Any) -> str:
    """One sentence: blocked stages, else the stages that wait on a gate, else all clear."""
    from pipeline.promote.events import waiting

    blocked = [s.stack for s in report.stages if s.blocked]
    held = {s.stack: waiting(s.gates) for s in report.stages if waiting(s.gates)}
    head = f"rehearsed {report.release} to {report.target}"
    if blocked:
        return f"{head}: blocked at {', '.join(blocked)}"
    if held:
        return f"{head}: " + "; ".join(
            f"{stack} waits ({', '.join(g)})" for stack, g in held.items()
        )
    return f"{head}: every gate passes"


def promote(args: argparse.Namespace) -> int:
    if args.approve != bool(args.approver):
        return fail("--approve and --approver NAME go together (who approved?)")
    if args.override_freeze is not None and not (args.approver and args.override_freeze.strip()):
        return fail(
            "--override-freeze REASON needs a reason and --approve --approver NAME (who decided"
            " to go ahead inside the freeze window?)"
        )
    if bool(args.reviewer) != bool(args.proposer) or (args.reviewer and not args.merged):
        return fail(
            "--reviewer and --proposer go together, with --merged (the pull request's reviewer"
            " and author, from the forge)"
        )
    stacks_at = stacks_dir(args)
    try:
        pipelines = definition(args)
        known = services(stacks_at, pipelines)
    except SpecError as exc:
        return fail(f"invalid configuration, nothing deployed:\n{exc}")
    every_stage = [s for p in pipelines.pipelines.values() for s in stacks(p)]
    with wiring.event_sink(args, every_stage) as events:
        return _promote_with(args, pipelines, known, stacks_at, events)


def request_of(args: argparse.Namespace, definition: PipelineFile) -> Request:
    """The promotion the arguments ask for (refusing a stage not in its pipeline)."""
    pipeline = pipeline_name(definition, args.pipeline, args.to)
    if args.to not in stacks(definition.pipelines[pipeline]):
        every = [s for p in definition.pipelines.values() for s in stacks(p)]
        raise unknown("stage", args.to, every)
    return Request(
        args.release,
        args.to,
        pipeline,
        rollback=args.rollback,
        auto=args.auto,
        approver=args.approver,
        merged=args.merged,
        forge=(args.proposer, args.reviewer) if args.reviewer else None,
        freeze_override=(
            FreezeOverride(args.approver, args.override_freeze.strip())
            if args.override_freeze
            else None
        ),
    )


def _promote_with(
    args: argparse.Namespace,
    definition: PipelineFile,
    services: frozenset[str],
    stacks_dir: Path,
    events: JsonLines | Progress,
) -> int:
    request = request_of(args, definition)
    try:
        state = wiring.state(args)
    except StateError as exc:
        return fail(f"refused, nothing deployed:\n{exc}")
    work_dir = wiring.work_dir(args, state)
    policy = stage_policy(
        PROJECT_DIR,
        Path(args.policy_pack) if args.policy_pack else None,
        Path(args.policy_pack_config) if args.policy_pack_config else None,
        stacks_dir,
    )
    try:
        governance, definition, policy = wiring.governed(
            args, state, stacks_dir, definition, policy
        )
    except (StateError, SpecError) as exc:
        return fail(f"refused, nothing deployed:\n{exc}")
    except wiring.GovernedElsewhereError as exc:
        if not args.rehearse:
            return fail(f"refused, nothing deployed:\n{exc}")
        governance = exc.governance  # still says whether the release's code was reviewed
        events("note", message=f"rehearsed with the working tree's files: {exc}")
    if args.rehearse:
        try:
            return _rehearse(
                args, state, stacks_dir, definition, request, policy, events, governance
            )
        finally:
            wiring.prune_worktrees(state)  # a rehearsal checks out the records and the release too
    confirm = confirm_on_terminal if sys.stdin.isatty() and not args.json else None
    try:
        deployer, verify = wiring.deployer(args, state, PROJECT_DIR, stacks_dir, work_dir)
    except StateError as exc:
        return fail(f"refused, nothing deployed:\n{exc}")
    except CommandError as exc:
        hint = "; nothing deployed (--rehearse works without it)"
        raise CommandError(f"{exc}{hint if str(exc) == wiring.PULUMI_MISSING else ''}") from None
    orchestrator = wiring.orchestrator(
        args,
        state,
        deployer,
        verify,
        definition,
        policy=policy,
        events=events,
        confirm=confirm,
        services=services,
        governance=governance,
    )
    try:
        outcome = orchestrator.promote(request)
    except DeployError as exc:
        raise CommandError(f"stopped: {exc}", exit_code(PromotionOutcome.STOPPED)) from None
    finally:
        wiring.prune_worktrees(state)
    from pipeline.notify.hooks import announce_promotion  # issue 26: tell the webhook

    announce_promotion(definition, request, outcome, args.json)
    if args.json:
        contract.result("promote", **outcome.to_json())
    else:
        # The orchestrator's message may already open with the outcome ("refused, nothing ...").
        said = outcome.message.startswith(outcome.outcome)
        print(
            f"promote: {'' if said else outcome.outcome + ': '}{outcome.message}", file=sys.stderr
        )
    return outcome.code


def _rehearse(
    args: argparse.Namespace,
    state: PromotionState,
    stacks_dir: Path,
    definition: PipelineFile,
    request: Request,
    policy: Any,
    events: JsonLines | Progress,
    governance: ProtectedBranch | None,
) -> int:
    from pipeline.promote.rehearsal import rehearse

    try:
        report = rehearse(
            PROJECT_DIR,
            stacks_dir,
            state,
            definition,
            request,
            policy=policy,
            events=events,
            governance=governance,
        )
    except (PromotionError, StateError) as exc:
        return fail(f"--rehearse: {exc}")
    blocked = any(s.blocked for s in report.stages)
    outcome = CommandOutcome.BLOCKED if blocked else CommandOutcome.REHEARSED
    if args.json:
        rehearsal = {k: v for k, v in report.to_json().items() if k != "exitCode"}
        contract.result(
            "promote",
            exit_code(outcome),
            rehearsal_message(report),
            outcome=outcome,
            rehearsal=rehearsal,
        )
    else:
        print(report.markdown())
    return exit_code(outcome)
