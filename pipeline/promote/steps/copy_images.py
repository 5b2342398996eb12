"""copy-images: copy the release's images into the stage's registry (its ``repositoryUrls``
output) before its preview. Nothing to copy is said, not recorded."""

from __future__ import annotations

from pipeline.promote.images import CopyError, copy_to_stage, stage_copies
from pipeline.promote.model import StageOutcome, StepName
from pipeline.promote.steps.step import FailureAction, OnFailure, StageContext, StepResult


class CopyImages:
    name = StepName.COPY_IMAGES
    on_failure = OnFailure(FailureAction.RESTORE, StageOutcome.STOPPED)

    def resume(self, ctx: StageContext) -> StepResult | None:
        return StepResult.skipped() if StepName.UP in ctx.done else None

    def start(self, ctx: StageContext) -> StepResult:
        outputs, _ = ctx.observed()  # read before the copy, as the gate compares with it
        if ctx.services.images is None:
            return StepResult.skipped()
        try:
            copies = stage_copies(ctx.target.images, outputs)
        except CopyError as exc:
            return StepResult.failed(f"image copy failed: {exc}", detail=str(exc))
        if not copies:
            why = "no repositoryUrls output" if copies is None else "pulled where the release is"
            return StepResult.skipped(why)
        ctx.copies = copies
        return StepResult.started(copies=[c.describe() for c in copies])

    def run(self, ctx: StageContext) -> StepResult:
        assert ctx.services.images is not None

        def progress(line: str) -> None:
            ctx.services.emit("note", stage=ctx.stack, message=line)

        try:
            lines = copy_to_stage(ctx.copies, ctx.services.images, progress)
        except CopyError as exc:
            return StepResult.failed(f"image copy failed: {exc}", detail=str(exc))
        return StepResult.completed(copied=lines, detail=f"{len(ctx.copies)} image(s) in place")
