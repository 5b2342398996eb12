"""Reviewed code: a stage that takes only reviewed code (``reviewedCode``, default staging and
live) refuses a release built from a commit the protected branch does not contain."""

from __future__ import annotations

from pipeline.definition import Stage
from pipeline.promote.gates.verdict import CodeReview, GateContext, Verdict
from pipeline.promote.model import GateOutcome


def reviewed_verdict(stage: Stage, release: str, code: CodeReview) -> Verdict | None:
    """A stage that takes only reviewed code (``reviewedCode``, default staging and live)
    refuses a release built from a commit the protected branch does not contain."""
    if not stage.needs_reviewed_code():
        return None
    if code.reviewed:
        return Verdict("reviewed", GateOutcome.OK, f"commit {code.commit[:12]} is on {code.branch}")
    return Verdict(
        "reviewed",
        GateOutcome.REFUSE,
        f"{release} was built from commit {code.commit[:12]}, which is not on {code.branch}"
        f" (the protected branch); {stage.stack} takes only reviewed code: merge it, then"
        " release the merge",
    )


class ReviewedGate:
    name = "reviewed"

    def verdict(self, ctx: GateContext) -> Verdict | None:
        if ctx.code is None:  # no protected branch to check: a local --state-dir
            return None
        return reviewed_verdict(ctx.stage, ctx.release, ctx.code)
