"""The walk planner: which stages a request deploys, in what order, with which gate verdicts.

One pure function for ``promote`` and ``promote --rehearse`` alike, so a rehearsal cannot
disagree with a promotion about eligibility. Stages are never skipped: a forward walk covers the
stages the target waits for (its ``upstream`` stages, theirs, ...; by default the stages before
it) from the first that does not run the release verified there, and ends at the target; a
rollback walks the target alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pipeline.definition import Pipeline, Stage
from pipeline.promote.gates import GATES, CodeReview, FreezeOverride, GateContext, Verdict
from pipeline.promote.history import LedgerView
from pipeline.promote.model import GateOutcome


@dataclass(frozen=True)
class PlannedWalk:
    stages: list[Stage]
    verdicts: dict[str, list[Verdict]]

    def problems(self) -> list[str]:
        """Refusals other than a missing approval (which a confirmation may still give)."""
        return [
            f"{stack}: {v.gate}: {v.reason}"
            for stack, found in self.verdicts.items()
            for v in found
            if not v.ok and v.gate != "approval"
        ]

    def approvals_needed(self) -> list[tuple[Stage, str]]:
        """Stages that need a named approver (a confirmation may still give one)."""
        return [
            (stage, v.reason)
            for stage in self.stages
            for v in self.verdicts[stage.stack]
            if v.gate == "approval" and v.outcome is GateOutcome.REFUSE
        ]

    def proposals(self) -> list[Stage]:
        """Stages promoted by pull request that this walk would propose rather than deploy."""
        return [
            stage
            for stage in self.stages
            if any(
                v.gate == "approval" and v.outcome is GateOutcome.PROPOSE
                for v in self.verdicts[stage.stack]
            )
        ]


def plan_walk(
    pipeline: Pipeline,
    target: str,
    release: str,
    holds: Callable[[str], str | None],
    view: LedgerView,
    created: Mapping[str, str],
    now: datetime,
    *,
    rollback: bool = False,
    auto: bool = False,
    approver: str | None = None,
    reviewer: str | None = None,
    code: CodeReview | None = None,
    override: FreezeOverride | None = None,
) -> PlannedWalk:
    """``holds(stack)`` is the release a stage runs now; ``created`` maps release ids to their
    creation times (for the direction gate); ``reviewer`` merged the proposal of a stage
    promoted by pull request; ``code`` whether the release's commit is on the protected
    branch (None: no protected branch to check, a local ``--state-dir``); ``override`` lets
    the walk through a freeze window. Each stage's verdicts are those of the registered gates
    (``pipeline.promote.gates.GATES``), in order."""
    if rollback:
        stages = [s for s in pipeline.stages if s.stack == target]
    else:
        # A stage is walked when it does not run the release verified, or when a stage it
        # waits for is walked (it is then deployed again after it): stages are never skipped.
        moving: set[str] = set()
        for stage in pipeline.ancestors(target):
            done = holds(stage.stack) == release and view.verified_at(stage.stack, release)
            if not done or any(u.stack in moving for u in pipeline.upstream_of(stage)):
                moving.add(stage.stack)
        stages = [s for s in pipeline.stages if s.stack in moving]
    verdicts: dict[str, list[Verdict]] = {}
    walked: set[str] = set()
    for stage in stages:
        ctx = GateContext(
            pipeline,
            stage,
            release,
            holds,
            view,
            created,
            now,
            frozenset(walked),
            rollback=rollback,
            auto=auto,
            approver=approver,
            reviewer=reviewer,
            code=code,
            override=override,
        )
        verdicts[stage.stack] = [v for gate in GATES if (v := gate.verdict(ctx)) is not None]
        walked.add(stage.stack)
    return PlannedWalk(stages, verdicts)
