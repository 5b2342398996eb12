"""Stage dependencies (fan-in): a stage that names its ``upstream`` stages takes a release only
once it is verified, and soaked where they soak, in every one of them, so a pipeline can be a
graph (staging -> live-eu and live-us; a stage after both AWS and Azure staging)."""

from __future__ import annotations

from pipeline.promote.gates.upstream import edge_verdict
from pipeline.promote.gates.verdict import GateContext, Verdict
from pipeline.promote.model import GateOutcome


class DependenciesGate:
    name = "dependencies"

    def verdict(self, ctx: GateContext) -> Verdict | None:
        if ctx.rollback or ctx.stage.upstream is None:
            return None
        edges = [
            edge_verdict(upstream, ctx.stage, ctx.release, ctx.view, ctx.now, ctx.walked)
            for upstream in ctx.pipeline.upstream_of(ctx.stage)
        ]
        if not edges:
            return Verdict(
                "upstream", GateOutcome.OK, "no upstream stage: a first stage of the pipeline"
            )
        held = [v for v in edges if not v.ok]
        if held:
            # The soak that still runs (wait) says more than a refusal that follows from it.
            return next((v for v in held if v.outcome is GateOutcome.WAIT), held[0])
        return Verdict("upstream", GateOutcome.OK, "; ".join(v.reason for v in edges))
