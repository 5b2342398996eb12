"""What the pipeline page shows, gathered from an offline plan and the promotion record.

Per pipeline, its stages in order with what each runs: the release and its digests, the
infrastructure commit, when and by whose approval (the stage's record in git), or the stack
file's pins for a stage never promoted. Then the parity rows, compliance per stage with each
finding grouped, the ledger's promotions, rollbacks and approvals, and the DORA metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.parity import Row
from pipeline.plan import Plan
from pipeline.plan_table import POLICY_CONFIG_DIR, VERDICT_ORDER
from pipeline.promote.entries import (
    FinishEntry,
    LedgerEntry,
    ReconcileEntry,
    StartEntry,
    StepEntry,
)
from pipeline.promote.model import Direction, EntryKind, StepName, StepStatus
from pipeline.promote.stage_record import StageRecord


@dataclass(frozen=True)
class StageView:
    """One stage of a pipeline and what it runs."""

    stack: str
    stage: str
    cloud: str
    region: str
    release: str
    digests: dict[str, str]
    commit: str | None
    when: str | None
    approver: str | None
    kind: str | None
    source: str
    """``record`` (promoted: stages/<stack> in git) or ``stack file`` (never promoted)."""
    verified: str | None = None
    gated: bool = False
    """Approval is required to promote into it."""


@dataclass(frozen=True)
class FindingGroup:
    """One rule's identical findings in one stage."""

    policy: str
    enforcement: str
    severity: str
    message: str
    resources: list[str]


@dataclass(frozen=True)
class Compliance:
    stack: str
    config: str
    rules: int
    passed: int
    findings: list[FindingGroup]


@dataclass(frozen=True)
class Event:
    """A ledger entry worth a line on the timeline."""

    seq: int
    time: str
    kind: str
    """``promotion``, ``rollback``, ``approval``, ``verified``, ``failed``, ``finished``."""
    text: str


@dataclass(frozen=True)
class PipelineView:
    name: str
    stages: list[StageView]
    beside: list[StageView]
    """Stacks compared with the pipeline but not promoted through it (local)."""
    rows: list[Row]
    metrics: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Site:
    project: str
    generated: str
    summary: str
    exit_code: int
    pipelines: list[PipelineView]
    compliance: list[Compliance]
    events: list[Event]
    record: str
    """Where the promotion record was read from, or why there is none."""


@dataclass(frozen=True)
class Record:
    """The promotion record as the page needs it (any PromotionState can give it)."""

    entries: list[LedgerEntry]
    stage_record: Callable[[str], StageRecord | None]
    commit_times: Mapping[str, str]
    where: str


def _stage_view(plan: Plan, stack: str, record: Record | None, gated: bool) -> StageView:
    spec = plan.stages.specs.get(stack)
    cloud = str(spec.identity.cloud) if spec else "?"
    region = str(spec.identity.region) if spec else "?"
    stage = str(spec.identity.stage) if spec else stack
    kept = record.stage_record(stack) if record is not None else None
    verified = None
    if record is not None:
        passed = [
            e
            for e in record.entries
            if isinstance(e, StepEntry)
            and e.stage == stack
            and e.step is StepName.VERIFY
            and e.status is StepStatus.COMPLETED
        ]
        if passed:
            verified = f"{passed[-1].release} at {passed[-1].time}"
    if kept is not None and record is not None:
        after = kept.after.seq if kept.after else None
        when = next((e.time for e in record.entries if e.chain and e.seq == after), None)
        return StageView(
            stack, stage, cloud, region, kept.release, dict(kept.digests), kept.commit, when,
            kept.approver, kept.kind, "record", verified, gated,
        )  # fmt: skip
    digests = {s: i.rsplit("@", 1)[-1] for s, i in spec.release.images.items()} if spec else {}
    release = spec.release.id if spec else "?"
    return StageView(
        stack, stage, cloud, region, release, digests, None, None, None, None, "stack file",
        verified, gated,
    )  # fmt: skip


