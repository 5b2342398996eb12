"""Promote one release through a pipeline's stages: check everything, then per stage set the
images, preview with policy, gate the preview, update held to the saved plan, verify, record.

Every step is written to the ledger when it starts and when it ends, so a promotion killed at any
point can be resumed from its last completed step. Bad input is refused before anything is
deployed or written. A failed update or verification rolls that stage back and stops.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline.definition import Pipeline, PipelineFile, load_pipeline
from pipeline.policy.config import config_path
from pipeline.promote.deployer import Deployer, DeployError, PolicyOptions, ReleaseConfig
from pipeline.promote.entries import (
    Entry,
    FinishEntry,
    InterruptedEntry,
    ResumeEntry,
    StartEntry,
)
from pipeline.promote.events import Sink, quiet
from pipeline.promote.history import LedgerView, Unfinished
from pipeline.promote.images import Copier
from pipeline.promote.ledger import Ledger
from pipeline.promote.lock import LockHeldError
from pipeline.promote.model import (
    EXIT_BUSY,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PROPOSED,
    EXIT_STOPPED,
    Direction,
    PromotionOutcome,
    StageOutcome,
)
from pipeline.promote.outcome import Outcome
from pipeline.promote.resolver import Confirm, Resolver
from pipeline.promote.runner import StageRunner
from pipeline.promote.state import (
    FileState,
    Lock,
    PromotionState,
    RecordRefusedError,
    StageChange,
    StateError,
    StateUnverifiedError,
)
from pipeline.promote.steps import Services
from pipeline.promote.steps.step import Commands, Verifier
from pipeline.promote.steps.up import commit_of, stage_change
from pipeline.promote.verification import HealthCheck, run_commands
from pipeline.promote.walk import Governed, PromotionError, Request, Walk, header
from pipeline.record.proposal import ProposalError, proposal_branch

__all__ = [
    "EXIT_BUSY",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_PROPOSED",
    "EXIT_STOPPED",
    "Governed",
    "Orchestrator",
    "Outcome",
    "PromotionError",
    "Request",
    "Walk",
    "stage_policy",
]


def stage_policy(
    project_dir: Path, pack: Path | None, config: Path | None, stacks_dir: Path | None = None
) -> Callable[[str], PolicyOptions]:
    """Policy options per stack: ``--policy-pack`` (default policies/) and the config of the
    stack's *stage* (``--policy-pack-config``, default policies/config/<stage>.json when it
    exists), so azure-live is held to live.json like live."""
    default_pack = project_dir / "policies"
    stacks = stacks_dir or project_dir / "stacks"

    def options(stack: str) -> PolicyOptions:
        chosen_pack = pack or (
            default_pack if (default_pack / "PulumiPolicy.yaml").exists() else None
        )
        chosen_config = config
        if chosen_config is None:
            try:  # the stage the pipeline file binds the stack to, never the stack's own claim
                stage = load_pipeline(stacks).stage_name(stack) or stack
            except SpecError:
                stage = stack  # the spec check reports the pipeline file; policy falls back
            candidate = config_path(project_dir / "policies" / "config", stage)
            chosen_config = candidate if candidate.exists() else None
        return PolicyOptions(chosen_pack, chosen_config)

    return options


class Orchestrator:
    def __init__(
        self,
        deployer: Deployer,
        definition: PipelineFile,
        state_dir: Path,
        *,
        ledger: Ledger | None = None,
        state: PromotionState | None = None,
        policy: Callable[[str], PolicyOptions] | None = None,
        verify: Verifier | None = None,
        commands: Commands = run_commands,
        events: Sink = quiet,
        confirm: Confirm | None = None,
        services: frozenset[str] | None = None,
        images: Copier | None = None,
        governance: Governed | None = None,
        approver_source: str = "claimed",
    ) -> None:
        self.deployer = deployer
        # The protected branch's pipeline file and policy configs (None: a local state).
        self.governance = governance
        # What an --approver is worth: "forge" where CI took it from the forge, else "claimed".
        self.approver_source = approver_source
        # Copies the release's images into each stage's registry before its preview (None: the
        # deployer's registries are not real, e.g. the offline renderer's).
        self.images = images
        self.definition = definition
        self.state_dir = state_dir
        # The shared state (git by default, see pipeline.record); ``ledger`` is its ledger side.
        self.state: PromotionState = state or FileState(state_dir, ledger)
        self.ledger = self.state
        self.releases = self.state.releases
        self.policy = policy or (lambda stage: PolicyOptions(None, None))
        self.verify = verify or HealthCheck()
        self.commands = commands
        self.emit = events
        self.confirm = confirm
        self.services = services

    # ------------------------------------------------------------------ checks

    def _resolver(self) -> Resolver:
        return Resolver(
            self.definition,
            self.state,
            self.holds,
            services=self.services,
            governance=self.governance,
            confirm=self.confirm,
            emit=self.emit,
        )

    def pipeline_named(self, name: str | None) -> tuple[str, Pipeline]:
        return self._resolver().pipeline_named(name)

    def view(self) -> LedgerView:
        return self._resolver().view()

    def holds(self, stack: str) -> str | None:
        release = self.deployer.outputs(stack).get("release")
        return str(release) if release is not None else None

    def resolve(self, request: Request) -> Walk:
        """Check the request against the pipeline, the ledger and the stacks; raise
        PromotionError (nothing deployed, nothing written) when it may not go ahead."""
        return self._resolver().resolve(request)

    # ------------------------------------------------------------------ run

    def promote(self, request: Request, lock: Lock | None = None) -> Outcome:
        """Resolve a request, then run it under the pipeline's promotion lock. A refusal is
        found before the lock is taken, so it writes nothing; the request is resolved again
        under the lock only if the ledger moved meanwhile."""
        try:
            name, _ = self.pipeline_named(request.pipeline)
            walk = self.resolve(request)
            mark = self._ledger_mark()
        except PromotionError as exc:
            return Outcome.of(PromotionOutcome.REFUSED, str(exc))
        except StateUnverifiedError as exc:
            return Outcome.of(PromotionOutcome.REFUSED, f"{exc}\nnothing was deployed")
        except StateError as exc:
            return Outcome.of(PromotionOutcome.STOPPED, f"{exc}\nnothing was deployed")
        if walk.proposal:
            return self._propose(walk)
        lock = lock or self.state.lock(name)
        try:
            lock.acquire()
        except LockHeldError as exc:
            return Outcome.of(PromotionOutcome.BUSY, str(exc))
        except StateUnverifiedError as exc:
            return Outcome.of(PromotionOutcome.REFUSED, f"{exc}\nnothing was deployed")
        except StateError as exc:
            return Outcome.of(PromotionOutcome.STOPPED, f"{exc}\nnothing was deployed")
        try:
            if lock.taken_over:
                owner = lock.taken_over
                self.emit(
                    "note",
                    message=f"took over a stale lock of pid {owner.get('pid')} on"
                    f" {owner.get('host')} (started {owner.get('started')})",
                )
            if self._ledger_mark() != mark:
                try:  # another promotion ran meanwhile: decide again on what it recorded
                    confirmed = walk.approver if not request.merged else None
                    walk = self.resolve(replace(request, approver=request.approver or confirmed))
                except PromotionError as exc:
                    return Outcome.of(PromotionOutcome.REFUSED, str(exc))
                if walk.proposal:
                    return self._propose(walk)
            try:
                return self.run(walk, request)
            except RecordRefusedError as exc:
                # Never report what could not be recorded: the promotion stops here.
                return Outcome.of(PromotionOutcome.BUSY, f"{exc}; run again to resume")
            except StateError as exc:
                return Outcome.of(PromotionOutcome.STOPPED, f"{exc}; run again to resume")
        finally:
            try:
                lock.release()
            except StateError as exc:
                self.emit("note", message=f"could not release the pipeline lock: {exc}")

    def _approval_source(self, walk: Walk, request: Request) -> str:
        """forge or git: a reviewed merge; the CLI's word for --approver; else claimed (typed
        on a terminal)."""
        if walk.review:
            return str(walk.review.get("identities", "git"))
        return self.approver_source if walk.approver == request.approver else "claimed"

    def _ledger_mark(self) -> tuple[int, str | None]:
        return self.ledger.head()

    def _propose(self, walk: Walk) -> Outcome:
        """Push the proposal of the walk's one stage; nothing deployed, nothing in the ledger."""
        stage = walk.stages[0]
        release = walk.release
        kind = "rollback" if walk.rollback else "forward"
        branch = proposal_branch(stage.stack, release.id, kind)
        target = ReleaseConfig(release.id, release.images)
        change = stage_change(
            walk, branch, stage.stack, kind, target, commit_of(self.releases, release.id)
        )
        try:
            proposal = self.state.propose(change)
        except ProposalError as exc:
            return Outcome.of(PromotionOutcome.REFUSED, f"refused, nothing proposed:\n  {exc}")
        except RecordRefusedError as exc:
            return Outcome.of(PromotionOutcome.BUSY, str(exc))
        except StateError as exc:
            return Outcome.of(PromotionOutcome.STOPPED, f"{exc}\nnothing proposed")
        self.emit("proposal", **proposal.to_json())
        said = "was proposed already" if proposal.existing else "proposed"
        what = (
            f"the rollback of {stage.stack} to {release.id} {said}"
            if walk.rollback
            else f"{release.id} {said} for {stage.stack}"
        )
        message = (
            f"{what} on {proposal.branch} ({proposal.commit[:12]}); nothing deployed. Open its"
            f" pull request into stages/{stage.stack}:\n  {proposal.pr_command()}\nMerging it (a"
            " merge commit, by a reviewer who is not its author) approves it; then"
            f" `{proposal.deploy_command()}` deploys it."
        )
        return Outcome.of(PromotionOutcome.PROPOSED, message, {stage.stack: StageOutcome.PROPOSED})

    def _record(self, entry: Entry, change: StageChange | None = None) -> dict[str, Any]:
        """Append a typed entry. With ``change``, the entry and the stage's record (what it
        runs) land together."""
        return self.state.append(entry.fields(), change)

    def run(self, walk: Walk, request: Request) -> Outcome:
        if not walk.stages:
            message = f"every stage up to {request.target} already runs {walk.release.id}"
            self.emit("promotion", message=message)
            return Outcome.of(PromotionOutcome.NOTHING_TO_DO, message)
        if walk.resume is not None:
            promotion = walk.resume.promotion
            self._note_resume(walk, promotion)
        else:
            if walk.supersede is not None:
                old = walk.supersede
                self._note_interrupted(walk, old, announce=True)
                self._record(
                    FinishEntry(
                        **header(walk, old.promotion),
                        release_superseded=old.release,
                        outcome=PromotionOutcome.SUPERSEDED,
                        detail=f"superseded by a promotion of {walk.release.id}",
                    )
                )
            promotion = f"p-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            runner = getattr(self.state, "runner", None)  # the git state knows who runs it
            approval = None
            if walk.approver:
                approval = {
                    "approver": walk.approver,
                    "source": self._approval_source(walk, request),
                }
            self._record(
                StartEntry(
                    **header(walk, promotion),
                    target=request.target,
                    rollback=request.rollback,
                    auto=request.auto,
                    stages=[s.stack for s in walk.stages],
                    review=dict(walk.review) if walk.review else None,
                    governance=self.governance.to_record() if self.governance else None,
                    runner=runner.to_record() if runner is not None else None,
                    approval=approval,
                    override=(
                        request.freeze_override.to_record() if request.freeze_override else None
                    ),
                    verdicts={
                        s: [{"gate": v.gate, "outcome": v.outcome, "reason": v.reason} for v in vs]
                        for s, vs in walk.verdicts.items()
                    },
                )
            )
        self.emit(
            "promotion",
            message=f"{walk.release.id} -> {request.target} via"
            f" {', '.join(s.stack for s in walk.stages)} ({promotion})",
            promotion=promotion,
        )
        stages: dict[str, str] = {}
        runner = StageRunner(self._services())
        kind = Direction.ROLLBACK if request.rollback else Direction.FORWARD
        try:
            for stage in walk.stages:
                result = runner.stage(walk, promotion, stage, kind)
                stages[stage.stack] = result.outcome
                if result.code != EXIT_OK:
                    self._record(
                        FinishEntry(
                            **header(walk, promotion),
                            outcome=result.outcome,
                            detail=result.message,
                        )
                    )
                    result.stages = stages
                    return result
        except KeyboardInterrupt:
            # Not a finish: the promotion stays resumable from its last completed step.
            self._record(InterruptedEntry(**header(walk, promotion), detail="Ctrl-C"))
            return Outcome.of(PromotionOutcome.INTERRUPTED, "interrupted; run again to resume")
        outcome = PromotionOutcome.ROLLED_BACK if request.rollback else PromotionOutcome.PROMOTED
        message = f"{walk.release.id} {outcome} to {request.target}"
        self._record(FinishEntry(**header(walk, promotion), outcome=outcome, detail=message))
        self.emit("promotion", message=message)
        return Outcome.of(outcome, message, stages)

    def _note_interrupted(self, walk: Walk, unfinished: Unfinished, announce: bool) -> list[str]:
        step = unfinished.interrupted()
        if step is None:
            return []
        pending: list[str] = []
        if step["step"] == "up":
            try:
                pending = self.deployer.pending_operations(step["stage"])
            except DeployError as exc:
                pending = [f"(could not read pending operations: {exc})"]
            self.emit(
                "note",
                stage=step["stage"],
                message=f"an update of {step['stage']} was interrupted; pending operations:"
                f" {', '.join(pending) or 'none reported'}. If the state looks wrong run"
                f" `pulumi refresh --stack {step['stage']}` before going on.",
            )
        elif announce:
            self.emit(
                "note",
                stage=step["stage"],
                message=f"{step['step']} was interrupted in {unfinished.promotion}",
            )
        return pending

    def _note_resume(self, walk: Walk, promotion: str) -> None:
        assert walk.resume is not None
        step = walk.resume.interrupted()
        pending = self._note_interrupted(walk, walk.resume, announce=False)
        where = f"{step['stage']} {step['step']}" if step else "between steps"
        self.emit("note", message=f"resuming {promotion}, interrupted at {where}")
        self._record(
            ResumeEntry(
                **header(walk, promotion),
                interrupted=({"stage": step["stage"], "step": step["step"]} if step else None),
                pending=pending,
            )
        )

    def _services(self) -> Services:
        """What the steps work with, as this orchestrator is configured now."""
        return Services(
            self.deployer,
            self.state,
            self.emit,
            self.policy,
            self.verify,
            self.commands,
            self.images,
        )
