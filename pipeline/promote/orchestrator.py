"""Promote one release through a pipeline's stages: resolve the request into a walk
(pipeline.promote.resolver), take the pipeline's lock, record how the promotion begins
(pipeline.promote.opening), run each stage's steps (pipeline.promote.runner over
pipeline.promote.steps.STEPS), record how it ends.

Every step is written to the ledger when it starts and when it ends, so a promotion killed at any
point can be resumed from its last completed step. Bad input is refused before anything is
deployed or written. A failed update or verification rolls that stage back and stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from components.spec import SpecError
from pipeline.definition import Pipeline, PipelineFile, load_pipeline
from pipeline.policy.config import config_path
from pipeline.promote import opening
from pipeline.promote.deployer import Deployer, PolicyOptions
from pipeline.promote.entries import (
    Entry,
    FinishEntry,
    InterruptedEntry,
)
from pipeline.promote.events import Sink, quiet
from pipeline.promote.history import LedgerView
from pipeline.promote.images import Copier
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
)
from pipeline.promote.outcome import Outcome
from pipeline.promote.proposal import propose
from pipeline.promote.resolver import Confirm, Resolver
from pipeline.promote.runner import StageRunner
from pipeline.promote.state import (
    Lock,
    PromotionState,
    RecordRefusedError,
    StateError,
    StateUnverifiedError,
)
from pipeline.promote.steps import Services
from pipeline.promote.steps.step import Commands, Verifier
from pipeline.promote.verification import HealthCheck, run_commands
from pipeline.promote.walk import Governed, PromotionError, Request, Walk, header

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
        state: PromotionState,
        *,
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
        # The record (pipeline.record.open: the shared git state, or a --state-dir's).
        self.state: PromotionState = state
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
            return propose(self.state, self.emit, walk)
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
                    message=f"took over a stale lock of pid {owner.pid} on"
                    f" {owner.host} (started {owner.started})",
                )
            if self._ledger_mark() != mark:
                try:  # another promotion ran meanwhile: decide again on what it recorded
                    confirmed = walk.approver if not request.merged else None
                    walk = self.resolve(replace(request, approver=request.approver or confirmed))
                except PromotionError as exc:
                    return Outcome.of(PromotionOutcome.REFUSED, str(exc))
                if walk.proposal:
                    return propose(self.state, self.emit, walk)
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

    def _record(self, entry: Entry) -> None:
        self.state.append(entry, None)

    def run(self, walk: Walk, request: Request) -> Outcome:
        if not walk.stages:
            message = f"every stage up to {request.target} already runs {walk.release.id}"
            self.emit("promotion", message=message)
            return Outcome.of(PromotionOutcome.NOTHING_TO_DO, message)
        if walk.resume is not None:
            promotion = opening.resume(self.state, self.deployer, self.emit, walk)
        else:
            source = self._approval_source(walk, request)
            promotion = opening.start(
                self.state, self.deployer, self.emit, walk, request, self.governance, source
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
                            **header(walk, promotion), outcome=result.outcome, detail=result.message
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
