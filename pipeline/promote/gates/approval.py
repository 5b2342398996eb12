"""Approval: a stage that requires it needs a named approver (or, promoted by pull request,
the merge of its proposal by a reviewer)."""

from __future__ import annotations

from pipeline.definition import Promotion, Stage
from pipeline.promote.gates.verdict import GateContext, Verdict
from pipeline.promote.model import GateOutcome


def approval_needed(stage: Stage, auto: bool) -> str | None:
    """Why ``stage`` needs a named approver, or None.

    A stage with ``approval: required`` always does, unless continuous deployment (``--auto``)
    runs and the stage allows it (``autoPromote``). Under ``--auto`` a stage without
    ``autoPromote`` is where continuous deployment stops: it too needs an approver.
    """
    if auto and stage.auto_promote:
        return None
    if stage.approval == "required":
        return f"{stage.stack} requires approval"
    if auto:
        return f"{stage.stack} does not allow continuous deployment (autoPromote is off)"
    return None


def approval_verdict(
    stage: Stage, auto: bool, approver: str | None, reviewer: str | None = None
) -> Verdict:
    """``approver``: who approved (``--approver`` or a confirmation); it never approves a stage
    promoted by pull request: only ``reviewer``, who merged its proposal, does; else the stage
    is proposed."""
    if stage.promotion is Promotion.PULL_REQUEST:
        if reviewer:
            return Verdict(
                "approval", GateOutcome.OK, f"approved by {reviewer} (merged its pull request)"
            )
        return Verdict(
            "approval",
            GateOutcome.PROPOSE,
            f"{stage.stack} is promoted by pull request: its next record is proposed and the"
            " merge by a reviewer who is not its author approves it",
        )
    reason = approval_needed(stage, auto)
    if reason is None:
        why = "autoPromote under --auto" if auto else "no approval required"
        return Verdict("approval", GateOutcome.OK, why)
    if approver:
        return Verdict("approval", GateOutcome.OK, f"approved by {approver}")
    return Verdict(
        "approval",
        GateOutcome.REFUSE,
        f"{reason}: pass --approve --approver NAME, or confirm on a terminal",
    )


class ApprovalGate:
    """Last in the registration: a terminal confirmation replaces its verdict."""

    name = "approval"

    def verdict(self, ctx: GateContext) -> Verdict | None:
        return approval_verdict(ctx.stage, ctx.auto, ctx.approver, ctx.reviewer)
