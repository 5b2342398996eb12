"""``review up|down|sweep``: a short-lived stage per pull request (docs/promotion.md)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from components.spec import SpecError
from components.spec.loader import PROJECT
from pipeline import contract
from pipeline.arguments import (
    action,
    command_group,
    health_timeout_option,
    policy_pack_option,
    positive_int,
    record_options,
)
from pipeline.definition import PipelineFile, load_pipeline
from pipeline.notify.config import EventKind
from pipeline.notify.hooks import notifier
from pipeline.notify.message import Notice
from pipeline.promote.deployer import DeployError
from pipeline.promote.model import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STOPPED,
    CommandOutcome,
    Outcome,
    StageOutcome,
    exit_code,
)
from pipeline.promote.release import ReleaseError
from pipeline.promote.state import PromotionState, StateError
from pipeline.review.engine import AutomationReview
from pipeline.review.stage import ReviewError, identity, parse_stack, review_stack, stack_file
from pipeline.review.workspace import (
    existing_worktree,
    read_stack_yaml,
    remove,
    review_cidrs,
    worktree,
    write_stack_file,
)
from pipeline.usage import CommandError, unknown

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
FAILED = StageOutcome.FAILED  # the engine failed: "failed" on the wire, exit 1


def _state(args: argparse.Namespace) -> PromotionState:
    from pipeline.record.open import RecordLocation, open_record

    return open_record(RecordLocation.of(args))


def _pipeline(args: argparse.Namespace) -> tuple[PipelineFile, str, Path]:
    stacks_dir = Path(args.stacks_dir) if args.stacks_dir else Path(args.repo) / "stacks"
    try:
        definition = load_pipeline(stacks_dir)
    except SpecError as exc:
        raise CommandError(f"invalid configuration, nothing done:\n{exc}") from None
    name = args.pipeline or next(iter(definition.pipelines))
    if name not in definition.pipelines:
        raise unknown("pipeline", name, definition.pipelines)
    return definition, name, stacks_dir


def _said(
    args: argparse.Namespace, command: str, outcome: Outcome, message: str, **data: Any
) -> int:
    """The result: its sentence on stderr, or with --json its event; its code (the table's)."""
    code = exit_code(outcome)
    if args.json:
        contract.result(command, code, message, outcome=outcome, **data)
    else:
        print(f"{command}: {message}", file=sys.stderr)
    return code


def _tell(
    definition: PipelineFile, args: argparse.Namespace, title: str, outcome: str, **facts: str
) -> None:
    notice = Notice(EventKind.REVIEW, title, "", outcome, facts)
    notifier(definition.notifications, args.json).send(notice)


def _used_cidrs(repo: Path, source: Path, own: str) -> list[str]:
    """Every CIDR a stack file of the head or another review stage here claims."""
    used = [c for stack, c in review_cidrs(repo).items() if stack != own]
    for path in sorted((source / "stacks").glob("Pulumi.*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        config = doc.get("config") or {}
        used += [str(v) for k, v in config.items() if k.endswith(":cidr") and isinstance(v, str)]
    return used


def _review_up(args: argparse.Namespace) -> int:
    definition, name, stacks_dir = _pipeline(args)
    first = definition.pipelines[name].stages[0]
    stack = review_stack(args.pr, name)
    engine = AutomationReview()
    try:
        release = _state(args).releases.get(args.release)
        source = worktree(Path(args.repo), stack, release.commit)
        base = read_stack_yaml(source, first.stack)
        own = review_cidrs(Path(args.repo)).get(stack)  # an update keeps its network
        domain = str((base.get("config") or {}).get(f"{PROJECT}:domain", "review.localhost"))
        used = [] if own else _used_cidrs(Path(args.repo), source, stack)
        who = identity(args.pr, name, domain, used)
        if own:
            who = replace(who, cidr=own)
        existing = {s.stack for s in engine.stacks(source)}
        salt = engine.salt(stack, source) if stack in existing else None
        write_stack_file(source, stack, stack_file(base, who, release.id, release.images), salt)
    except (ReleaseError, StateError, ReviewError, DeployError) as exc:
        raise CommandError(f"refused, nothing deployed:\n{exc}") from None
    from pipeline.promote.orchestrator import stage_policy
    from pipeline.promote.verification import HealthCheck

    pack = Path(args.policy_pack) if args.policy_pack else None
    policy = stage_policy(PROJECT_DIR, pack, None, stacks_dir)(first.stack)
    try:
        outputs = engine.up(stack, source, policy)
    except DeployError as exc:
        _tell(definition, args, f"review stage {stack}: up failed", "failed", pr=str(args.pr))
        return _said(args, "review up", FAILED, f"{stack}: {exc}")
    check = HealthCheck(timeout=args.health_timeout, interval=min(5.0, args.health_timeout))
    verified = check(stack, outputs, release.id)
    urls = {str(k): str(v) for k, v in dict(outputs.get("serviceUrls") or {}).items()}
    data = {"stack": stack, "pr": args.pr, "release": release.id, "cidr": who.cidr, "urls": urls}
    if not verified.ok:
        _tell(definition, args, f"review stage {stack}: not answering", "failed", pr=str(args.pr))
        message = f"{stack} is up but does not answer {release.id}: {verified.detail}"
        return _said(args, "review up", FAILED, message, **data)
    _tell(
        definition, args, f"review stage {stack} runs {release.id}", "up", pr=str(args.pr), **urls
    )
    shown = ", ".join(f"{s} {u}" for s, u in sorted(urls.items()))
    return _said(
        args, "review up", CommandOutcome.UP, f"{stack} runs {release.id}: {shown}", **data
    )


def _down(
    args: argparse.Namespace, definition: PipelineFile, pipeline: str, pr: int
) -> CommandOutcome:
    """Destroy one review stage and forget its stack and worktree; what happened."""
    stack = review_stack(pr, pipeline)
    engine = AutomationReview()
    repo = Path(args.repo)
    source = existing_worktree(repo, stack) or worktree(repo, stack, _commit(repo))
    if stack not in {s.stack for s in engine.stacks(source)}:
        remove(repo, source)
        return CommandOutcome.NOTHING_TO_DESTROY
    stack_path = source / "stacks" / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():  # another machine made it: the same file, the backend's salt
        first = definition.pipelines[pipeline].stages[0]
        base = read_stack_yaml(source, first.stack)
        who = identity(pr, pipeline, "review.localhost", [])
        write_stack_file(
            source, stack, stack_file(base, who, "unreleased", {}), engine.salt(stack, source)
        )
    engine.destroy(stack, source)
    remove(repo, source)
    return CommandOutcome.DESTROYED


def _commit(repo: Path) -> str:
    from pipeline.record.git import Git

    return Git(repo).text("rev-parse", "HEAD")


def _review_down(args: argparse.Namespace) -> int:
    definition, name, _ = _pipeline(args)
    stack = review_stack(args.pr, name)
    try:
        done = _down(args, definition, name, args.pr)
    except (ReviewError, DeployError) as exc:
        return _said(args, "review down", FAILED, f"{stack}: {exc}")
    if done is CommandOutcome.DESTROYED:
        _tell(definition, args, f"review stage {stack} destroyed", "down", pr=str(args.pr))
    return _said(args, "review down", done, f"{stack}: {done}", stack=stack)


def _review_sweep(args: argparse.Namespace) -> int:
    definition, _, _ = _pipeline(args)
    engine = AutomationReview()
    now = datetime.now(UTC)
    ttl = timedelta(seconds=args.ttl_hours * 3600)
    swept, kept, failed = [], [], []
    try:
        summaries = engine.stacks(Path(args.repo))
    except DeployError as exc:
        return _said(args, "review sweep", FAILED, str(exc))
    for summary in summaries:
        parsed = parse_stack(summary.stack.rsplit("/", 1)[-1])
        if parsed is None or parsed[1] not in definition.pipelines:
            continue
        if args.pipeline and parsed[1] != args.pipeline:
            continue
        updated = summary.last_update
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)  # the CLI's lastUpdate is UTC
        if updated is not None and now - updated < ttl:
            kept.append(summary.stack)
            continue
        try:
            _down(args, definition, parsed[1], parsed[0])
        except (ReviewError, DeployError) as exc:
            failed.append(f"{summary.stack}: {exc}")
            continue
        swept.append(summary.stack)
        _tell(definition, args, f"review stage {summary.stack} expired and destroyed", "down")
    message = f"destroyed {len(swept)} expired review stage(s), kept {len(kept)}" + "".join(
        f"; {f}" for f in failed
    )
    outcome = CommandOutcome.STOPPED if failed else CommandOutcome.SWEPT
    return _said(args, "review sweep", outcome, message, swept=swept, kept=kept)


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected hours, 0 or more, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pipeline", metavar="NAME", help="default: the first in the file")
    record_options(parser)


def register(commands: Any) -> None:
    group = command_group(
        commands,
        "review",
        help="short-lived review stages, one per pull request",
        description="A review stage is the blueprint at the scale of its pipeline's first"
        " stage under names, a network and ports of its own. It is in no pipeline: never a"
        " promotion target, never written to stages/*.",
    )
    exits = {EXIT_OK: "done", EXIT_STOPPED: "the engine failed", EXIT_INVALID: "bad input"}
    up = action(
        group,
        "up",
        _review_up,
        help="create or update the review stage of a pull request and print its URLs",
        description="Deploy RELEASE (its infrastructure commit, the pull request's head, and"
        " its images) as the review stage pr<N>-<pipeline>, then check its health paths.",
        exits=exits,
    )
    up.add_argument(
        "--pr", type=positive_int, required=True, metavar="N", help="the pull request's number"
    )
    up.add_argument("--release", required=True, metavar="RELEASE", help="the head's release")
    policy_pack_option(up)
    health_timeout_option(up, "the check")
    _common(up)
    down = action(
        group,
        "down",
        _review_down,
        help="destroy a pull request's review stage",
        description="Destroy the review stage pr<N>-<pipeline>, remove its stack from the"
        " backend and its worktree; a pull request without one has nothing to destroy.",
        exits=exits,
    )
    down.add_argument(
        "--pr", type=positive_int, required=True, metavar="N", help="the pull request's number"
    )
    _common(down)
    sweep = action(
        group,
        "sweep",
        _review_sweep,
        help="destroy review stages not updated within the time-to-live",
        description="Destroy every review stage (of --pipeline, else of every pipeline) whose"
        " stack was last updated longer ago than --ttl-hours: the pull requests forgotten.",
        exits=exits,
    )
    sweep.add_argument(
        "--ttl-hours",
        type=_hours,
        default=72.0,
        metavar="HOURS",
        help="a review stage not updated for this long is destroyed (default 72)",
    )
    _common(sweep)
