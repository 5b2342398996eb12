"""preview: preview the stack with the stage's policy pack and save the update plan."""

from __future__ import annotations

from pipeline.promote.deployer import DeployError, StackBusyError
from pipeline.promote.model import StageOutcome, StepName
from pipeline.promote.steps.step import FailureAction, OnFailure, StageContext, StepResult

BUSY = OnFailure(FailureAction.RESTORE, StageOutcome.BUSY)
"""Pulumi's own stack lock is held by another update: nothing was deployed."""


class Preview:
    name = StepName.PREVIEW
    on_failure = OnFailure(FailureAction.RESTORE, StageOutcome.STOPPED)

    def resume(self, ctx: StageContext) -> StepResult | None:
        return StepResult.skipped() if StepName.UP in ctx.done else None

    def start(self, ctx: StageContext) -> StepResult:
        ctx.policy = ctx.services.policy(ctx.stack)
        return StepResult.started(policy=ctx.policy.describe())

    def run(self, ctx: StageContext) -> StepResult:
        assert ctx.policy is not None
        try:
            preview = ctx.services.deployer.preview(ctx.stack, ctx.policy)
        except StackBusyError as exc:
            return StepResult.failed(
                f"stack locked by another update ({exc})",
                BUSY,
                detail=f"stack locked by another update: {exc}",
            )
        except DeployError as exc:
            return StepResult.failed(f"preview failed: {exc}", detail=str(exc))
        ctx.preview = preview
        counts = ", ".join(f"{n} {op}" for op, n in preview.counts().items() if op != "same")
        return StepResult.completed(
            preview=preview.summary(),
            policy=preview.policy.to_json(),
            detail=f"{counts or 'no changes'}; policy {preview.policy.status}",
        )
