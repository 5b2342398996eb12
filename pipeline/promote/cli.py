"""Subcommands: ``release``, ``promote``, ``status``, ``history``, ``metrics``, ``ledger``.

Argument parsing, help and messages only; the promotion itself lives in the orchestrator.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from components.spec import SpecError
from components.spec.loader import PROJECT
from pipeline import contract
from pipeline.arguments import (
    action,
    at_most,
    command_group,
    existing_directory,
    existing_file,
    policy_pack,
    positive_int,
    positive_seconds,
    state_directory,
)
from pipeline.definition import PipelineFile, Promotion, load_pipeline
from pipeline.promote.deployer import Deployer, DeployError
from pipeline.promote.events import JsonLines, Progress
from pipeline.promote.gates import FreezeOverride
from pipeline.promote.ledger import LedgerError
from pipeline.promote.model import CommandOutcome, exit_code
from pipeline.promote.orchestrator import (
    EXIT_BUSY,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PROPOSED,
    EXIT_STOPPED,
    Orchestrator,
    PromotionError,
    Request,
    stage_policy,
)
from pipeline.promote.release import ReleaseError, make_release, parse_images
from pipeline.promote.state import FileState, PromotionState, StateError, StateUnverifiedError
from pipeline.record.identity import approver_source
from pipeline.usage import CommandError, unknown

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
HISTORY_SHOWN = 50  # ledger entries `history` prints by default (--all for every one)


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
    parser.add_argument(
        "--json", action="store_true", help="JSON Lines events ending in one result (docs/json.md)"
    )


def _protected_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protected-branch",
        metavar="BRANCH",
        help="the reviewed branch on --remote whose pipeline file and policy configs govern"
        " promotions, and which a release's commit must be on to enter staging and live"
        " (default: the remote's default branch)",
    )


def _fail(message: str, code: int = EXIT_INVALID) -> int:
    """Refuse with one message (``main`` prefixes the command) and, with --json, a result."""
    raise CommandError(message, code)


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
    """The blueprint's services, from ``blueprint.yaml``: one list for every pipeline and cloud
    (a release is built once, whichever substrate runs it)."""
    from components.spec.blueprint import load_blueprint

    return frozenset(load_blueprint().services)


PULUMI_MISSING = (
    "the Pulumi CLI is not installed (https://www.pulumi.com/docs/iac/download-install/)"
)


def make_deployer(spec: str, project_dir: Path, stacks_dir: Path, state_dir: Path) -> Deployer:
    """``automation`` (default) or ``MODULE:FACTORY`` called with (project, stacks, state) dirs.
    Raises CommandError (exit 2) for a factory that cannot be found or a missing Pulumi CLI."""
    if spec == "automation":
        from pipeline.promote.automation import AutomationDeployer

        if shutil.which("pulumi") is None:
            raise CommandError(PULUMI_MISSING)
        return AutomationDeployer(project_dir)
    module, colon, attr = spec.partition(":")
    if not colon or not module or not attr:
        raise CommandError(f"--deployer {spec!r}: expected automation, offline or MODULE:FACTORY")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        raise CommandError(f"--deployer {spec}: no module named {exc.name!r}") from None
    except AttributeError:
        raise CommandError(f"--deployer {spec}: module {module!r} has no {attr!r}") from None
    deployer: Deployer = factory(project_dir, stacks_dir, state_dir)
    return deployer


def _pipeline_name(definition: PipelineFile, given: str | None, stage: str | None = None) -> str:
    """``--pipeline`` if given (checked), else the one pipeline holding ``stage``, else the
    first in the file."""
    if given is not None:
        if given not in definition.pipelines:
            raise unknown("pipeline", given, definition.pipelines)
        return given
    if stage is not None:
        holding = [n for n, p in definition.pipelines.items() if stage in _stacks(p)]
        if len(holding) == 1:
            return holding[0]
    return next(iter(definition.pipelines))


def _stacks(pipeline: Any) -> list[str]:
    return [s.stack for s in pipeline.stages]


def _known_stage(definition: PipelineFile, stage: str, also: set[str] | None = None) -> None:
    """Refuse a stage that is neither in the pipeline file nor (``also``) in the ledger."""
    every = {s for _, s in definition.stacks()} | (also or set())
    if stage not in every:
        raise unknown("stage", stage, every)


# ---------------------------------------------------------------------- release


def _release_create(args: argparse.Namespace) -> int:
    try:
        definition = _definition(args)
        services = _services(_stacks_dir(args), definition)
        images = parse_images(args.image or [], services)
        release, created = _state(args).save_release(make_release(Path(args.repo), images))
    except (ReleaseError, SpecError, StateUnverifiedError) as exc:
        return _fail(f"refused, nothing written:\n{exc}")
    except StateError as exc:
        return _fail(f"not recorded:\n{exc}", 1)
    unreviewed = _unreviewed(args, release, definition)
    if unreviewed and not args.json:
        print(f"note: {unreviewed}", file=sys.stderr)
    if args.json:
        contract.event("release", **release.to_json())
        contract.result(
            "release create",
            EXIT_OK,
            f"{release.id} {'created' if created else 'exists already, unchanged'}",
            outcome=CommandOutcome.CREATED if created else CommandOutcome.EXISTS,
            release=release.id,
            unreviewed=unreviewed,
        )
    else:
        print(f"{release.id} ({'created' if created else 'exists already, unchanged'})")
    return EXIT_OK


def _unreviewed(args: argparse.Namespace, release: Any, definition: PipelineFile) -> str | None:
    """Which stages a release may not enter because its commit is not on the protected branch
    (None: it is, or there is no protected branch to ask: a local --state-dir)."""
    if args.state_dir:
        return None
    from pipeline.record.governance import read_governance
    from pipeline.record.state import GitState

    try:
        state = GitState(Path(args.repo), args.remote)
        governance = read_governance(state.git, state.git_dir, args.remote, args.protected_branch)
    except StateError as exc:
        return f"cannot tell whether commit {release.commit[:12]} was reviewed: {exc}"
    if governance.reviewed(release.commit):
        return None
    stages = [
        s.stack for p in definition.pipelines.values() for s in p.stages if s.needs_reviewed_code()
    ]
    return (
        f"commit {release.commit[:12]} is not on {governance.where}, the protected branch:"
        f" {release.id} may not enter {', '.join(stages)} (they take only reviewed code)"
        " until it is merged"
    )


def _release_show(args: argparse.Namespace) -> int:
    try:
        release = _state(args).releases.get(args.release)
    except (ReleaseError, StateError) as exc:
        return _fail(str(exc))
    if args.json:
        contract.event("release", **release.to_json())
        contract.result("release show", EXIT_OK, release.id, release=release.id)
    else:
        print(json.dumps(release.to_json(), indent=2))
    return EXIT_OK


def _release_list(args: argparse.Namespace) -> int:
    try:
        releases = _state(args).releases.all()
    except StateError as exc:
        return _fail(str(exc))
    if args.json:
        for release in releases:
            contract.event("release", **release.to_json())
        contract.result("release list", EXIT_OK, f"{len(releases)} release(s)")
        return EXIT_OK
    if not releases:
        print("no releases yet; make one with `python -m pipeline release create`", file=sys.stderr)
        return EXIT_OK
    from pipeline import terminal
    from pipeline.promote.tables import releases_table

    print(releases_table(releases, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK


# ---------------------------------------------------------------------- promote


def _confirm_on_terminal(stage: str, release: str, reason: str) -> str | None:
    print(f"{reason}. Type the stage name ({stage}) to promote {release}:", file=sys.stderr)
    try:
        answer = input("> ").strip()
    except EOFError:
        return None
    return getpass.getuser() if answer == stage else None


def _rehearsal_message(report: Any) -> str:
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


def _promote(args: argparse.Namespace) -> int:
    if args.approve != bool(args.approver):
        return _fail("--approve and --approver NAME go together (who approved?)")
    if args.override_freeze is not None and not (args.approver and args.override_freeze.strip()):
        return _fail(
            "--override-freeze REASON needs a reason and --approve --approver NAME (who decided"
            " to go ahead inside the freeze window?)"
        )
    if bool(args.reviewer) != bool(args.proposer) or (args.reviewer and not args.merged):
        return _fail(
            "--reviewer and --proposer go together, with --merged (the pull request's reviewer"
            " and author, from the forge)"
        )
    stacks_dir = _stacks_dir(args)
    try:
        definition = _definition(args)
        services = _services(stacks_dir, definition)
    except SpecError as exc:
        return _fail(f"invalid configuration, nothing deployed:\n{exc}")
    every_stage = [s for p in definition.pipelines.values() for s in _stacks(p)]
    events = JsonLines() if args.json else Progress(stages=every_stage)
    try:
        return _promote_with(args, definition, services, stacks_dir, events)
    finally:
        if isinstance(events, Progress):
            events.close()


def _promote_with(
    args: argparse.Namespace,
    definition: PipelineFile,
    services: frozenset[str],
    stacks_dir: Path,
    events: JsonLines | Progress,
) -> int:
    pipeline = _pipeline_name(definition, args.pipeline, args.to)
    if args.to not in _stacks(definition.pipelines[pipeline]):
        every = [s for p in definition.pipelines.values() for s in _stacks(p)]
        raise unknown("stage", args.to, every)
    request = Request(
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
    try:
        state = _state(args)
    except StateError as exc:
        return _fail(f"refused, nothing deployed:\n{exc}")
    state_dir = _work_dir(args, state)
    policy = stage_policy(
        PROJECT_DIR,
        Path(args.policy_pack) if args.policy_pack else None,
        Path(args.policy_pack_config) if args.policy_pack_config else None,
        stacks_dir,
    )
    governance = None
    if not args.state_dir:
        try:
            governance, definition, policy = _governed(args, state, stacks_dir, definition, policy)
        except (StateError, SpecError) as exc:
            return _fail(f"refused, nothing deployed:\n{exc}")
        except GovernedElsewhereError as exc:
            if not args.rehearse:
                return _fail(f"refused, nothing deployed:\n{exc}")
            governance = exc.governance  # still says whether the release's code was reviewed
            events("note", message=f"rehearsed with the working tree's files: {exc}")
    if args.rehearse:
        try:
            return _rehearse(
                args, state, stacks_dir, definition, request, policy, events, governance
            )
        finally:
            _prune_worktrees(state)  # a rehearsal checks out the records and the release too
    confirm = _confirm_on_terminal if sys.stdin.isatty() and not args.json else None
    try:
        deployer, verify = _deployer(args, state, stacks_dir, state_dir)
    except StateError as exc:
        return _fail(f"refused, nothing deployed:\n{exc}")
    except CommandError as exc:
        hint = "; nothing deployed (--rehearse works without it)"
        raise CommandError(f"{exc}{hint if str(exc) == PULUMI_MISSING else ''}") from None
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
        images=_copier(args),
        governance=governance,
        approver_source=approver_source(),
    )
    try:
        outcome = orchestrator.promote(request)
    except DeployError as exc:
        raise CommandError(f"stopped: {exc}", EXIT_STOPPED) from None
    finally:
        _prune_worktrees(state)
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


class GovernedElsewhereError(Exception):
    """The working tree's governing files are not the protected branch's."""

    def __init__(self, message: str, governance: Any) -> None:
        super().__init__(message)
        self.governance = governance


def _governed(
    args: argparse.Namespace,
    state: PromotionState,
    stacks_dir: Path,
    definition: PipelineFile,
    policy: Any,
) -> tuple[Any, PipelineFile, Any]:
    """The protected branch's pipeline file and policy configs, and the policy options they
    give each stage. Raises GovernedElsewhereError (with what governs) when the working tree's
    copies differ: a promotion refuses, a rehearsal goes on with the working tree's, saying so."""
    from pipeline.record.git import blob_id
    from pipeline.record.governance import read_governance
    from pipeline.record.state import GitState

    assert isinstance(state, GitState)
    governance = read_governance(state.git, state.git_dir, args.remote, args.protected_branch)
    differ = governance.differences(Path(args.repo), stacks_dir)
    explicit = Path(args.policy_pack_config) if args.policy_pack_config else None
    if explicit and blob_id(explicit.read_bytes()) not in governance.policy_blobs.values():
        differ.append(f"--policy-pack-config {explicit.name} (no reviewed policy config)")
    governed = governance.definition()
    if differ:
        raise GovernedElsewhereError(
            f"{', '.join(differ)} differ(s) from {governance.where}, the protected branch that"
            " governs promotions: merge the change through review, or restore the file(s)",
            governance,
        )
    return governance, governed, policy if explicit else governance.policy(policy, governed)


