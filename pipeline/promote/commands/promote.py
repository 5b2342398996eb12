"""``promote``: forward, ``--rollback`` and ``--rehearse``; arguments to typed options and a
``Request`` (promote_options), the orchestrator (or the rehearsal) run on it, its outcome
rendered."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline import contract
from pipeline.definition import PipelineFile, load_pipeline
from pipeline.promote.commands import wiring
from pipeline.promote.commands.inputs import PROJECT_DIR, fail, services, stacks
from pipeline.promote.commands.promote_options import PromoteOptions
from pipeline.promote.deployer import DeployError
from pipeline.promote.events import JsonLines, Progress
from pipeline.promote.model import CommandOutcome, PromotionOutcome, exit_code
from pipeline.promote.orchestrator import PromotionError, Request, stage_policy
from pipeline.promote.protected_branch import ProtectedBranch
from pipeline.promote.state import PromotionState, StateError
from pipeline.record.open import open_record
from pipeline.usage import CommandError


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
    options = PromoteOptions.of(args)  # the arguments stop here: typed values go on
    try:
        pipelines = load_pipeline(options.stacks_dir)
        known = services(options.stacks_dir, pipelines)
    except SpecError as exc:
        return fail(f"invalid configuration, nothing deployed:\n{exc}")
    every_stage = [s for p in pipelines.pipelines.values() for s in stacks(p)]
    with wiring.event_sink(options.json, every_stage) as events:
        return _promote_with(options, pipelines, known, events)


def _promote_with(
    options: PromoteOptions,
    definition: PipelineFile,
    services: frozenset[str],
    events: JsonLines | Progress,
) -> int:
    request = options.request(definition)
    try:
        state = open_record(options.record)
    except StateError as exc:
        return fail(f"refused, nothing deployed:\n{exc}")
    stacks_dir = options.stacks_dir
    policy = stage_policy(PROJECT_DIR, options.policy_pack, options.policy_config, stacks_dir)
    try:
        governance, definition, policy = wiring.governed(
            state,
            options.protected_branch,
            options.record.repo,
            stacks_dir,
            definition,
            policy,
            options.policy_config,
        )
    except (StateError, SpecError) as exc:
        return fail(f"refused, nothing deployed:\n{exc}")
    except wiring.GovernedElsewhereError as exc:
        if not options.rehearse:
            return fail(f"refused, nothing deployed:\n{exc}")
        governance = exc.governance  # still says whether the release's code was reviewed
        events("note", message=f"rehearsed with the working tree's files: {exc}")
    if options.rehearse:
        try:
            return _rehearse(
                options.json, state, stacks_dir, definition, request, policy, events, governance
            )
        finally:
            wiring.prune_worktrees(state)  # a rehearsal checks out the records and the release too
    confirm = confirm_on_terminal if sys.stdin.isatty() and not options.json else None
    try:
        deployer, verify = wiring.deployer(
            options.deployer,
            options.health_timeout,
            state,
            options.record.repo,
            PROJECT_DIR,
            stacks_dir,
        )
    except StateError as exc:
        return fail(f"refused, nothing deployed:\n{exc}")
    except CommandError as exc:
        hint = "; nothing deployed (--rehearse works without it)"
        raise CommandError(f"{exc}{hint if str(exc) == wiring.PULUMI_MISSING else ''}") from None
    orchestrator = wiring.orchestrator(
        options.deployer,
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

    announce_promotion(definition, request, outcome, options.json)
    if options.json:
        contract.result("promote", **outcome.to_json())
    else:
        # The orchestrator's message may already open with the outcome ("refused, nothing ...").
        said = outcome.message.startswith(outcome.outcome)
        print(
            f"promote: {'' if said else outcome.outcome + ': '}{outcome.message}", file=sys.stderr
        )
    return outcome.code


def _rehearse(
    json: bool,
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
    if json:
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
