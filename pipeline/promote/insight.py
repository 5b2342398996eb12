"""``status`` (what each stage runs, what may move next) and ``metrics`` (the four DORA keys)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.definition import Pipeline, Stage
from pipeline.promote.entries import StepEntry
from pipeline.promote.gates import approval_needed
from pipeline.promote.history import LedgerView, ended_verification, parse_time
from pipeline.promote.model import Direction, StepName, StepStatus
from pipeline.promote.planner import PlannedWalk, plan_walk
from pipeline.promote.stage_record import StageRecord

NextWalk = Callable[[str, str, Callable[[str], str | None]], PlannedWalk]
"""(target stack, candidate release, what each stage runs) -> promote's walk to it."""


@dataclass(frozen=True)
class StageStatus:
    stack: str
    runs: str | None
    verified: str | None
    next_release: str | None
    next_verdict: str
    record: StageRecord | None = None  # the stage's record in git: digests, commit, ref

    def to_json(self) -> dict[str, Any]:
        shown = self.record.to_json() if self.record is not None else None
        return {**self.__dict__, "record": shown}


def status(
    pipeline: Pipeline,
    outputs: Callable[[str], Mapping[str, Any]],
    view: LedgerView,
    now: datetime | None = None,
    records: Callable[[str], StageRecord | None] | None = None,
    walk: NextWalk | None = None,
) -> list[StageStatus]:
    """Per stage: the release its stack reports (outputs), its last verification, and whether
    the release verified upstream may move in now, as ``promote`` would decide it: ``walk``
    is the command line's resolver (``Resolver.candidate``: the same planner, gates, release
    times and code review as ``promote``); without one, the planner alone at ``now``."""
    now = now or datetime.now(UTC)

    def planner_alone(target: str, release: str, holds: Callable[[str], str | None]) -> PlannedWalk:
        return plan_walk(pipeline, target, release, holds, view, {}, now)

    rows: list[StageStatus] = []
    runs: dict[str, str | None] = {}
    for stage in pipeline.stages:
        try:
            release = outputs(stage.stack).get("release")
            runs[stage.stack] = str(release) if release is not None else None
        except Exception as exc:  # a stack that cannot be read is shown, not fatal
            runs[stage.stack] = f"(unreadable: {exc})"
        last = view.last_verified(stage.stack)
        verified = f"{last.release} at {last.time}" if last else None
        candidate, verdict = None, "-"
        waits_for = pipeline.upstream_of(stage)
        if waits_for:  # the first stage it waits for names the candidate; the gates say more
            upstream_last = view.last_verified(waits_for[0].stack)
            if upstream_last and upstream_last.release != runs[stage.stack]:
                candidate = upstream_last.release
                planned = (walk or planner_alone)(stage.stack, candidate, runs.get)
                verdict = _next_verdict(stage, planned)
        record = records(stage.stack) if records else None
        rows.append(
            StageStatus(stage.stack, runs[stage.stack], verified, candidate, verdict, record)
        )
    return rows


def _next_verdict(stage: Stage, planned: PlannedWalk) -> str:
    """``promote <candidate> --to <stage>``'s answer, from its walk: the first refusal,
    else "eligible" and what it still needs (an approver, a reviewed pull request)."""
    found = planned.verdicts.get(stage.stack, [])
    refused = [v for v in found if not v.ok and v.gate != "approval"]
    if refused:
        return refused[0].reason
    if planned.proposals():
        return f"eligible; {stage.stack} is promoted by pull request"
    needed = approval_needed(stage, auto=False)
    return f"eligible; {needed}" if needed else "eligible"


def _median_hours(values: list[timedelta]) -> float | None:
    if not values:
        return None
    return round(statistics.median(v.total_seconds() for v in values) / 3600, 2)


def metrics(
    view: LedgerView,
    stage: str,
    commit_times: Mapping[str, str],
    now: datetime | None = None,
    days: int = 30,
) -> dict[str, Any]:
    """Deployment frequency, lead time (commit to verified in ``stage``), change failure rate
    and time to restore, over the last ``days`` days of the ledger."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    # Only a stage's steps count (a reconcile's entry or one of no known kind never did).
    entries = [
        e
        for e in view.entries
        if isinstance(e, StepEntry) and e.stage == stage and parse_time(e.time) >= since
    ]
    forward = [e for e in entries if e.kind is Direction.FORWARD]
    attempts = [e for e in forward if e.step is StepName.UP and e.status is StepStatus.STARTED]
    outcomes = [
        e
        for e in forward
        if ended_verification(e) or (e.step is StepName.UP and e.status is StepStatus.FAILED)
    ]
    successes = [e for e in outcomes if e.status is StepStatus.COMPLETED]
    failures = [e for e in outcomes if e.status is StepStatus.FAILED]
    lead_times = [
        parse_time(e.time) - parse_time(commit_times[e.release])
        for e in successes
        if e.release in commit_times
    ]
    restores: list[timedelta] = []
    verified_times = [
        parse_time(e.time)
        for e in entries
        if e.step is StepName.VERIFY and e.status is StepStatus.COMPLETED
    ]
    for failure in failures:
        failed_at = parse_time(failure.time)
        after = [t for t in verified_times if t > failed_at]
        if after:
            restores.append(min(after) - failed_at)
    return {
        "stage": stage,
        "windowDays": days,
        "deployments": len(attempts),
        "deploymentsPerWeek": round(len(successes) / days * 7, 2),
        "leadTimeHoursMedian": _median_hours(lead_times),
        "changeFailureRate": round(len(failures) / len(outcomes), 3) if outcomes else None,
        "timeToRestoreHoursMedian": _median_hours(restores),
        "failures": len(failures),
        "restored": len(restores),
    }
