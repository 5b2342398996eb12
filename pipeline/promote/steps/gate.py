"""gate: the preview gate. Only the release may change (pipeline.promote.diff), and a policy
check that did not pass stops the stage, the rule --rehearse applies too. No started entry: the
gate reads the preview and decides at once."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.promote.deployer import Change, PolicyResult, ReleaseConfig
from pipeline.promote.diff import diff_lines, gate_findings
from pipeline.promote.history import Unfinished
from pipeline.promote.model import StageOutcome, StepName, StepStatus
from pipeline.promote.policy import policy_findings
from pipeline.promote.steps.step import FailureAction, OnFailure, StageContext, StepResult


class Gate:
    name = StepName.GATE
    on_failure = OnFailure(FailureAction.RESTORE, StageOutcome.STOPPED)

    def resume(self, ctx: StageContext) -> StepResult | None:
        return StepResult.skipped() if StepName.UP in ctx.done else None

    def start(self, ctx: StageContext) -> StepResult:
        return self.run(ctx)

    def run(self, ctx: StageContext) -> StepResult:
        assert ctx.preview is not None
        _, running = ctx.observed()  # what the stack runs, whatever its config says
        interrupted = interrupted_update(ctx.walk.resume, ctx.stack, ctx.kind)
        preview = ctx.preview
        findings = preview_findings(
            preview.changes, running or ctx.target, ctx.target, preview.policy, interrupted
        )
        if findings:
            return StepResult.failed(
                "preview gate stopped the promotion: " + "; ".join(findings[:3]),
                findings=findings,
                detail=f"{len(findings)} finding(s); stack config restored",
                diff=diff_lines(ctx.preview.changes) + findings,
            )
        return StepResult.completed(detail="only the release changes")


def preview_findings(
    changes: list[Change],
    running: ReleaseConfig,
    target: ReleaseConfig,
    policy: PolicyResult,
    interrupted: Mapping[str, tuple[str, ...]] | None = None,
    *,
    urns: bool = True,
) -> list[str]:
    """Why the preview gate stops a stage (empty: it passes): a change besides the release's,
    or a policy check that did not pass. ``--rehearse`` asks the same (``urns=False``)."""
    findings = gate_findings(changes, running, target, interrupted or {})
    return findings + policy_findings(policy, urns=urns)


def interrupted_update(
    resume: Unfinished | None, stack: str, kind: str
) -> dict[str, tuple[str, ...]]:
    """URN -> changed paths of the preview the gate passed before this stage's update was
    interrupted (resuming it), else empty: what finishing that update may still change."""
    step = resume.interrupted() if resume is not None else None
    if resume is None or step is None:
        return {}
    if (step.stage, step.kind, step.step) != (stack, kind, StepName.UP):
        return {}
    gated = [
        e
        for e in resume.steps()
        if (e.stage, e.kind, e.step, e.status)
        == (stack, kind, StepName.PREVIEW, StepStatus.COMPLETED)
    ]
    changed = (gated[-1].preview or {}).get("changed") or [] if gated else []
    return {str(c["urn"]): tuple(c.get("paths") or ()) for c in changed}