def _copier(args: argparse.Namespace) -> Any:
    """Each release image is copied into a real stage's registry before its preview (skopeo, or
    ``az acr import`` into Azure registries); the offline deployer's registries are the
    renderer's, so nothing is copied there."""
    from pipeline.promote.images import StageRegistries

    return None if args.deployer == "offline" else StageRegistries()


def _rehearse(
    args: argparse.Namespace,
    state: PromotionState,
    stacks_dir: Path,
    definition: PipelineFile,
    request: Request,
    policy: Any,
    events: JsonLines | Progress,
    governance: Any,
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
        return _fail(f"--rehearse: {exc}")
    if args.json:
        code = report.exit_code()
        rehearsal = {k: v for k, v in report.to_json().items() if k != "exitCode"}
        contract.result(
            "promote",
            code,
            _rehearsal_message(report),
            outcome=CommandOutcome.BLOCKED if code else CommandOutcome.REHEARSED,
            rehearsal=rehearsal,
        )
    else:
        print(report.markdown())
    return report.exit_code()


def _prune_worktrees(state: PromotionState) -> None:
    """Old releases' worktrees under .git/stageline/worktrees do not accumulate (git state)."""
    prune = getattr(state, "prune_worktrees", None)
    if prune is not None:
        from pipeline.record.git import GitError

        with contextlib.suppress(GitError, OSError):  # best effort: the next one tries again
            prune()


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


def _checked(state: PromotionState) -> bool:
    """Verify the ledger (notes and problems to stderr); whether its entries may be shown."""
    check = state.verify()  # a LedgerError is reported by _read_only
    for note in check.notes:
        print(f"note: {note}", file=sys.stderr)
    if not check.ok:
        print(
            "warning: the ledger does not verify:\n  " + "\n  ".join(check.problems),
            file=sys.stderr,
        )
        return isinstance(state, FileState)  # an unverified shared state is not adopted
    return True


def _view(args: argparse.Namespace, state: PromotionState, whole: bool = False) -> Any:
    """The ledger's view for the gates (``whole``: over every entry, for metrics)."""
    from pipeline.promote.history import LedgerView

    if not _checked(state):
        return LedgerView([])
    return LedgerView(state.entries() if whole else state.decisive())


def _read_only(command: Any) -> Any:
    """A read-only command reports a bad ledger line or pipeline file in one line (exit 2)."""

    def run(args: argparse.Namespace) -> int:
        try:
            code: int = command(args)
        except LedgerError as exc:
            return _fail(f"cannot read the ledger: {exc}")
        except SpecError as exc:
            return _fail(f"invalid configuration:\n{exc}")
        return code

    return run


@_read_only
def _status(args: argparse.Namespace) -> int:
    from pipeline.promote.insight import status

    definition = _definition(args)
    name = _pipeline_name(definition, args.pipeline)
    try:
        state = _state(args)
        view = _view(args, state)
    except StateError as exc:
        return _fail(str(exc))
    if args.offline:
        from components.spec import read_stack

        def outputs(stack: str) -> dict[str, Any]:
            record = state.stage_record(stack)
            if record is not None:  # what git records the stage runs
                return {"release": record["release"]}
            config = read_stack(_stacks_dir(args), stack).values
            return {"release": config.get(f"{PROJECT}:release")}
    else:
        try:
            deployer, _ = _deployer(args, state, _stacks_dir(args), _work_dir(args, state))
        except StateError as exc:
            return _fail(str(exc))
        except CommandError as exc:
            if str(exc) == PULUMI_MISSING:
                raise CommandError(f"{exc}; --offline reads the stack files instead") from None
            raise
        outputs = deployer.outputs  # type: ignore[assignment]
    rows = status(
        definition.pipelines[name],
        outputs,
        view,
        records=state.stage_record,
        created={r.id: r.created for r in state.releases.all()},
        code=_code_review(args, state),
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


def _code_review(args: argparse.Namespace, state: PromotionState) -> Any:
    """Whether a release's commit is on the protected branch (None: a local --state-dir, or the
    branch cannot be read; the reviewed gate is then not shown)."""
    if args.state_dir:
        return None
    from pipeline.promote.gates import CodeReview
    from pipeline.record.governance import read_governance
    from pipeline.record.state import GitState

    assert isinstance(state, GitState)
    try:
        governance = read_governance(state.git, state.git_dir, args.remote, None)
    except StateError:
        return None

    def code(release: str) -> CodeReview | None:
        try:
            commit = state.releases.get(release).commit
        except (ReleaseError, StateError):
            return None
        return CodeReview(commit, governance.where, governance.reviewed(commit))

    return code


@_read_only
def _history(args: argparse.Namespace) -> int:
    try:
        state = _state(args)
        shown = _checked(state)
        if args.stage:
            _known_stage(_definition(args), args.stage, state.ledger_stages() if shown else None)
        # A person reads the recent end; a tool reading --json gets every entry unless it asks.
        limit = None if args.all else args.limit or (None if args.json else HISTORY_SHOWN)
        entries = state.recent(limit or 0, args.stage) if shown else []
        # The whole count, which the state knows without reading every entry.
        counted = shown and limit and len(entries) == limit and not args.stage
        total = state.head()[0] if counted else None
    except StateError as exc:
        return _fail(str(exc))
    if args.json:
        for entry in entries:
            contract.event("entry", **entry)  # "time" is the entry's own
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


@_read_only
def _metrics(args: argparse.Namespace) -> int:
    from pipeline.promote.insight import metrics

    definition = _definition(args)
    pipeline = definition.pipelines[_pipeline_name(definition, args.pipeline, args.stage)]
    stage = args.stage or pipeline.stages[-1].stack
    _known_stage(definition, stage)
    try:
        state = _state(args)
        view = _view(args, state, whole=True)
        commit_times = {r.id: r.commit_time for r in state.releases.all()}
    except StateError as exc:
        return _fail(str(exc))
    result = metrics(view, stage, commit_times, days=args.days)
    from pipeline.reconcile.run import drift_metrics  # issue 26: drift events per stage

    result |= drift_metrics(view.entries, stage, args.days)
    if args.json:
        contract.result("metrics", EXIT_OK, f"{stage}, last {args.days} days", metrics=result)
    else:
        from pipeline import terminal
        from pipeline.promote.tables import metrics_table

        print(metrics_table(result, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK


def _ledger_verify(args: argparse.Namespace) -> int:
    try:
        state = _state(args)
    except StateError as exc:  # no such remote, not a checkout: nothing was read to verify
        return _fail(str(exc))
    try:
        check = state.verify()
    except (LedgerError, StateError) as exc:
        return _fail(str(exc), 1)
    problems, notes, findings = list(check.problems), list(check.notes), []
    if check.ok and not args.state_dir:
        try:
            audited = _audit(args, state)
        except StateError as exc:
            problems.append(f"the promotions' gates were not audited: {exc}")
        else:
            notes += audited.notes
            findings = audited.findings
    ok = not problems and not findings
    verdict = (
        CommandOutcome.VERIFIED
        if ok
        else (CommandOutcome.TAMPERED if problems else CommandOutcome.GATES_NOT_MET)
    )
    if args.json:
        contract.result(
            "ledger verify",
            exit_code(verdict),
            "chain, head and gates verify" if ok else "does NOT verify",
            outcome=verdict,
            entries=check.entries,
            problems=problems,
            notes=notes,
            findings=[f.to_json() for f in findings],
        )
    elif ok:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        print(
            f"ledger: {check.entries} entries, chain and head verify, every promotion's gates hold"
        )
    else:
        said = problems + [f"gates not met: {f}" for f in findings]
        print("ledger: does NOT verify:\n  " + "\n  ".join(said), file=sys.stderr)
    return exit_code(verdict)


def _audit(args: argparse.Namespace, state: PromotionState) -> Any:
    """Replay each promotion's gates against the pipeline file that governed it."""
    from pipeline.record.gate_audit import Governing, audit
    from pipeline.record.governance import read_governance
    from pipeline.record.state import GitState

    assert isinstance(state, GitState)
    governance = read_governance(state.git, state.git_dir, args.remote, args.protected_branch)
    releases = {r.id: r for r in state.releases.all()}
    governing = Governing(state.git, governance.commit, f"{args.remote}/{governance.branch}")
    return audit(list(state.entries()), releases, governing)


PROMOTE_EXITS = {
    EXIT_OK: "done, or nothing to do",
    EXIT_STOPPED: "stopped: a gate, a failed update or verification, a rollback",
    EXIT_INVALID: "refused: bad input, an ineligible release or a missing Pulumi CLI;"
    " nothing deployed, nothing written",
    EXIT_BUSY: "busy: another promotion or a Pulumi update holds a lock",
    EXIT_PROPOSED: "proposed: the stage is promoted by pull request; its next record waits for"
    " review on promotions/<stack>/<release> (rollback-<release> for --rollback), nothing"
    " deployed",
    130: "interrupted (resumable: run the same command again)",
}
READ_EXITS = {
    EXIT_OK: "shown",
    EXIT_INVALID: "bad input (unknown pipeline or stage, a missing Pulumi CLI)",
}


def _deployer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deployer",
        default="automation",
        metavar="automation|offline|MODULE:FACTORY",
        help="how stacks are read and updated: the Pulumi Automation API (default, needs the"
        " Pulumi CLI), offline (the mock renderer, no cloud; see docs/promotion.md) or a factory"
        " called with the project, stacks and state directories",
    )


def register(commands: Any) -> None:
    release_commands = command_group(
        commands,
        "release",
        help="make and inspect immutable releases",
        description="A release pins every service's image by digest, the infrastructure commit"
        " and the policy pack version; it is stored once under the state directory.",
    )
    create = action(
        release_commands,
        "create",
        _release_create,
        help="record a release: every service's digest, the commit and the policy pack",
        description="Record a release from one image per service, pinned by digest. The same"
        " images and commit give the same release id.",
        exits={EXIT_OK: "created, or exists already", EXIT_INVALID: "refused, nothing written"},
    )
    create.add_argument(
        "--image",
        action="append",
        metavar="SERVICE=REPO@sha256:DIGEST",
        help="one per service of the blueprint (repeat)",
    )
    _protected_option(create)
    _common(create)
    show = action(
        release_commands,
        "show",
        _release_show,
        help="print one release as JSON",
        description="Print a stored release (checked against its id) as JSON.",
        exits={EXIT_OK: "shown", EXIT_INVALID: "no such release, or its file was edited"},
    )
    show.add_argument("release", metavar="RELEASE", help="release id (r-<16 hex>)")
    _common(show)
    listing = action(
        release_commands,
        "list",
        _release_list,
        help="every stored release, oldest first",
        description="List the stored releases, oldest first: id, time, commit, policy pack.",
        exits={EXIT_OK: "listed"},
    )
    _common(listing)

    promote = action(
        commands,
        "promote",
        _promote,
        help="move a release through the pipeline up to a stage",
        description="Move RELEASE through the stages of its pipeline, in order, up to the stage"
        " --to names: per stage, check eligibility, set the images, preview with the policy pack,"
        " apply the gates, update from the saved plan, verify the health paths and record each"
        " step in the ledger. A stage that needs approval takes --approve --approver NAME (or a"
        " confirmation on a terminal). A failed verification rolls the stage back to its last"
        " verified release and stops. --rehearse does all of it offline, deploying nothing.",
        exits=PROMOTE_EXITS,
    )
    promote.add_argument("release", metavar="RELEASE", help="release id (from release create)")
    promote.add_argument(
        "--to", required=True, metavar="STAGE", help="the last stage to promote to (a stack name)"
    )
    promote.add_argument(
        "--pipeline",
        metavar="NAME",
        help="pipeline of the stage (default: the one holding --to, else the first in the file)",
    )
    promote.add_argument(
        "--rollback",
        action="store_true",
        help="return STAGE to RELEASE (proposed as a rollback where STAGE is promoted by pull"
        " request; its merge deploys with --merged --rollback)",
    )
    promote.add_argument(
        "--auto", action="store_true", help="continuous deployment through autoPromote stages"
    )
    promote.add_argument("--approve", action="store_true", help="approve stages that need it")
    promote.add_argument("--approver", metavar="NAME", help="who approved (with --approve)")
    promote.add_argument(
        "--override-freeze",
        metavar="REASON",
        help="go ahead inside a stage's freeze window (stacks/pipeline.yaml: freeze); needs"
        " --approve --approver NAME; who and why are recorded in the promotion's start entry",
    )
    promote.add_argument(
        "--merged",
        action="store_true",
        help="deploy the reviewed merge of STAGE's proposal (a stage promoted by pull request;"
        " CI runs it when the pull request is merged)",
    )
    promote.add_argument(
        "--reviewer",
        metavar="LOGIN",
        help="with --merged: who approved the pull request, from the forge's API (default: the"
        " merge commit's committer)",
    )
    promote.add_argument(
        "--proposer",
        metavar="LOGIN",
        help="with --reviewer: who opened the pull request (default: the proposal's author)",
    )
    promote.add_argument(
        "--rehearse",
        action="store_true",
        help="offline: per stage the diff, the policy result and the gates; nothing deployed",
    )
    promote.add_argument(
        "--policy-pack", type=policy_pack, metavar="DIR", help="the pack (default: policies)"
    )
    promote.add_argument(
        "--policy-pack-config",
        type=existing_file,
        metavar="FILE",
        help="enforcement config (default: policies/config/<stage>.json of each stack's stage)",
    )
    _deployer_option(promote)
    promote.add_argument(
        "--health-timeout",
        type=positive_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long verification waits for the health paths (default 300)",
    )
    _protected_option(promote)
    _common(promote)

    stat = action(
        commands,
        "status",
        _status,
        help="which release each stage runs, what may move next",
        description="Per stage of a pipeline: the release its stack reports, its last verified"
        " release from the ledger, and the release that may move in next with the gate's verdict.",
        exits=READ_EXITS,
    )
    stat.add_argument(
        "--pipeline", metavar="NAME", help="which pipeline (default: the first in the file)"
    )
    stat.add_argument(
        "--offline",
        action="store_true",
        help="read the release from the stack files, not the stacks' outputs (no Pulumi CLI)",
    )
    _deployer_option(stat)
    _common(stat)

    history = action(
        commands,
        "history",
        _history,
        help="the ledger, oldest first",
        description="Print the promotion ledger, oldest first: sequence, time, release, stage and"
        " step, status, detail. A ledger that does not verify is shown with a warning.",
        exits=READ_EXITS,
    )
    history.add_argument("--stage", metavar="STACK", help="only this stage's entries")
    shown = history.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help=f"only the last N entries (default: the last {HISTORY_SHOWN}; with --json, all)",
    )
    shown.add_argument("--all", action="store_true", help="every entry, however many")
    _common(history)

    metric = action(
        commands,
        "metrics",
        _metrics,
        help="deployment frequency, lead time, change failure rate, time to restore",
        description="The four DORA keys for one stage, from the ledger and the releases' commit"
        " times, over a window of days. n/a: nothing to measure in the window.",
        exits=READ_EXITS,
    )
    metric.add_argument(
        "--pipeline",
        metavar="NAME",
        help="pipeline of the stage (default: the one holding --stage, else the first)",
    )
    metric.add_argument("--stage", metavar="STACK", help="default: the pipeline's last stage")
    metric.add_argument(
        "--days", type=at_most(36500), default=30, metavar="N", help="window in days (default 30)"
    )
    _common(metric)

    ledger_commands = command_group(
        commands,
        "ledger",
        help="check the promotion ledger",
        description="The ledger is append-only JSON Lines, hash-chained and fsynced.",
    )
    verify = action(
        ledger_commands,
        "verify",
        _ledger_verify,
        help="detect edited, removed or moved entries, and promotions their gates forbade",
        description="Check every entry's hash chain and the recorded head; with the git state,"
        " also replay each promotion's gates (approval, soak, upstream, direction, reviewed"
        " code) against the pipeline file that governed it and report each one that could not"
        " have passed (docs/promotion.md, for auditors).",
        exits={
            EXIT_OK: "the chain and head verify, and every promotion's gates hold",
            EXIT_STOPPED: "they do not",
            EXIT_INVALID: "no state to read (no such git remote, not a git checkout)",
        },
    )
    _protected_option(verify)
    _common(verify)

    stages = action(
        commands,
        "stages",
        _stages,
        help="the pipelines' stages as CI reads them: targets, clouds, soak",
        description="Print every pipeline's cloud, the stage it promotes to without approval,"
        " the stages that need approval or a pull request and the soak before them, and every"
        " stack with its stage, pipeline and cloud. CI reads --json: the result event holds"
        " pipelines and stacks.",
        exits={EXIT_OK: "printed", EXIT_INVALID: "invalid pipeline file"},
    )
    _common(stages)

    record_commands = command_group(
        commands,
        "record",
        help="the stage records in git (stages/<stack>)",
        description="Each stage's record (what it runs) is a branch stages/<stack> in git.",
    )
    pin = action(
        record_commands,
        "pin",
        _record_pin,
        help="pin a stage's recorded release and digests into this checkout's stack file",
        description="So a preview of this checkout shows only its own change, not the images"
        " reverting to what main's stack file pins.",
        exits={
            EXIT_OK: "pinned, or no record yet (the file stays as it is)",
            EXIT_INVALID: "the state cannot be read, or the stack file cannot be written",
        },
    )
    pin.add_argument("--stack", required=True, metavar="STACK", help="the stage's stack")
    _common(pin)


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
            f"{PROJECT}:cloud", "aws"
        )
        auto = None
        for stage in pipeline.stages:
            if (
                not stage.auto_promote
                or stage.approval == "required"
                or stage.promotion is Promotion.PULL_REQUEST
            ):
                break
            auto = stage
        reviewed = [s for s in pipeline.stages if s.promotion is Promotion.PULL_REQUEST]
        approved = [s for s in pipeline.stages if s.approval == "required" and s not in reviewed]
        before = max(
            pipeline.upstream_of(approved[0]) if approved else (),
            key=lambda s: s.soak_minutes,
            default=None,
        )
        pipelines.append(
            {
                "pipeline": name,
                "cloud": cloud,
                "auto": auto.stack if auto else None,
                "approved": [s.stack for s in approved],
                "pullRequest": [s.stack for s in reviewed],
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
    message = f"{len(pipelines)} pipeline(s), {len(stacks)} stack(s)"
    if args.json:
        contract.result("stages", EXIT_OK, message, pipelines=pipelines, stacks=stacks)
        return EXIT_OK
    from pipeline import terminal
    from pipeline.promote.tables import stages_table

    print(stages_table(pipelines, stacks, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK


def _record_pin(args: argparse.Namespace) -> int:
    from pipeline.record.stage import STACK_FILE, pin_stack_file

    _known_stage(_definition(args), args.stack)
    try:
        record = _state(args).stage_record(args.stack)
    except StateError as exc:
        return _fail(str(exc))
    if record is None:
        message = f"{args.stack}: no record yet; the stack file stays as it is"
        _said(args, "record pin", message, "nothing to do", stack=args.stack, release=None)
        return EXIT_OK
    path = Path(args.repo) / STACK_FILE.format(stack=args.stack)
    try:
        path.write_bytes(pin_stack_file(path.read_bytes(), record["release"], record["images"]))
    except OSError as exc:
        return _fail(f"{path}: cannot pin it ({exc.strerror})")
    message = f"{path}: pinned {record['release']} from stages/{args.stack}"
    _said(args, "record pin", message, "pinned", stack=args.stack, release=record["release"])
    return EXIT_OK


def _said(args: argparse.Namespace, command: str, message: str, outcome: str, **data: Any) -> None:
    """A command that succeeded: its sentence on stderr, or with --json its result."""
    if args.json:
        contract.result(command, EXIT_OK, message, outcome=outcome, **data)
    else:
        print(message, file=sys.stderr)
