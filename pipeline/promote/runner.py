"""The stage runner: moves one stage of a walk to a release by running the registered steps
(pipeline.promote.steps.STEPS) in order, and writes every step's started, completed and failed
entry to the ledger.

On resume a step that completed before the interruption is not run again (``Step.resume``),
so the stage picks up from its first unfinished step. A failed step does what it declares
(``OnFailure``): stop, restore the stack's previous config, or roll the stage back.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.definition import Stage
from pipeline.promote.deployer import DeployError, ReleaseConfig
from pipeline.promote.entries import StepEntry
from pipeline.promote.model import Direction, StageOutcome, StepName, StepStatus
from pipeline.promote.outcome import Outcome
from pipeline.promote.steps import STEPS, FailureAction, Services, StageContext, Step, StepResult
from pipeline.promote.steps.rollback import roll_back
from pipeline.promote.steps.set_images import recorded_previous
from pipeline.promote.steps.up import commit_of
from pipeline.promote.walk import Walk, header


class StageRunner:
    def __init__(self, services: Services, steps: tuple[Step, ...] = STEPS) -> None:
        self.services = services
        self.steps = steps

    def stage(self, walk: Walk, promotion: str, stage: Stage, kind: Direction) -> Outcome:
        """Deploy the walk's release to one stage; roll back if its update or checks fail."""
        done = walk.resume.completed(stage.stack, kind) if walk.resume else set()
        if StepName.VERIFY in done:
            why = "verified before the interruption"
            self._say_skipped(stage.stack, kind, StepName.VERIFY, why)
            return Outcome.of(StageOutcome.VERIFIED, "")
        rolling_back = walk.resume is not None and any(
            e.stage == stage.stack and e.kind is Direction.ROLLBACK for e in walk.resume.steps()
        )
        if kind == Direction.FORWARD and rolling_back:
            why = "resuming an interrupted rollback"
            return roll_back(self, self.services, walk, promotion, stage, why)
        target = ReleaseConfig(walk.release.id, walk.release.images)
        result, action = self._run(walk, promotion, stage, kind, target, done)
        if action is FailureAction.ROLL_BACK and kind == Direction.FORWARD:
            return roll_back(self, self.services, walk, promotion, stage, result.message)
        return result

    def deploy(
        self, walk: Walk, promotion: str, stage: Stage, kind: Direction, target: ReleaseConfig
    ) -> Outcome:
        """Move ``stage`` to ``target`` by the steps, from where an interruption left it."""
        done = walk.resume.completed(stage.stack, kind) if walk.resume else set()
        return self._run(walk, promotion, stage, kind, target, done)[0]

    def _run(
        self,
        walk: Walk,
        promotion: str,
        stage: Stage,
        kind: Direction,
        target: ReleaseConfig,
        done: set[str],
    ) -> tuple[Outcome, FailureAction | None]:
        self._use_source(stage.stack, target)
        ctx = StageContext(self.services, walk, promotion, stage, kind, target, done)
        if done:
            ctx.previous = recorded_previous(self.services.state, promotion, stage.stack, kind)
        message = ""
        for step in self.steps:
            result = step.resume(ctx) if done else None
            resumed = result is not None
            if result is None:
                result = step.start(ctx)
                if result.status is StepStatus.STARTED:
                    self._record(ctx, step.name, result)
                    result = step.run(ctx)
            if result.status is StepStatus.SKIPPED or not resumed:  # recorded once, when run
                self._record(ctx, step.name, result)
            if result.status is StepStatus.FAILED:
                return self._failed(ctx, step, result)
            message = result.message or message
        return Outcome.of(StageOutcome.VERIFIED, message), None

    def _failed(
        self, ctx: StageContext, step: Step, result: StepResult
    ) -> tuple[Outcome, FailureAction]:
        failure = result.on_failure or step.on_failure
        reason = result.message
        if failure.action is FailureAction.RESTORE:
            previous = ctx.previous
            assert previous is not None  # set-images ran (or was resumed) before
            try:
                self.services.deployer.set_images(ctx.stack, previous)
            except DeployError as exc:
                reason += f"; restoring {previous.release} in the stack config failed: {exc}"
        return Outcome.of(failure.outcome, f"{ctx.stack}: {reason}"), failure.action

    def _record(self, ctx: StageContext, step: StepName, result: StepResult) -> None:
        """Append the step's entry (with the stage record it lands with) and say it; a skip is
        only said, and only when it says why."""
        if result.status is StepStatus.SKIPPED:
            if result.output.get("detail"):
                self._say_skipped(ctx.stack, ctx.kind, step, str(result.output["detail"]))
            return
        target = ctx.target
        fields = header(ctx.walk, ctx.promotion)  # moved to the target's release
        fields["release"] = target.release
        fields["digests"] = {s: i.rsplit("@", 1)[-1] for s, i in sorted(target.images.items())}
        entry = StepEntry(
            **fields,
            stage=ctx.stack,
            kind=ctx.kind,
            step=step,
            status=result.status,
            promoting=ctx.walk.release.id,
            **result.output,
        )
        self.services.state.append(entry, result.change)
        shown = {k: v for k, v in result.output.items() if k in ("detail", "diff")}
        self.services.emit(
            "step",
            stage=ctx.stack,
            kind=str(ctx.kind),
            step=str(step),
            status=str(result.status),
            **shown,
        )

    def _say_skipped(self, stack: str, kind: str, step: StepName, detail: str) -> None:
        self.services.emit(
            "step", stage=stack, kind=str(kind), step=str(step), status="skipped", detail=detail
        )

    def _use_source(self, stack: str, target: ReleaseConfig) -> None:
        """Deploy the release's own infrastructure commit (a worktree), not the checkout's code,
        when the state knows it and the deployer takes it (``Deployer.use_source``)."""
        state = self.services.state

        def source() -> Path | None:
            return state.source(stack, target.release, commit_of(state.releases, target.release))

        self.services.deployer.use_source(stack, source)
