"""Upstream verified: a release enters a stage only once it is verified in the stage before
it, and soaked there for the upstream's ``soakMinutes``. The soak is part of this gate, not a
gate of its own, because the ledger records one verdict for both (``upstream`` or ``soak``);
``edge_verdict`` is the check of one upstream stage, which stage dependencies reuse."""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.definition import Pipeline, Stage
from pipeline.promote.gates.verdict import GateContext, Verdict
from pipeline.promote.history import LedgerView
from pipeline.promote.model import GateOutcome


def upstream_verdict(
    pipeline: Pipeline,
    index: int,
    release: str,
    view: LedgerView,
    now: datetime,
    walked: frozenset[str] = frozenset(),
) -> Verdict:
    """Stage ``index`` needs the release verified in the stage before it, soaked if required.

    ``walked`` are stages this same promotion deploys first: they will have been verified just
    before, which only satisfies a stage whose upstream does not soak.
    """
    if index == 0:
        return Verdict("upstream", GateOutcome.OK, "first stage of the pipeline")
    return edge_verdict(
        pipeline.stages[index - 1], pipeline.stages[index], release, view, now, walked
    )


def edge_verdict(
    upstream: Stage,
    stage: Stage,
    release: str,
    view: LedgerView,
    now: datetime,
    walked: frozenset[str] = frozenset(),
) -> Verdict:
    """``stage`` needs the release verified in ``upstream``, soaked if it soaks."""
    soak = timedelta(minutes=upstream.soak_minutes)
    if upstream.stack in walked:
        if soak:
            return Verdict(
                "soak",
                GateOutcome.REFUSE,
                f"{upstream.stack} soaks a release {upstream.soak_minutes} min before it moves on:"
                f" promote to {upstream.stack} first, then to {stage.stack} once the soak is over",
            )
        return Verdict(
            "upstream", GateOutcome.OK, f"verified in {upstream.stack} by this promotion"
        )
    verified = view.verified_at(upstream.stack, release)
    if verified is None:
        return Verdict(
            "upstream",
            GateOutcome.REFUSE,
            f"{release} is not verified in {upstream.stack}; stages are not skipped"
            f" (promote to {upstream.stack} first)",
        )
    left = verified + soak - now
    if left > timedelta(0):
        minutes = int(left.total_seconds() // 60) + 1
        return Verdict(
            "soak",
            GateOutcome.WAIT,
            f"{release} has soaked in {upstream.stack} since {verified:%Y-%m-%d %H:%M} UTC;"
            f" {minutes} of {upstream.soak_minutes} min left",
        )
    return Verdict(
        "upstream", GateOutcome.OK, f"verified in {upstream.stack} at {verified:%Y-%m-%d %H:%M}"
    )


class UpstreamGate:
    """The stage before this one (a stage that names its ``upstream`` stages is the
    dependencies gate's)."""

    name = "upstream"

    def verdict(self, ctx: GateContext) -> Verdict | None:
        if ctx.rollback or ctx.stage.upstream is not None:
            return None
        index = ctx.pipeline.stages.index(ctx.stage)
        return upstream_verdict(ctx.pipeline, index, ctx.release, ctx.view, ctx.now, ctx.walked)
