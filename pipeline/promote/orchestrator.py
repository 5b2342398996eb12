"""Promote one release through a pipeline's stages: check everything, then per stage set the
images, preview with policy, gate the preview, update held to the saved plan, verify, record.

Every step is written to the ledger when it starts and when it ends, so a promotion killed at any
point can be resumed from its last completed step. Bad input is refused before anything is
deployed or written. A failed update or verification rolls that stage back and stops.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from components.spec import SpecError
from pipeline.definition import Pipeline, PipelineFile, Promotion, Stage, load_pipeline
from pipeline.policy.config import config_path
from pipeline.promote.deployer import (
    Deployer,
    DeployError,
    PolicyOptions,
    ReleaseConfig,
    StackBusyError,
)
from pipeline.promote.diff import diff_lines, gate_findings, running_config
from pipeline.promote.entries import (
    Entry,
    FinishEntry,
    InterruptedEntry,
    ResumeEntry,
    StartEntry,
    StepEntry,
)
from pipeline.promote.events import Sink, quiet
from pipeline.promote.gates import CodeReview, FreezeOverride, Verdict
from pipeline.promote.history import LedgerView, Unfinished
from pipeline.promote.images import Copier, CopyError, copy_to_stage, stage_copies
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
    GateOutcome,
    PromotionOutcome,
    StageOutcome,
    StepName,
    StepStatus,
    exit_code,
)
from pipeline.promote.planner import plan_walk
from pipeline.promote.policy import policy_findings
from pipeline.promote.release import Release, ReleaseError
from pipeline.promote.state import (
    FileState,
    Lock,
    PromotionState,
    RecordRefusedError,
    StageChange,
    StateError,
    StateUnverifiedError,
)
from pipeline.promote.verification import HealthCheck, VerifyResult, run_commands
from pipeline.record.proposal import ProposalError, proposal_branch
from pipeline.usage import one_of

Verifier = Callable[[str, Mapping[str, Any], str], VerifyResult]
Commands = Callable[[tuple[str, ...], str, str, Mapping[str, Any]], VerifyResult]
Confirm = Callable[[str, str, str], str | None]
"""(stage, release, reason) -> approver name, or None when declined."""


class Governed(Protocol):
    """What governs a promotion (pipeline.record.governance): recorded in its start entry, and
    whether a release's commit is on the protected branch."""

    @property
    def where(self) -> str: ...

    def to_record(self) -> dict[str, Any]: ...

    def reviewed(self, commit: str) -> bool: ...


class PromotionError(Exception):
    """Refused before anything ran: bad input or an ineligible release. Exit 2."""


@dataclass(frozen=True)
class Request:
    release: str
    target: str
    pipeline: str | None = None
    rollback: bool = False
    auto: bool = False
    approver: str | None = None
    merged: bool = False
    """Deploy the reviewed merge of the target's proposal (a stage promoted by pull request)."""
    forge: tuple[str, str] | None = None
    """(proposal author, reviewer) logins from the forge's API, instead of git's identities."""
    freeze_override: FreezeOverride | None = None
    """Go ahead inside a stage's freeze window: who decided and why (recorded)."""


__all__ = [
    "EXIT_BUSY",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_PROPOSED",
    "EXIT_STOPPED",
    "Orchestrator",
    "Outcome",
    "PromotionError",
    "Request",
    "stage_policy",
]


@dataclass
class Outcome:
    """What a promotion (or one stage of it) ended as; ``code`` comes from the one table
    (pipeline.promote.model.EXIT_CODES)."""

    code: int
    outcome: PromotionOutcome | StageOutcome
    message: str
    stages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        outcome: PromotionOutcome | StageOutcome,
        message: str,
        stages: dict[str, str] | None = None,
    ) -> Outcome:
        return cls(exit_code(outcome), outcome, message, stages or {})

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "outcome": str(self.outcome),
            "message": self.message,
            "stages": self.stages,
        }


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


