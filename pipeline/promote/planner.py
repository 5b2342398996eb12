"""The walk planner: which stages a request deploys, in what order, with which gate verdicts.

One pure function for ``promote`` and ``promote --rehearse`` alike, so a rehearsal cannot
disagree with a promotion about eligibility. Stages are never skipped: a forward walk starts at
the first stage that does not run the release verified there and ends at the target; a rollback
walks the target alone.
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
    order = [s.stack for s in pipeline.stages]
    target_index = order.index(target)
    if rollback:
        indices = [target_index]
    else:
        done = [
            i
            for i in range(target_index + 1)
            if holds(order[i]) == release and view.verified_at(order[i], release) is not None
        ]
        first = next((i for i in range(target_index + 1) if i not in done), None)
        indices = [] if first is None else list(range(first, target_index + 1))
    verdicts: dict[str, list[Verdict]] = {}
    walked: set[str] = set()
    for index in indices:
        stage = pipeline.stages[index]
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
    return PlannedWalk([pipeline.stages[i] for i in indices], verdicts)
