"""set-images: pin the release in the stack's config; remember what it replaced."""

from __future__ import annotations

from pipeline.promote.deployer import DeployError, ReleaseConfig
from pipeline.promote.entries import StepEntry
from pipeline.promote.model import StageOutcome, StepName, StepStatus
from pipeline.promote.state import PromotionState
from pipeline.promote.steps.step import FailureAction, OnFailure, StageContext, StepResult


class SetImages:
    name = StepName.SET_IMAGES
    on_failure = OnFailure(FailureAction.STOP, StageOutcome.STOPPED)

    def resume(self, ctx: StageContext) -> StepResult | None:
        if self.name not in ctx.done or ctx.previous is None:
            return None  # ``previous`` is what the ledger says it replaced: without it, redo
        if StepName.UP in ctx.done:
            return StepResult.skipped()
        # Resumed before the update: the killed process may have pinned the release where
        # only it could see it (the offline deployer's private copy), so pin it again; the
        # step is not recorded twice and ``previous`` stays what the ledger says.
        try:
            ctx.services.deployer.set_images(ctx.stack, ctx.target)
        except DeployError as exc:
            return StepResult.failed(f"set-images failed: {exc}")
        return StepResult.skipped()

    def start(self, ctx: StageContext) -> StepResult:
        return StepResult.started()

    def run(self, ctx: StageContext) -> StepResult:
        try:
            previous = ctx.services.deployer.set_images(ctx.stack, ctx.target)
        except DeployError as exc:
            return StepResult.failed(f"set-images failed: {exc}", detail=str(exc))
        ctx.previous = previous
        return StepResult.completed(
            previous={"release": previous.release, "images": previous.images},
            detail=f"{previous.release} -> {ctx.target.release}",
        )


def recorded_previous(
    state: PromotionState, promotion: str, stage: str, kind: str
) -> ReleaseConfig | None:
    """What set-images of this (unfinished) promotion recorded it replaced in ``stage``."""
    for entry in reversed(state.decisive()):  # this (unfinished) promotion's are kept
        if (
            isinstance(entry, StepEntry)
            and entry.promotion == promotion
            and entry.stage == stage
            and entry.kind == kind
            and entry.step is StepName.SET_IMAGES
            and entry.status is StepStatus.COMPLETED
        ):
            if entry.previous is None:
                raise KeyError("previous")  # as a keyed read of the stored entry failed
            prev = entry.previous
            return ReleaseConfig(prev["release"], prev["images"])
    return None
