"""up: update the stack held to the preview's saved plan; the update is complete only once
the stage's record says so (the record lands with the completed entry, in one push)."""

from __future__ import annotations

from pipeline.promote.deployer import DeployError, ReleaseConfig, StackBusyError
from pipeline.promote.model import StageOutcome, StepName
from pipeline.promote.release import ReleaseError
from pipeline.promote.state import Releases, StageChange
from pipeline.promote.steps.preview import BUSY
from pipeline.promote.steps.step import FailureAction, OnFailure, StageContext, StepResult
from pipeline.promote.walk import Walk


class Up:
    name = StepName.UP
    on_failure = OnFailure(FailureAction.ROLL_BACK, StageOutcome.UP_FAILED)

    def resume(self, ctx: StageContext) -> StepResult | None:
        return StepResult.skipped() if self.name in ctx.done else None

    def start(self, ctx: StageContext) -> StepResult:
        assert ctx.preview is not None
        return StepResult.started(plan=ctx.preview.plan)

    def run(self, ctx: StageContext) -> StepResult:
        assert ctx.preview is not None
        try:
            notes = list(ctx.services.deployer.up(ctx.stack, ctx.preview) or ())
        except StackBusyError as exc:
            return StepResult.failed(
                f"stack locked by another update ({exc})",
                BUSY,
                detail=f"stack locked by another update: {exc}",
            )
        except DeployError as exc:
            return StepResult.failed(f"up failed: {exc}", detail=str(exc))
        for note in notes:
            ctx.services.emit("note", stage=ctx.stack, message=f"{ctx.stack}: {note}")
        change = stage_change(
            ctx.walk,
            ctx.promotion,
            ctx.stack,
            ctx.kind,
            ctx.target,
            commit_of(ctx.services.state.releases, ctx.target.release),
        )
        return StepResult.completed(change=change, notes=notes or None)


def commit_of(releases: Releases, release: str) -> str | None:
    """The infrastructure commit a release was cut from, if it is a release."""
    try:
        return releases.get(release).commit
    except ReleaseError:
        return None  # e.g. the bootstrap config a first promotion rolled back to


def stage_change(
    walk: Walk,
    promotion: str,
    stack: str,
    kind: str,
    target: ReleaseConfig,
    commit: str | None,
) -> StageChange:
    """The stage's next record: what it runs once this change lands."""
    return StageChange(
        stack,
        walk.pipeline,
        target.release,
        dict(target.images),
        commit,
        promotion,
        kind,
        walk.approver,
        # The merge reviewed the walk's release, not the one a failed stage returns to.
        walk.review if target.release == walk.release.id else None,
    )
