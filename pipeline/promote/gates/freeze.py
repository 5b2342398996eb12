"""Freeze windows: nothing is promoted into a stage inside one of its weekly ``freeze``
windows (pipeline.windows) unless ``promote --override-freeze REASON`` names who decided
(``--approver``) and why; the override is recorded in the start entry and replayed by
``ledger verify``. A rollback is not held: it is how a frozen stage gets fixed."""

from __future__ import annotations

from pipeline.promote.gates.verdict import GateContext, Verdict
from pipeline.promote.model import GateOutcome


class FreezeGate:
    name = "freeze"

    def verdict(self, ctx: GateContext) -> Verdict | None:
        windows = ctx.stage.freeze
        if not windows:
            return None
        if ctx.rollback:
            return Verdict("freeze", GateOutcome.OK, "a rollback is not held by freeze windows")
        inside = [w for w in windows if w.covers(ctx.now)]
        if not inside:
            return Verdict("freeze", GateOutcome.OK, "outside its freeze windows")
        window = inside[0].describe()
        if ctx.override is not None:
            return Verdict(
                "freeze",
                GateOutcome.OK,
                f"inside the freeze window {window}; overridden by {ctx.override.by}:"
                f" {ctx.override.reason}",
            )
        return Verdict(
            "freeze",
            GateOutcome.REFUSE,
            f"{ctx.stage.stack} is frozen {window}; to go ahead anyway pass --override-freeze"
            " REASON with --approver NAME (recorded)",
        )
