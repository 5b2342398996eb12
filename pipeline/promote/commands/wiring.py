"""Wiring: the one place that names concrete deployers and the orchestrator; the record comes
from pipeline.record.open (``--state-dir`` is a git record too, issue 25). What depends on the
kind of state is a question the state answers (``governance``, ``stage_branches``,
``scratch_dir``), never ``isinstance``."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.definition import PipelineFile
from pipeline.promote.deployer import Deployer, PolicyOptions
from pipeline.promote.events import JsonLines, Progress
from pipeline.promote.orchestrator import Orchestrator
from pipeline.promote.protected_branch import GateAudit, ProtectedBranch
from pipeline.promote.release import Release
from pipeline.promote.resolver import Resolver
from pipeline.promote.state import PromotionState, StateError
from pipeline.record.identity import approver_source
from pipeline.usage import CommandError

PULUMI_MISSING = (
    "the Pulumi CLI is not installed (https://www.pulumi.com/docs/iac/download-install/)"
)


def state(args: argparse.Namespace) -> PromotionState:
    """The record the options name (pipeline.record.open): ``--state-dir``'s, or ``--remote``'s."""
    from pipeline.record.open import RecordLocation, open_record

    return open_record(RecordLocation.of(args))


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


def deployer(
    spec: str,
    health_timeout: float,
    state: PromotionState,
    repo: Path,
    project_dir: Path,
    stacks_dir: Path,
) -> tuple[Deployer, Any]:
    """The deployer ``--deployer`` (``spec``) names and how its stages are verified; its local
    files go where the state keeps scratch (its directory, or the checkout's)."""
    from pipeline.promote.verification import HealthCheck

    work_dir = state.scratch_dir()
    if spec == "offline":
        from pipeline.record.offline import RecordDeployer, offline_verify

        if not state.stage_branches:
            raise StateError(
                "--deployer offline keeps what each stage runs in git: it needs the git state"
                " (a --remote), not --state-dir"
            )
        return RecordDeployer(repo, state, work_dir / "offline"), offline_verify
    made = make_deployer(spec, project_dir, stacks_dir, work_dir)
    return made, HealthCheck(timeout=health_timeout, interval=min(5.0, health_timeout))


def copier(spec: str) -> Any:
    """Each release image is copied into a real stage's registry before its preview (skopeo, or
    ``az acr import`` into Azure registries); the offline deployer's registries are the
    renderer's, so nothing is copied there."""
    from pipeline.promote.images import StageRegistries

    return None if spec == "offline" else StageRegistries()


def orchestrator(
    deployer_spec: str,
    state: PromotionState,
    deployer: Deployer,
    verify: Any,
    definition: PipelineFile,
    *,
    policy: Any,
    events: JsonLines | Progress,
    confirm: Callable[[str, str, str], str | None] | None,
    services: frozenset[str],
    governance: ProtectedBranch | None,
) -> Orchestrator:
    """The orchestrator of one ``promote`` call, with what the arguments chose."""
    return Orchestrator(
        deployer,
        definition,
        state,
        policy=policy,
        verify=verify,
        events=events,
        confirm=confirm,
        services=services,
        images=copier(deployer_spec),
        governance=governance,
        approver_source=approver_source(),
    )


@contextlib.contextmanager
def event_sink(json: bool, stages: list[str]) -> Iterator[JsonLines | Progress]:
    """JSON Lines events with --json, else the progress display of ``stages`` (closed after)."""
    progress = None if json else Progress(stages=stages)
    try:
        yield JsonLines() if progress is None else progress
    finally:
        if progress is not None:
            progress.close()


def prune_worktrees(state: PromotionState) -> None:
    """Old releases' worktrees under .git/stageline/worktrees do not accumulate (git state)."""
    from pipeline.record.git import GitError

    with contextlib.suppress(GitError, OSError):  # best effort: the next one tries again
        state.prune_worktrees()


class GovernedElsewhereError(Exception):
    """The working tree's governing files are not the protected branch's."""

    def __init__(self, message: str, governance: ProtectedBranch) -> None:
        super().__init__(message)
        self.governance = governance


StagePolicy = Callable[[str], PolicyOptions]


def governed(
    state: PromotionState,
    protected_branch: str | None,
    repo: Path,
    stacks_dir: Path,
    definition: PipelineFile,
    policy: StagePolicy,
    explicit: Path | None,
) -> tuple[ProtectedBranch | None, PipelineFile, StagePolicy]:
    """The protected branch's pipeline file and policy configs, and the policy options they
    give each stage (a state with no protected branch: the working tree's, unchanged). Raises
    GovernedElsewhereError (with what governs) when the working tree's copies differ: a
    promotion refuses, a rehearsal goes on with the working tree's, saying so. ``explicit``:
    ``--policy-pack-config``, which must be one of the reviewed configs."""
    from pipeline.record.git import blob_id

    governance = state.governance(protected_branch)
    if governance is None:
        return None, definition, policy
    differ = governance.differences(repo, stacks_dir)
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


def unreviewed(
    protected_branch: str | None,
    state: PromotionState,
    release: Release,
    definition: PipelineFile,
) -> str | None:
    """Which stages a release may not enter because its commit is not on the protected branch
    (None: it is, or there is no protected branch to ask: a local --state-dir). Fails closed:
    a branch that cannot be read says so."""
    try:
        governance = state.governance(protected_branch)
    except StateError as exc:
        return f"cannot tell whether commit {release.commit[:12]} was reviewed: {exc}"
    if governance is None or governance.reviewed(release.commit):
        return None
    stages = [
        s.stack for p in definition.pipelines.values() for s in p.stages if s.needs_reviewed_code()
    ]
    return (
        f"commit {release.commit[:12]} is not on {governance.where}, the protected branch:"
        f" {release.id} may not enter {', '.join(stages)} (they take only reviewed code)"
        " until it is merged"
    )


def status_resolver(definition: PipelineFile, state: PromotionState) -> Resolver:
    """The resolver ``status`` asks what ``promote`` would decide, with the protected branch's
    code review when it can be read (None: a local --state-dir, or the branch cannot be read;
    the reviewed gate is then not shown)."""
    try:
        governance = state.governance(None)
    except StateError:
        governance = None
    return Resolver(definition, state, governance=governance)


def checked(state: PromotionState) -> bool:
    """Verify the ledger (notes and problems to stderr); whether its entries may be shown."""
    check = state.verify()  # a LedgerError is reported by inputs.read_only
    for note in check.notes:
        print(f"note: {note}", file=sys.stderr)
    if not check.ok:
        print(
            "warning: the ledger does not verify:\n  " + "\n  ".join(check.problems),
            file=sys.stderr,
        )
        return False  # an unverified record is not adopted, so its entries are not shown
    return True


def audit(protected_branch: str | None, state: PromotionState) -> GateAudit | None:
    """Replay each promotion's gates against the pipeline file that governed it (None: a
    state with no protected branch to replay them against)."""
    governance = state.governance(protected_branch)
    if governance is None:
        return None
    releases = {r.id: r for r in state.releases.all()}
    return governance.audit(list(state.entries()), releases)
