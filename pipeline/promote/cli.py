"""Subcommands: ``release``, ``promote``, ``status``, ``history``, ``metrics``, ``ledger``.

Exit codes: 0 done, 1 stopped (a gate, a failed update or verification, a rollback), 2 refused
(bad input; nothing deployed, nothing written), 3 busy (another promotion or update holds a lock),
130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline.arguments import existing_directory, state_directory
from pipeline.definition import PipelineFile, load_pipeline
from pipeline.promote.deployer import Deployer
from pipeline.promote.events import JsonLines, Progress
from pipeline.promote.ledger import LedgerError
from pipeline.promote.orchestrator import (
    EXIT_INVALID,
    EXIT_OK,
    Orchestrator,
    PromotionError,
    Request,
    stage_policy,
)
from pipeline.promote.release import ReleaseError, make_release, parse_images
from pipeline.promote.state import FileState, PromotionState, StateError, StateUnverifiedError

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--remote",
        default="origin",
        metavar="NAME",
        help="git remote holding the stageline/state and stages/* branches (default: origin)",
    )
    parser.add_argument(
        "--state-dir",
        type=state_directory,
        metavar="DIR",
        help="keep releases, ledger and locks in a local directory instead (one machine only)",
    )
    parser.add_argument(
        "--repo",
        type=existing_directory,
        default=str(PROJECT_DIR),
        metavar="DIR",
        help="the git checkout (default: .)",
    )
    parser.add_argument(
        "--stacks-dir", type=existing_directory, metavar="DIR", help=argparse.SUPPRESS
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _fail(message: str, code: int = EXIT_INVALID) -> int:
    print(message, file=sys.stderr)
    return code


def _stacks_dir(args: argparse.Namespace) -> Path:
    return Path(args.stacks_dir) if args.stacks_dir else Path(args.repo) / "stacks"


def _state(args: argparse.Namespace) -> PromotionState:
    """The shared git state on ``--remote`` (default), or a local ``--state-dir``."""
    if args.state_dir:
        return FileState(Path(args.state_dir))
    from pipeline.record.state import GitState

    return GitState(Path(args.repo), args.remote)


def _work_dir(args: argparse.Namespace, state: PromotionState) -> Path:
    """Where local scratch files go: the state dir, or .git/stageline of the checkout."""
    git_dir = getattr(state, "git_dir", None)
    return Path(args.state_dir) if args.state_dir else Path(git_dir or ".") / "stageline"


def _definition(args: argparse.Namespace) -> PipelineFile:
    return load_pipeline(_stacks_dir(args))


def _services(stacks_dir: Path, definition: PipelineFile) -> frozenset[str]:
    """The blueprint's services, read from the first stage's spec (shape never differs)."""
    from components.spec import read_stack

    first = next(s.stack for p in definition.pipelines.values() for s in p.stages)
    return frozenset(read_stack(stacks_dir, first).spec().shape.services)


def make_deployer(spec: str, project_dir: Path, stacks_dir: Path, state_dir: Path) -> Deployer:
    """``automation`` (default) or ``MODULE:FACTORY`` called with (project, stacks, state) dirs."""
    if spec == "automation":
        from pipeline.promote.automation import AutomationDeployer

        return AutomationDeployer(project_dir)
    module, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    deployer: Deployer = factory(project_dir, stacks_dir, state_dir)
    return deployer


# ---------------------------------------------------------------------- release


def _release_create(args: argparse.Namespace) -> int:
    try:
        definition = _definition(args)
        services = _services(_stacks_dir(args), definition)
        images = parse_images(args.image or [], services)
        release, created = _state(args).save_release(make_release(Path(args.repo), images))
    except (ReleaseError, SpecError, StateUnverifiedError) as exc:
        return _fail(f"release create: refused, nothing written:\n{exc}")
    except StateError as exc:
        return _fail(f"release create: not recorded:\n{exc}", 1)
    if args.json:
        print(json.dumps(release.to_json(), indent=2))
    else:
        print(f"{release.id} ({'created' if created else 'exists already, unchanged'})")
    return EXIT_OK


def _release_show(args: argparse.Namespace) -> int:
    try:
        release = _state(args).releases.get(args.release)
    except (ReleaseError, StateError) as exc:
        return _fail(str(exc))
    print(json.dumps(release.to_json(), indent=2))
    return EXIT_OK


def _release_list(args: argparse.Namespace) -> int:
    try:
        releases = _state(args).releases.all()
    except StateError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps([r.to_json() for r in releases], indent=2))
    for release in releases if not args.json else []:
        print(f"{release.id}  {release.created}  {release.commit[:12]}  {release.policy_pack}")
    return EXIT_OK


# ---------------------------------------------------------------------- promote


def _confirm_on_terminal(stage: str, release: str, reason: str) -> str | None:
    print(f"{reason}. Type the stage name ({stage}) to promote {release}:", file=sys.stderr)
    try:
        answer = input("> ").strip()
    except EOFError:
        return None
    return getpass.getuser() if answer == stage else None


def _promote(args: argparse.Namespace) -> int:
    if args.approve != bool(args.approver):
        return _fail("promote: --approve and --approver NAME go together (who approved?)")
    events = JsonLines() if args.json else Progress()
    request = Request(
        args.release,
        args.to,
        args.pipeline,
        rollback=args.rollback,
        auto=args.auto,
        approver=args.approver,
    )
    stacks_dir = _stacks_dir(args)
    try:
        definition = _definition(args)
        services = _services(stacks_dir, definition)
        state = _state(args)
    except SpecError as exc:
        return _fail(f"promote: invalid configuration, nothing deployed:\n{exc}")
    except StateError as exc:
        return _fail(f"promote: refused, nothing deployed:\n{exc}")
    state_dir = _work_dir(args, state)
    policy = stage_policy(
        PROJECT_DIR,
        Path(args.policy_pack) if args.policy_pack else None,
        Path(args.policy_pack_config) if args.policy_pack_config else None,
        stacks_dir,
    )
    if args.rehearse:
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
            )
        except (PromotionError, StateError) as exc:
            return _fail(f"promote --rehearse: {exc}")
        if args.json:
            print(json.dumps(report.to_json(), sort_keys=True))
        else:
            print(report.markdown())
        return report.exit_code()
    confirm = _confirm_on_terminal if sys.stdin.isatty() and not args.json else None
    try:
        deployer, verify = _deployer(args, state, stacks_dir, state_dir)
    except StateError as exc:
        return _fail(f"promote: refused, nothing deployed:\n{exc}")
    orchestrator = Orchestrator(
        deployer,
        definition,
        state_dir,
        state=state,
        policy=policy,
        verify=verify,
        events=events,
        confirm=confirm,
        services=services,
    )
    outcome = orchestrator.promote(request)
    if args.json:
        events("result", **outcome.to_json())
    else:
        print(f"promote: {outcome.outcome}: {outcome.message}", file=sys.stderr)
    return outcome.code


def _deployer(
    args: argparse.Namespace, state: PromotionState, stacks_dir: Path, work_dir: Path
) -> tuple[Deployer, Any]:
    """The deployer ``--deployer`` names and how its stages are verified."""
    from pipeline.promote.verification import HealthCheck

    if args.deployer == "offline":
        from pipeline.record.offline import RecordDeployer, offline_verify
        from pipeline.record.state import GitState

        if not isinstance(state, GitState):
            raise StateError(
                "--deployer offline keeps what each stage runs in git: it needs the git state"
                " (a --remote), not --state-dir"
            )
        return RecordDeployer(Path(args.repo), state, work_dir / "offline"), offline_verify
    timeout = getattr(args, "health_timeout", 300.0)
    deployer = make_deployer(args.deployer, PROJECT_DIR, stacks_dir, work_dir)
    return deployer, HealthCheck(timeout=timeout, interval=min(5.0, timeout))


# ---------------------------------------------------------------------- status & co


def _view(args: argparse.Namespace, state: PromotionState) -> Any:
    from pipeline.promote.history import LedgerView

    check = state.verify()
    if not check.ok:
        print(
            "warning: the ledger does not verify:\n  " + "\n  ".join(check.problems),
            file=sys.stderr,
        )
        if isinstance(state, FileState):
            return LedgerView(state.entries())
        return LedgerView([])  # an unverified shared state is not adopted
    return LedgerView(state.entries())


def _read_only(command: Any) -> Any:
    """A read-only command reports a bad ledger line or pipeline file in one line (exit 2)."""

    def run(args: argparse.Namespace) -> int:
        try:
            code: int = command(args)
        except LedgerError as exc:
            return _fail(f"{args.command}: cannot read the ledger: {exc}")
        except SpecError as exc:
            return _fail(f"{args.command}: invalid configuration:\n{exc}")
        return code

    return run


@_read_only
def _status(args: argparse.Namespace) -> int:
    from pipeline.promote.insight import status

    definition = _definition(args)
    name = args.pipeline or next(iter(definition.pipelines))
    if name not in definition.pipelines:
        return _fail(
            f"status: no pipeline {name!r}; expected one of {sorted(definition.pipelines)}"
        )
    try:
        state = _state(args)
        view = _view(args, state)
    except StateError as exc:
        return _fail(f"status: {exc}")
    if args.offline:
        from components.spec import read_stack

        def outputs(stack: str) -> dict[str, Any]:
            record = state.stage_record(stack)
            if record is not None:  # what git records the stage runs
                return {"release": record["release"]}
            return {"release": read_stack(_stacks_dir(args), stack).values.get("stageline:release")}
    else:
        try:
            deployer, _ = _deployer(args, state, _stacks_dir(args), _work_dir(args, state))
        except StateError as exc:
            return _fail(f"status: {exc}")
        outputs = deployer.outputs  # type: ignore[assignment]
    rows = status(definition.pipelines[name], outputs, view, records=state.stage_record)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return EXIT_OK
    print(f"{'stage':<10} {'runs':<22} {'last verified':<50} next")
    for row in rows:
        upcoming = f"{row.next_release}: {row.next_verdict}" if row.next_release else "-"
        print(f"{row.stack:<10} {row.runs or '-':<22} {row.verified or '-':<50} {upcoming}")
    return EXIT_OK


@_read_only
def _history(args: argparse.Namespace) -> int:
    try:
        view = _view(args, _state(args))
    except StateError as exc:
        return _fail(f"history: {exc}")
    entries = [e for e in view.entries if not args.stage or e.get("stage") == args.stage]
    entries = entries[-args.limit :] if args.limit else entries
    if args.json:
        for entry in entries:
            print(json.dumps(entry, sort_keys=True))
        return EXIT_OK
    for e in entries:
        where = f"{e.get('stage', '')}:{e['step']}" if e.get("stage") else e["step"]
        what = e.get("status") or e.get("outcome") or ""
        print(
            f"{e['seq']:>5} {e['time']}  {e.get('release', ''):<20} {where:<22} {what:<10}"
            f" {e.get('detail') or ''}".rstrip()
        )
    return EXIT_OK


@_read_only
def _metrics(args: argparse.Namespace) -> int:
    from pipeline.promote.insight import metrics

    definition = _definition(args)
    pipeline = definition.pipelines[args.pipeline or next(iter(definition.pipelines))]
    stage = args.stage or pipeline.stages[-1].stack
    try:
        state = _state(args)
        view = _view(args, state)
        commit_times = {r.id: r.commit_time for r in state.releases.all()}
    except StateError as exc:
        return _fail(f"metrics: {exc}")
    result = metrics(view, stage, commit_times, days=args.days)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<26} {value}")
    return EXIT_OK


def _ledger_verify(args: argparse.Namespace) -> int:
    try:
        check = _state(args).verify()
    except (LedgerError, StateError) as exc:
        return _fail(str(exc), 1)
    if args.json:
        print(json.dumps({"entries": check.entries, "problems": check.problems, "ok": check.ok}))
    elif check.ok:
        print(f"ledger: {check.entries} entries, chain and head verify")
    else:
        print("ledger: does NOT verify:\n  " + "\n  ".join(check.problems), file=sys.stderr)
    return EXIT_OK if check.ok else 1


def register(commands: Any) -> None:
    release = commands.add_parser("release", help="make and inspect immutable releases")
    release_commands = release.add_subparsers(dest="release_command", required=True)
    create = release_commands.add_parser(
        "create",
        help="record a release: every service's digest, the commit and the policy pack",
    )
    create.add_argument(
        "--image", action="append", metavar="SERVICE=REPO@sha256:DIGEST", help="repeat per service"
    )
    _common(create)
    create.set_defaults(func=_release_create)
    show = release_commands.add_parser("show", help="print one release")
    show.add_argument("release")
    _common(show)
    show.set_defaults(func=_release_show)
    listing = release_commands.add_parser("list", help="every stored release, oldest first")
    _common(listing)
    listing.set_defaults(func=_release_list)

    promote = commands.add_parser(
        "promote",
        help="move a release through the pipeline up to a stage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    promote.add_argument("release", metavar="RELEASE")
    promote.add_argument("--to", required=True, metavar="STAGE")
    promote.add_argument("--pipeline", metavar="NAME", help="default: the first in the file")
    promote.add_argument("--rollback", action="store_true", help="return STAGE to RELEASE")
    promote.add_argument("--auto", action="store_true", help="continuous deployment (autoPromote)")
    promote.add_argument("--approve", action="store_true", help="approve stages that need it")
    promote.add_argument("--approver", metavar="NAME", help="who approved (with --approve)")
    promote.add_argument("--rehearse", action="store_true", help="offline: diff, policy, gates")
    promote.add_argument("--policy-pack", metavar="DIR", help="default: policies/")
    promote.add_argument(
        "--policy-pack-config", metavar="FILE", help="default: policies/config/<stage>.json"
    )
    promote.add_argument(
        "--deployer",
        default="automation",
        metavar="automation|offline|MODULE:FACTORY",
        help="automation: Pulumi (default); offline: the mock renderer, no cloud (see docs)",
    )
    promote.add_argument(
        "--health-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long verification waits for the health paths (default 300)",
    )
    _common(promote)
    promote.set_defaults(func=_promote)

    stat = commands.add_parser("status", help="which release each stage runs, what may move next")
    stat.add_argument("--pipeline", metavar="NAME")
    stat.add_argument("--offline", action="store_true", help="read stack files, not stack outputs")
    stat.add_argument(
        "--deployer", default="automation", metavar="automation|offline|MODULE:FACTORY"
    )
    _common(stat)
    stat.set_defaults(func=_status)

    history = commands.add_parser("history", help="the ledger, oldest first")
    history.add_argument("--stage", metavar="STACK")
    history.add_argument("--limit", type=int, default=0, metavar="N", help="last N entries")
    _common(history)
    history.set_defaults(func=_history)

    metric = commands.add_parser("metrics", help="deployment frequency, lead time, CFR, restore")
    metric.add_argument("--pipeline", metavar="NAME")
    metric.add_argument("--stage", metavar="STACK", help="default: the pipeline's last stage")
    metric.add_argument("--days", type=int, default=30)
    _common(metric)
    metric.set_defaults(func=_metrics)

    ledger = commands.add_parser("ledger", help="check the promotion ledger")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_commands.add_parser("verify", help="detect edited, removed or moved entries")
    _common(verify)
    verify.set_defaults(func=_ledger_verify)

    stages = commands.add_parser(
        "stages", help="the pipelines' stages as CI reads them (JSON): targets, clouds, soak"
    )
    _common(stages)
    stages.set_defaults(func=_stages)

    record = commands.add_parser("record", help="the stage records in git (stages/<stack>)")
    record_commands = record.add_subparsers(dest="record_command", required=True)
    pin = record_commands.add_parser(
        "pin",
        help="pin a stage's recorded release and digests into this checkout's stack file",
        description="So a preview of this checkout shows only its own change, not the images"
        " reverting to what main's stack file pins.",
    )
    pin.add_argument("--stack", required=True, metavar="STACK")
    _common(pin)
    pin.set_defaults(func=_record_pin)


# ---------------------------------------------------------------------- CI helpers


def _stages(args: argparse.Namespace) -> int:
    """Per pipeline: its cloud, the stage CI promotes to without approval (``auto``), the
    stages that need approval, and the soak before them; and every stack with its cloud."""
    from components.spec import read_stack

    definition = _definition(args)
    stacks_dir = _stacks_dir(args)
    pipelines, stacks = [], []
    for name, pipeline in definition.pipelines.items():
        cloud = read_stack(stacks_dir, pipeline.stages[0].stack).values.get(
            "stageline:cloud", "aws"
        )
        auto = None
        for stage in pipeline.stages:
            if not stage.auto_promote or stage.approval == "required":
                break
            auto = stage
        approved = [s for s in pipeline.stages if s.approval == "required"]
        before = pipeline.stages[pipeline.stages.index(approved[0]) - 1] if approved else None
        pipelines.append(
            {
                "pipeline": name,
                "cloud": cloud,
                "auto": auto.stack if auto else None,
                "approved": [s.stack for s in approved],
                "soakMinutes": before.soak_minutes if before else 0,
            }
        )
        stacks += [
            {
                "stack": s.stack,
                "stage": s.stage or s.stack,  # the pipeline file binds each stack to its stage
                "pipeline": name,
                "cloud": cloud,
            }
            for s in pipeline.stages
        ]
    print(json.dumps({"pipelines": pipelines, "stacks": stacks}, sort_keys=True))
    return EXIT_OK


def _record_pin(args: argparse.Namespace) -> int:
    from pipeline.record.stage import STACK_FILE, pin_stack_file

    try:
        record = _state(args).stage_record(args.stack)
    except StateError as exc:
        return _fail(f"record pin: {exc}")
    if record is None:
        print(f"{args.stack}: no record yet; the stack file stays as it is", file=sys.stderr)
        return EXIT_OK
    path = Path(args.repo) / STACK_FILE.format(stack=args.stack)
    try:
        path.write_bytes(pin_stack_file(path.read_bytes(), record["release"], record["images"]))
    except OSError as exc:
        return _fail(f"record pin: {path}: {exc}")
    print(f"{path}: pinned {record['release']} from stages/{args.stack}", file=sys.stderr)
    return EXIT_OK