@dataclass
class Walk:
    """What a request resolves to: the pipeline, the release and the stages to deploy in order."""

    pipeline: str
    release: Release
    stages: list[Stage]
    approver: str | None
    verdicts: dict[str, list[Verdict]]
    resume: Unfinished | None = None
    supersede: Unfinished | None = None
    proposal: bool = False  # propose the one stage (promoted by pull request), deploy nothing
    review: Mapping[str, str] | None = None  # the verified merge that approves the stage
    rollback: bool = False  # promote --rollback: a proposal is named and recorded as one


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

    def pipeline_named(self, name: str | None) -> tuple[str, Pipeline]:
        pipelines = self.definition.pipelines
        chosen = name or next(iter(pipelines))
        if chosen not in pipelines:
            raise PromotionError(
                f"stacks/pipeline.yaml: pipelines.{chosen}: no such pipeline;"
                f" expected one of {one_of(sorted(pipelines))}"
            )
        return chosen, pipelines[chosen]

    def view(self) -> LedgerView:
        try:
            check = self.ledger.verify()
        except StateError as exc:
            raise PromotionError(f"{exc}\nnothing was deployed") from None
        if not check.ok:
            raise PromotionError(
                "the ledger does not verify; nothing was deployed:\n  "
                + "\n  ".join(check.problems)
            )
        for note in check.notes:  # e.g. a torn last line: this promotion's first append cuts it
            self.emit("note", message=f"{note}")
        return LedgerView(self.ledger.decisive())

    def holds(self, stack: str) -> str | None:
        release = self.deployer.outputs(stack).get("release")
        return str(release) if release is not None else None

    def resolve(self, request: Request) -> Walk:
        """Check the request against the pipeline, the ledger and the stacks; raise
        PromotionError (nothing deployed, nothing written) when it may not go ahead."""
        name, pipeline = self.pipeline_named(request.pipeline)
        order = [s.stack for s in pipeline.stages]
        if request.target not in order:
            raise PromotionError(
                f"stacks/pipeline.yaml: pipelines.{name}.stages: no stage {request.target!r};"
                f" expected one of {one_of(order)}"
            )
        try:
            release = self.releases.get(request.release)
        except ReleaseError as exc:
            raise PromotionError(str(exc)) from None
        if self.services is not None and set(release.images) != set(self.services):
            raise PromotionError(
                f"release {release.id} has images for {one_of(sorted(release.images))} but the"
                f" blueprint runs {one_of(sorted(self.services))}"
            )
        target = pipeline.stages[order.index(request.target)]
        by_pull_request = target.promotion is Promotion.PULL_REQUEST
        if request.merged and not by_pull_request:
            raise PromotionError(
                f"--merged: {request.target} is promoted directly, not by pull request"
                f" (stacks/pipeline.yaml: pipelines.{name}: promotion)"
            )
        view = self.view()
        unfinished = view.unfinished(name)
        same = (
            unfinished is not None
            and unfinished.release == release.id
            and unfinished.target == request.target
            and unfinished.rollback == request.rollback
        )
        if same and by_pull_request and not request.merged:
            raise PromotionError(
                f"refused, nothing proposed:\n  the deployment of the merged proposal of"
                f" {release.id} to {request.target} was interrupted: run `promote {release.id}"
                f" --to {request.target} --merged{' --rollback' if request.rollback else ''}`"
                " to resume it"
            )
        if unfinished is not None and same:
            walk_stages = [pipeline.stages[order.index(s)] for s in self._walk_of(unfinished)]
            start = self._start_of(unfinished)
            return Walk(
                name,
                release,
                walk_stages,
                start.get("approver"),
                {},
                resume=unfinished,
                review=start.get("review"),
            )
        review, unreviewed = None, None
        if request.merged:
            try:
                review = self.state.review(
                    request.target, release, request.forge, rollback=request.rollback
                ).to_record()
            except ProposalError as exc:
                # Deployed already (a second run after the merge): nothing to do, see below.
                unreviewed = PromotionError(f"refused, nothing deployed:\n  {exc}")
                if not self._runs_recorded(request.target, release.id):
                    raise unreviewed from None

        planned = plan_walk(
            pipeline,
            request.target,
            release.id,
            self.holds,
            view,
            {r.id: r.created for r in self.releases.all()},
            datetime.now(UTC),  # the soak runs on the real clock, from the recorded time
            rollback=request.rollback,
            auto=request.auto,
            approver=request.approver,
            reviewer=review["reviewer"] if review else None,
            code=self._code_review(release),
            override=request.freeze_override,
        )
        if unreviewed is not None and planned.stages:
            raise unreviewed
        self._check_pull_requests(request, planned.stages)
        verdicts = planned.verdicts
        approver = review["reviewer"] if review else request.approver
        problems = planned.problems()
        needs_confirmation = planned.approvals_needed()
        if problems:
            problems += [
                f"{stage.stack}: approval: {reason}" for stage, reason in needs_confirmation
            ]
            raise PromotionError("refused, nothing deployed:\n  " + "\n  ".join(problems))
        for stage, reason in needs_confirmation:
            name_given = self.confirm(stage.stack, release.id, reason) if self.confirm else None
            if not name_given:
                raise PromotionError(f"refused, nothing deployed:\n  {stage.stack}: {reason}")
            approver = name_given
            verdicts[stage.stack][-1] = Verdict(
                "approval", GateOutcome.OK, f"confirmed by {approver}"
            )
        return Walk(
            name,
            release,
            planned.stages,
            approver,
            verdicts,
            None,
            unfinished,
            proposal=bool(planned.proposals()),
            review=review,
            rollback=request.rollback,
        )

    def _code_review(self, release: Release) -> CodeReview | None:
        if self.governance is None:
            return None
        reviewed = self.governance.reviewed(release.commit)
        return CodeReview(release.commit, self.governance.where, reviewed)

    def _runs_recorded(self, stack: str, release: str) -> bool:
        """Whether the stage's record says it runs ``release``, with no merge waiting."""
        record = self.state.stage_record(stack)
        return bool(record and record.get("release") == release and "pendingMerge" not in record)

    @staticmethod
    def _check_pull_requests(request: Request, stages: list[Stage]) -> None:
        """A stage promoted by pull request is proposed (or deployed from its merge) on its
        own, once every stage before it runs the release; only its merge approves it."""
        walk = [s.stack for s in stages]
        for stage in (s for s in stages if s.promotion is Promotion.PULL_REQUEST):
            if request.approver:
                raise PromotionError(
                    f"refused, nothing deployed:\n  {stage.stack}: --approver does not approve"
                    " a stage promoted by pull request; the merge of its proposal by a reviewer"
                    " does (run without --approve to propose it)"
                )
            if walk != [stage.stack]:
                before = walk[: walk.index(stage.stack)] or walk
                raise PromotionError(
                    f"refused, nothing deployed:\n  {stage.stack} is promoted by pull request on"
                    f" its own: promote {request.release} to {before[-1]} first"
                )

    @staticmethod
    def _start_of(unfinished: Unfinished) -> dict[str, Any]:
        return next(e for e in unfinished.entries if e.get("step") == "start")

    @staticmethod
    def _interrupted_update(walk: Walk, stack: str, kind: str) -> dict[str, tuple[str, ...]]:
        """URN -> changed paths of the preview the gate passed before this stage's update was
        interrupted (resuming it), else empty: what finishing that update may still change."""
        resume = walk.resume
        step = resume.interrupted() if resume is not None else None
        if resume is None or step is None:
            return {}
        if (step["stage"], step["kind"], step["step"]) != (stack, kind, "up"):
            return {}
        gated = [
            e
            for e in resume.entries
            if (e.get("stage"), e.get("kind"), e.get("step"), e.get("status"))
            == (stack, kind, "preview", "completed")
        ]
        changed = (gated[-1].get("preview") or {}).get("changed") or [] if gated else []
        return {str(c["urn"]): tuple(c.get("paths") or ()) for c in changed}

    @classmethod
    def _walk_of(cls, unfinished: Unfinished) -> list[str]:
        stages: list[str] = cls._start_of(unfinished).get("stages", [])
        return stages

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
        change = self._stage_change(
            walk, branch, stage.stack, kind, ReleaseConfig(release.id, release.images)
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

    @staticmethod
    def _header(walk: Walk, promotion: str) -> dict[str, Any]:
        """The fields every entry of this promotion starts from (the promoted release)."""
        return {
            "promotion": promotion,
            "pipeline": walk.pipeline,
            "release": walk.release.id,
            "digests": walk.release.digests,
            "approver": walk.approver,
        }

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
                        **self._header(walk, old.promotion),
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
                    **self._header(walk, promotion),
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
        try:
            for stage in walk.stages:
                kind = "rollback" if request.rollback else "forward"
                result = self._stage(walk, promotion, stage, kind)
                stages[stage.stack] = result.outcome
                if result.code != EXIT_OK:
                    self._record(
                        FinishEntry(
                            **self._header(walk, promotion),
                            outcome=result.outcome,
                            detail=result.message,
                        )
                    )
                    result.stages = stages
                    return result
        except KeyboardInterrupt:
            # Not a finish: the promotion stays resumable from its last completed step.
            self._record(InterruptedEntry(**self._header(walk, promotion), detail="Ctrl-C"))
            return Outcome.of(PromotionOutcome.INTERRUPTED, "interrupted; run again to resume")
        outcome = PromotionOutcome.ROLLED_BACK if request.rollback else PromotionOutcome.PROMOTED
        message = f"{walk.release.id} {outcome} to {request.target}"
        self._record(FinishEntry(**self._header(walk, promotion), outcome=outcome, detail=message))
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
                **self._header(walk, promotion),
                interrupted=({"stage": step["stage"], "step": step["step"]} if step else None),
                pending=pending,
            )
        )

    # ------------------------------------------------------------------ one stage

    def _step(
        self,
        walk: Walk,
        promotion: str,
        stage: str,
        kind: str,
        step: StepName,
        status: StepStatus,
        target: ReleaseConfig,
        record: StageChange | None = None,
        **fields: Any,
    ) -> None:
        header = self._header(walk, promotion) | {
            "release": target.release,
            "digests": {s: i.rsplit("@", 1)[-1] for s, i in sorted(target.images.items())},
        }
        entry = StepEntry(
            **header,
            stage=stage,
            kind=Direction(kind),
            step=step,
            status=status,
            promoting=walk.release.id,
            **fields,
        )
        self._record(entry, record)
        shown = {k: v for k, v in fields.items() if k in ("detail", "diff")}
        self.emit("step", stage=stage, kind=kind, step=str(step), status=str(status), **shown)

    def _stage(self, walk: Walk, promotion: str, stage: Stage, kind: str) -> Outcome:
        """Deploy the walk's release to one stage; roll back if its update or checks fail."""
        done = walk.resume.completed(stage.stack, kind) if walk.resume else set()
        if "verify" in done:
            self.emit(
                "step",
                stage=stage.stack,
                kind=kind,
                step="verify",
                status="skipped",
                detail="verified before the interruption",
            )
            return Outcome.of(StageOutcome.VERIFIED, "")
        rolling_back = walk.resume is not None and any(
            e.get("stage") == stage.stack and e.get("kind") == "rollback"
            for e in walk.resume.entries
        )
        if kind == "forward" and rolling_back:
            return self._rollback(walk, promotion, stage, "resuming an interrupted rollback")
        target = ReleaseConfig(walk.release.id, walk.release.images)
        result = self._deploy(walk, promotion, stage, kind, target, done)
        failed = (StageOutcome.UP_FAILED, StageOutcome.VERIFICATION_FAILED)
        if result.outcome in failed and kind == "forward":
            return self._rollback(walk, promotion, stage, result.message)
        return result

    def _previous_config(
        self, walk: Walk, promotion: str, stage: str, kind: str
    ) -> ReleaseConfig | None:
        for entry in reversed(self.ledger.decisive()):  # this (unfinished) promotion's are kept
            if (
                entry.get("promotion") == promotion
                and entry.get("stage") == stage
                and entry.get("kind") == kind
                and entry.get("step") == "set-images"
                and entry.get("status") == "completed"
            ):
                prev = entry["previous"]
                return ReleaseConfig(prev["release"], prev["images"])
        return None

    def _deploy(
        self,
        walk: Walk,
        promotion: str,
        stage: Stage,
        kind: str,
        target: ReleaseConfig,
        done: set[str],
    ) -> Outcome:
        stack = stage.stack
        rid = target.release

        def step(
            name: StepName, status: StepStatus, record: StageChange | None = None, **fields: Any
        ) -> None:
            self._step(walk, promotion, stack, kind, name, status, target, record, **fields)

        self._use_source(stack, target)
        previous = self._previous_config(walk, promotion, stack, kind) if done else None
        if "set-images" not in done or previous is None:
            step(StepName.SET_IMAGES, StepStatus.STARTED)
            try:
                previous = self.deployer.set_images(stack, target)
            except DeployError as exc:
                step(StepName.SET_IMAGES, StepStatus.FAILED, detail=str(exc))
                return Outcome.of(StageOutcome.STOPPED, f"{stack}: set-images failed: {exc}")
            step(
                StepName.SET_IMAGES,
                StepStatus.COMPLETED,
                previous={"release": previous.release, "images": previous.images},
                detail=f"{previous.release} -> {rid}",
            )
        elif "up" not in done:
            # Resumed before the update: the killed process may have pinned the release where
            # only it could see it (the offline deployer's private copy), so pin it again; the
            # step is not recorded twice and ``previous`` stays what the ledger says.
            try:
                self.deployer.set_images(stack, target)
            except DeployError as exc:
                return Outcome.of(StageOutcome.STOPPED, f"{stack}: set-images failed: {exc}")

        def restore(reason: str, outcome: StageOutcome = StageOutcome.STOPPED) -> Outcome:
            assert previous is not None
            try:
                self.deployer.set_images(stack, previous)
            except DeployError as exc:
                reason += f"; restoring {previous.release} in the stack config failed: {exc}"
            return Outcome.of(outcome, f"{stack}: {reason}")

        if "up" not in done:
            try:  # the gate compares with what the stack runs, whatever its config says
                outputs_now = self.deployer.outputs(stack)
                running = running_config(outputs_now)
            except DeployError:
                outputs_now, running = {}, previous
            failure = self._copy_images(stack, kind, target, outputs_now, step)
            if failure:
                return restore(failure)
            policy = self.policy(stack)
            step(StepName.PREVIEW, StepStatus.STARTED, policy=policy.describe())
            try:
                preview = self.deployer.preview(stack, policy)
            except StackBusyError as exc:
                step(
                    StepName.PREVIEW,
                    StepStatus.FAILED,
                    detail=f"stack locked by another update: {exc}",
                )
                return restore(f"stack locked by another update ({exc})", StageOutcome.BUSY)
            except DeployError as exc:
                step(StepName.PREVIEW, StepStatus.FAILED, detail=str(exc))
                return restore(f"preview failed: {exc}")
            counts = ", ".join(f"{n} {op}" for op, n in preview.counts().items() if op != "same")
            step(
                StepName.PREVIEW,
                StepStatus.COMPLETED,
                preview=preview.summary(),
                policy=preview.policy.to_json(),
                detail=f"{counts or 'no changes'}; policy {preview.policy.status}",
            )
            interrupted = self._interrupted_update(walk, stack, kind)
            findings = gate_findings(preview.changes, running or target, target, interrupted)
            findings += policy_findings(preview.policy)  # the rule --rehearse applies too
            if findings:
                step(
                    StepName.GATE,
                    StepStatus.FAILED,
                    findings=findings,
                    detail=f"{len(findings)} finding(s); stack config restored",
                    diff=diff_lines(preview.changes) + findings,
                )
                return restore("preview gate stopped the promotion: " + "; ".join(findings[:3]))
            step(StepName.GATE, StepStatus.COMPLETED, detail="only the release changes")
            step(StepName.UP, StepStatus.STARTED, plan=preview.plan)
            try:
                notes = list(self.deployer.up(stack, preview) or ())
            except StackBusyError as exc:
                step(
                    StepName.UP, StepStatus.FAILED, detail=f"stack locked by another update: {exc}"
                )
                return restore(f"stack locked by another update ({exc})", StageOutcome.BUSY)
            except DeployError as exc:
                step(StepName.UP, StepStatus.FAILED, detail=str(exc))
                return Outcome.of(StageOutcome.UP_FAILED, f"{stack}: up failed: {exc}")
            for note in notes:
                self.emit("note", stage=stack, message=f"{stack}: {note}")
            # The update is complete only once the stage's record says so (same push).
            record = self._stage_change(walk, promotion, stack, kind, target)
            step(StepName.UP, StepStatus.COMPLETED, record=record, notes=notes or None)

        step(StepName.VERIFY, StepStatus.STARTED)
        try:
            outputs = self.deployer.outputs(stack)
        except DeployError as exc:
            result = VerifyResult(False, f"cannot read stack outputs: {exc}")
        else:
            result = self.verify(stack, outputs, rid)
            if result.ok and stage.verify_commands:
                result = self.commands(stage.verify_commands, stack, rid, outputs)
        if not result.ok:
            step(StepName.VERIFY, StepStatus.FAILED, detail=result.detail)
            return Outcome.of(StageOutcome.VERIFICATION_FAILED, f"{stack}: {result.detail}")
        step(StepName.VERIFY, StepStatus.COMPLETED, detail=result.detail)
        return Outcome.of(StageOutcome.VERIFIED, result.detail)

    def _copy_images(
        self,
        stack: str,
        kind: str,
        target: ReleaseConfig,
        outputs: Mapping[str, Any],
        step: Callable[..., None],
    ) -> str | None:
        """Copy the release's images into the stage's registry (``repositoryUrls``) before its
        preview; the reason to stop, or None. Nothing to copy is said, not recorded."""
        if self.images is None:
            return None
        try:
            copies = stage_copies(target.images, outputs)
        except CopyError as exc:
            step(StepName.COPY_IMAGES, StepStatus.FAILED, detail=str(exc))
            return f"image copy failed: {exc}"
        if not copies:
            why = "no repositoryUrls output" if copies is None else "pulled where the release is"
            self.emit(
                "step", stage=stack, kind=kind, step="copy-images", status="skipped", detail=why
            )
            return None
        step(StepName.COPY_IMAGES, StepStatus.STARTED, copies=[c.describe() for c in copies])

        def progress(line: str) -> None:
            self.emit("note", stage=stack, message=line)

        try:
            lines = copy_to_stage(copies, self.images, progress)
        except CopyError as exc:
            step(StepName.COPY_IMAGES, StepStatus.FAILED, detail=str(exc))
            return f"image copy failed: {exc}"
        step(
            StepName.COPY_IMAGES,
            StepStatus.COMPLETED,
            copied=lines,
            detail=f"{len(copies)} image(s) in place",
        )
        return None

    def _use_source(self, stack: str, target: ReleaseConfig) -> None:
        """Deploy the release's own infrastructure commit (a worktree), not the checkout's code,
        when the state knows it and the deployer can take it (``use_source``)."""
        use = getattr(self.deployer, "use_source", None)
        if use is None:
            return
        source = self.state.source(stack, target.release, self._commit_of(target.release))
        if source is not None:
            use(stack, source)

    def _commit_of(self, release: str) -> str | None:
        try:
            return self.releases.get(release).commit
        except ReleaseError:
            return None  # e.g. the bootstrap config a first promotion rolled back to

    def _stage_change(
        self, walk: Walk, promotion: str, stack: str, kind: str, target: ReleaseConfig
    ) -> StageChange:
        return StageChange(
            stack,
            walk.pipeline,
            target.release,
            dict(target.images),
            self._commit_of(target.release),
            promotion,
            kind,
            walk.approver,
            # The merge reviewed the walk's release, not the one a failed stage returns to.
            walk.review if target.release == walk.release.id else None,
        )

    def _rollback(self, walk: Walk, promotion: str, stage: Stage, why: str) -> Outcome:
        """Return ``stage`` to its last verified release by the same path, then stop."""
        stack = stage.stack
        view = LedgerView(self.ledger.decisive())
        last = view.last_verified(stack, other_than=walk.release.id)
        target: ReleaseConfig | None = None
        if last is not None:
            try:
                back = self.releases.get(last["release"])
                target = ReleaseConfig(back.id, back.images)
            except ReleaseError as exc:
                self.emit("note", stage=stack, message=f"cannot roll back: {exc}")
        if target is None:
            # Never verified here before: return to what ran before this promotion.
            target = self._previous_config(walk, promotion, stack, "forward")
        if target is None:
            return Outcome.of(StageOutcome.FAILED, f"{stack}: {why}; nothing to roll back to")
        self.emit("note", stage=stack, message=f"{why}; rolling back to {target.release}")
        done = walk.resume.completed(stack, "rollback") if walk.resume else set()
        result = self._deploy(walk, promotion, stage, "rollback", target, done)
        if result.code == EXIT_OK:
            return Outcome.of(
                StageOutcome.ROLLED_BACK,
                f"{stack}: {why}; rolled back to {target.release}; later stages untouched",
            )
        return Outcome.of(
            StageOutcome.ROLLBACK_FAILED,
            f"{stack}: {why}; rollback to {target.release} failed: {result.message}",
        )
