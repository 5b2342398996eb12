"""``reconcile``: argument parsing, the state and engine it runs on, and what it prints."""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.spec import SpecError
from components.spec.loader import PROJECT
from pipeline import contract
from pipeline.arguments import action, health_timeout_option, policy_pack_option, record_options
from pipeline.definition import PipelineFile, Stage, load_pipeline
from pipeline.notify.config import EventKind
from pipeline.notify.hooks import notifier
from pipeline.notify.message import Notice
from pipeline.promote.deployer import Change
from pipeline.promote.model import EXIT_BUSY, EXIT_INVALID, EXIT_OK, CommandOutcome, exit_code
from pipeline.promote.state import PromotionState, StageChange, StateError
from pipeline.reconcile.engine import AutomationDrift, DriftEngine
from pipeline.reconcile.proposal import HealProposal
from pipeline.reconcile.run import (
    Baseline,
    MergedHeal,
    Outcome,
    Proposer,
    Reconciler,
    StageResult,
)
from pipeline.record.proposal import Review
from pipeline.usage import CommandError, unknown

if TYPE_CHECKING:
    from pipeline.record.state import GitState

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
EXIT_DRIFT = exit_code(CommandOutcome.DRIFTED)
EXITS = {
    EXIT_OK: "every stage runs its record, or was healed and verified",
    EXIT_DRIFT: "a stage drifted and was proposed or reported, or could not be healed or read",
    EXIT_INVALID: "bad input (unknown pipeline or stage, --approve without --approver, --approve"
    " of a stage promoted by pull request, --merged without --stage or a git state)",
    EXIT_BUSY: "a promotion holds the pipeline: its stages were left alone",
}


def _state(args: argparse.Namespace) -> PromotionState:
    from pipeline.record.open import RecordLocation, open_record

    return open_record(RecordLocation.of(args))


def make_engine(spec: str, stacks_dir: Path, state_dir: Path | None) -> DriftEngine:
    """``automation`` (the Pulumi CLI) or ``MODULE:FACTORY`` called with (project, stacks,
    state) directories, as ``promote --deployer`` takes it."""
    if spec == "automation":
        if shutil.which("pulumi") is None:
            raise CommandError("the Pulumi CLI is not installed; nothing compared")
        return AutomationDrift()
    module, colon, attr = spec.partition(":")
    if not colon or not module or not attr:
        raise CommandError(f"--deployer {spec!r}: expected automation or MODULE:FACTORY")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise CommandError(f"--deployer {spec}: {exc}") from None
    engine: DriftEngine = factory(PROJECT_DIR, stacks_dir, state_dir)
    return engine


def _stages(
    definition: PipelineFile, pipeline: str | None, stack: str | None
) -> dict[str, list[Stage]]:
    """pipeline -> the stages to reconcile, in pipeline order."""
    if stack is not None:
        owner = definition.pipeline_of(stack)
        found = definition.stage(stack)
        if owner is None or found is None:
            every = [s.stack for p in definition.pipelines.values() for s in p.stages]
            raise unknown("stage", stack, every)
        return {owner: [found]}
    if pipeline is not None:
        if pipeline not in definition.pipelines:
            raise unknown("pipeline", pipeline, definition.pipelines)
        return {pipeline: list(definition.pipelines[pipeline].stages)}
    return {name: list(p.stages) for name, p in definition.pipelines.items()}


def baselines(state: PromotionState, repo: Path, stacks_dir: Path) -> Callable[[str], Baseline]:
    """Each stage's baseline: with the git state, a worktree of its record (``stages/<stack>``,
    whose stack file pins the recorded release), or for a stage never promoted a worktree of
    the checked-out commit, as drift.yml previews main; with a local state, the checkout."""
    from components.spec import read_stack

    def pinned(where: Path, stack: str) -> str:
        values = read_stack(where, stack).values
        return str(values.get(f"{PROJECT}:release", "unreleased"))

    def baseline(stack: str) -> Baseline:
        record = state.stage_record(stack)
        if record is not None and state.stage_branches:
            path = state.stage_checkout(stack)
            if path is not None:
                return Baseline(path, record.release, f"stages/{stack}")
        if state.stage_branches:  # never promoted: the checked-out commit, in a worktree
            path = state.source(stack, "unreleased", None) or repo
            release = pinned(path / "stacks", stack)
            return Baseline(path, release, f"{path.name[:12]} (no record yet)")
        if record is not None:
            return Baseline(repo, record.release, f"the {stack} record")
        return Baseline(repo, pinned(stacks_dir, stack), f"stacks/Pulumi.{stack}.yaml")

    return baseline


def _by_merge(
    args: argparse.Namespace, state: PromotionState, chosen: dict[str, list[Stage]]
) -> tuple[Proposer | None, MergedHeal | None]:
    """With the git state: heal proposals opened on branches, and (``--merged``) the reviewed
    merge of one stage's heal proposal to deploy."""
    if args.approve:
        by_pr = [
            s.stack for stages in chosen.values() for s in stages if s.promotion == "pullRequest"
        ]
        if by_pr:
            raise CommandError(
                f"--approve does not heal {', '.join(by_pr)}: promoted by pull request, its heal"
                " is approved by merging the heal proposal reconcile opens"
            )
    record: GitState | None = state.proposal_record()
    if record is None:
        if args.merged:
            raise CommandError("--merged needs the git state: a local state has no proposals")
        return None, None
    from pipeline.reconcile.proposal import heal_review, healed_change, propose_heal

    def proposer(stack: str, changes: tuple[Change, ...]) -> HealProposal:
        return propose_heal(record, stack, changes)

    if not args.merged:
        return proposer, None
    if args.stage is None:
        raise CommandError("--merged heals one stage: name it with --stage STACK")
    if bool(args.proposer) != bool(args.reviewer):
        raise CommandError("--proposer and --reviewer go together (the forge's logins)")
    forge = (args.proposer, args.reviewer) if args.proposer else None
    run = f"c-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"

    def merged(stack: str) -> tuple[Review, StageChange]:
        review = heal_review(record, stack, forge)
        return review, healed_change(record, stack, review, run)

    return None, merged