def _groups(findings: list[dict[str, Any]], stack: str) -> list[FindingGroup]:
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for f in findings:
        key = (f["policy"], f["enforcement"], str(f.get("severity", "unspecified")), f["message"])
        grouped.setdefault(key, []).append(str(f["urn"]).split("::")[-1].removeprefix(f"{stack}-"))
    out = [FindingGroup(*key, resources) for key, resources in grouped.items()]
    return sorted(out, key=lambda g: (g.enforcement != "mandatory", g.policy))


def _event(entry: LedgerEntry, gated: set[str]) -> Event | None:
    """``gated``: the stacks that need approval (every entry of a walk names its approver)."""
    seq, time = entry.seq, entry.time
    if isinstance(entry, StartEntry):
        verb = "rollback" if entry.rollback else "promotion"
        said = f"{verb} of {entry.release} to {entry.target} started"
        return Event(seq, time, verb, said)
    if isinstance(entry, FinishEntry):
        return Event(seq, time, "finished", f"{entry.release}: {entry.outcome}")
    if isinstance(entry, StepEntry):
        release, stage, step, status = entry.release, entry.stage, entry.step, entry.status
        if step is StepName.GATE and status is StepStatus.COMPLETED and entry.approver:
            if stage not in gated:
                return None
            return Event(
                seq, time, "approval", f"{release} into {stage} approved by {entry.approver}"
            )
        if step is StepName.VERIFY and status is StepStatus.COMPLETED:
            verified = "rollback" if entry.kind is Direction.ROLLBACK else "verified"
            return Event(seq, time, verified, f"{release} verified in {stage}")
    if isinstance(entry, StepEntry | ReconcileEntry) and entry.status is StepStatus.FAILED:
        what = entry.step if isinstance(entry, StepEntry) else EntryKind.RECONCILE
        said = f"{entry.release}: {entry.stage} {what} failed: {entry.detail or ''}"
        return Event(seq, time, "failed", said)
    return None


def gather(plan: Plan, summary: str, project: str, record: Record | None, note: str) -> Site:
    """Everything the page shows; ``record`` None when the promotion state could not be read
    (``note`` says why)."""
    from pipeline.promote.history import LedgerView
    from pipeline.promote.insight import metrics

    definition = plan.stages.definition
    pipelines = []
    for name, pipeline in definition.pipelines.items():
        ordered = [s.stack for s in pipeline.stages]
        stages = [
            _stage_view(plan, s.stack, record, s.approval == "required") for s in pipeline.stages
        ]
        beside = [
            _stage_view(plan, stack, record, False)
            for p, stack in definition.stacks()
            if p == name and stack not in ordered and stack in plan.stages.specs
        ]
        rows = [r for r in plan.parity.rows if r.pipeline == name and r.verdict != "identity"]
        rows.sort(key=lambda r: VERDICT_ORDER.get(r.verdict, 9))
        measured = []
        if record is not None:
            view = LedgerView(record.entries)
            measured = [metrics(view, s, record.commit_times) for s in ordered]
        pipelines.append(PipelineView(name, stages, beside, rows, measured))
    compliance = [
        Compliance(
            stack,
            f"{POLICY_CONFIG_DIR}/{c['config']}",
            int(c["rules"]),
            int(c["passed"]),
            _groups(plan.policy.get(stack, []), stack),
        )
        for stack, c in plan.compliance.items()
    ]
    gated = {
        s.stack for p in definition.pipelines.values() for s in p.stages if s.approval == "required"
    }
    found = (_event(entry, gated) for entry in (record.entries if record else []))
    events = [e for e in found if e is not None]
    return Site(
        project=project,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        summary=summary,
        exit_code=plan.exit_code(),
        pipelines=pipelines,
        compliance=compliance,
        events=events,
        record=record.where if record is not None else note,
    )
