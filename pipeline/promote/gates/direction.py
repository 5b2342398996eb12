"""Direction: a forward promotion only moves a stage forward; ``--rollback`` only returns it
to a release verified there."""

from __future__ import annotations

from pipeline.promote.gates.verdict import GateContext, Verdict
from pipeline.promote.history import LedgerView
from pipeline.promote.model import GateOutcome


def direction_verdict(
    stage: str,
    release: str,
    holds: str | None,
    view: LedgerView,
    created: dict[str, str],
    rollback: bool,
) -> Verdict:
    """Forward promotions only move forward; ``--rollback`` only returns to a verified release.

    ``holds`` is the release the stage runs now; ``created`` maps known release ids to their
    creation time (ISO 8601 strings compare in time order).
    """
    if rollback:
        if holds == release:
            return Verdict("rollback", GateOutcome.REFUSE, f"{stage} already runs {release}")
        if not view.ever_verified(stage, release):
            return Verdict(
                "rollback",
                GateOutcome.REFUSE,
                f"{release} was never verified in {stage}; a rollback returns to a release"
                " that ran there",
            )
        return Verdict("rollback", GateOutcome.OK, f"{release} was verified in {stage} before")
    if holds is None or holds == release:
        return Verdict("direction", GateOutcome.OK, "forward")
    replaced = view.ever_verified(stage, release) and (
        (last := view.last_verified(stage)) is not None and last.release != release
    )
    known = holds in created and release in created
    if known and created[release] < created[holds]:
        return Verdict(
            "direction",
            GateOutcome.REFUSE,
            f"{stage} runs {holds}, newer than {release}; going back needs --rollback",
        )
    if replaced and known:
        # The stage moved from this release back to an older one: a rollback happened.
        return Verdict(
            "direction",
            GateOutcome.REFUSE,
            f"{stage} was rolled back from {release} to the older {holds}; promote a newer"
            f" release, or return to {release} with --rollback",
        )
    if replaced:
        # No creation times to order them by: say what the ledger shows, not which is newer.
        return Verdict(
            "direction",
            GateOutcome.REFUSE,
            f"{stage} ran {release} before and now runs {holds}; returning to {release}"
            " needs --rollback",
        )
    return Verdict("direction", GateOutcome.OK, "forward")


class DirectionGate:
    name = "direction"

    def verdict(self, ctx: GateContext) -> Verdict | None:
        stack = ctx.stage.stack
        holds = ctx.holds(stack)
        return direction_verdict(
            stack, ctx.release, holds, ctx.view, dict(ctx.created), ctx.rollback
        )