def notice_of(result: StageResult) -> Notice | None:
    """Drift, a heal and anything that went wrong are worth telling; a stage in sync is not."""
    if result.outcome is Outcome.IN_SYNC:
        return None
    facts = {"stage": result.stack, "remedy": str(result.remedy)}
    if result.release:
        facts["release"] = result.release
    title = f"reconcile {result.stack}: {result.outcome}"
    return Notice(EventKind.RECONCILE, title, result.detail, str(result.outcome), facts)


def _reconcile(args: argparse.Namespace) -> int:
    if args.approve != bool(args.approver):
        raise CommandError("--approve and --approver NAME go together (who approved the heal?)")
    stacks_dir = Path(args.stacks_dir) if args.stacks_dir else Path(args.repo) / "stacks"
    try:
        definition = load_pipeline(stacks_dir)
    except SpecError as exc:
        raise CommandError(f"invalid configuration, nothing compared:\n{exc}") from None
    chosen = _stages(definition, args.pipeline, args.stage)
    try:
        state = _state(args)
    except StateError as exc:
        raise CommandError(f"refused, nothing compared:\n{exc}") from None
    engine = make_engine(
        args.deployer, stacks_dir, Path(args.state_dir) if args.state_dir else None
    )
    from pipeline.promote.orchestrator import stage_policy
    from pipeline.promote.verification import HealthCheck

    policy = stage_policy(
        PROJECT_DIR, Path(args.policy_pack) if args.policy_pack else None, None, stacks_dir
    )
    baseline = baselines(state, Path(args.repo), stacks_dir)
    proposer, merged = _by_merge(args, state, chosen)

    tell = notifier(definition.notifications, args.json)

    def said(result: StageResult) -> None:
        if args.json:
            contract.event("reconcile", **result.to_json())
        else:
            print(f"{result.stack}: {result.outcome}: {result.detail}", file=sys.stderr)
        notice = notice_of(result)
        if notice is not None:
            tell.send(notice)

    results: list[StageResult] = []
    try:
        for pipeline, stages in chosen.items():
            reconciler = Reconciler(
                engine,
                state,
                pipeline,
                baseline,
                policy,
                HealthCheck(timeout=args.health_timeout, interval=min(5.0, args.health_timeout)),
                approver=args.approver,
                proposer=proposer,
                merged=merged,
                on_result=said,
            )
            results += reconciler.run(stages)
    except StateError as exc:
        raise CommandError(f"stopped: {exc}", EXIT_DRIFT) from None
    finally:
        state.prune_worktrees()
    return _summary(args, results)


def _summary(args: argparse.Namespace, results: list[StageResult]) -> int:
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result.outcome)] = counts.get(str(result.outcome), 0) + 1
    unresolved = {Outcome.PROPOSED, Outcome.REPORTED, Outcome.HEAL_FAILED, Outcome.FAILED}
    if any(r.outcome in unresolved for r in results):
        outcome = CommandOutcome.DRIFTED
    elif any(r.outcome is Outcome.LEFT_ALONE for r in results):
        outcome = CommandOutcome.BUSY
    elif counts.get(str(Outcome.HEALED)):
        outcome = CommandOutcome.HEALED
    else:
        outcome = CommandOutcome.IN_SYNC
    code = exit_code(outcome)
    message = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    if args.json:
        stages = {r.stack: str(r.outcome) for r in results}
        contract.result("reconcile", code, message, outcome=outcome, stages=stages)
    else:
        print(f"reconcile: {message}", file=sys.stderr)
    return code


def register(commands: Any) -> None:
    parser = action(
        commands,
        "reconcile",
        _reconcile,
        help="compare each stage with its record; heal, propose or report the drift",
        description="Per stage: preview what its record (stages/<stack>) deploys against what"
        " runs, with refresh. A drifted stage is healed (up from the record with the policy"
        " pack, then verified), proposed (a heal proposal, promotions/<stack>/heal-<release>,"
        " whose merge --merged deploys; with a local state --approve --approver) or reported,"
        " as its pipeline entry's reconcile says. Each stage gets a ledger entry; a pipeline in"
        " the middle of a promotion is left alone.",
        exits=EXITS,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pipeline", metavar="NAME", help="only this pipeline's stages")
    where.add_argument("--stage", metavar="STACK", help="only this stage")
    parser.add_argument("--approve", action="store_true", help="heal stages that propose")
    parser.add_argument("--approver", metavar="NAME", help="who approved the heal")
    parser.add_argument(
        "--merged",
        action="store_true",
        help="heal the --stage from the reviewed merge of its heal proposal (git state)",
    )
    parser.add_argument("--proposer", metavar="LOGIN", help="with --merged: the forge's author")
    parser.add_argument("--reviewer", metavar="LOGIN", help="with --merged: the forge's reviewer")
    policy_pack_option(parser)
    parser.add_argument(
        "--deployer",
        default="automation",
        metavar="automation|MODULE:FACTORY",
        help="the engine: the Pulumi Automation API (default) or a factory called with the"
        " project, stacks and state directories",
    )
    health_timeout_option(parser, "a healed stage's verification")
    record_options(parser)
