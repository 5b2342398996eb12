"""verify: the stage answers with the release (health check), then the stage's own
``verify_commands``."""

from __future__ import annotations

from pipeline.promote.deployer import DeployError
from pipeline.promote.model import StageOutcome, StepName
from pipeline.promote.steps.step import FailureAction, OnFailure, StageContext, StepResult
from pipeline.promote.verification import VerifyResult


class Verify:
    name = StepName.VERIFY
    on_failure = OnFailure(FailureAction.ROLL_BACK, StageOutcome.VERIFICATION_FAILED)

    def resume(self, ctx: StageContext) -> StepResult | None:
        # Always verified again: a stage whose verification completed before the interruption
        # is done before its steps run (StageRunner.stage).
        return None

    def start(self, ctx: StageContext) -> StepResult:
        return StepResult.started()

    def run(self, ctx: StageContext) -> StepResult:
        services, stack, release = ctx.services, ctx.stack, ctx.target.release
        try:
            outputs = services.deployer.outputs(stack)
        except DeployError as exc:
            result = VerifyResult(False, f"cannot read stack outputs: {exc}")
        else:
            result = services.verify(stack, outputs, release)
            if result.ok and ctx.stage.verify_commands:
                result = services.commands(ctx.stage.verify_commands, stack, release, outputs)
        if not result.ok:
            return StepResult.failed(result.detail, detail=result.detail)
        return StepResult.completed(result.detail, detail=result.detail)
