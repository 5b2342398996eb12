"""How a promotion begins in the ledger: resuming an interrupted one (a resume entry, with
what its cut-off update left pending), or starting a new one (a start entry with the walk's
verdicts), first finishing as superseded the interrupted promotion it replaces."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pipeline.promote.deployer import Deployer, DeployError
from pipeline.promote.entries import FinishEntry, ResumeEntry, StartEntry
from pipeline.promote.events import Sink
from pipeline.promote.history import Unfinished
from pipeline.promote.model import PromotionOutcome, StepName
from pipeline.promote.state import PromotionState
from pipeline.promote.walk import Governed, Request, Walk, header


def note_interrupted(
    deployer: Deployer, emit: Sink, unfinished: Unfinished, announce: bool
) -> list[str]:
    """Say where ``unfinished`` was cut off; an update cut off may have left operations
    pending in the stack's state (returned, for the record)."""
    step = unfinished.interrupted()
    if step is None:
        return []
    pending: list[str] = []
    if step.step is StepName.UP:
        try:
            pending = deployer.pending_operations(step.stage)
        except DeployError as exc:
            pending = [f"(could not read pending operations: {exc})"]
        emit(
            "note",
            stage=step.stage,
            message=f"an update of {step.stage} was interrupted; pending operations:"
            f" {', '.join(pending) or 'none reported'}. If the state looks wrong run"
            f" `pulumi refresh --stack {step.stage}` before going on.",
        )
    elif announce:
        emit(
            "note",
            stage=step.stage,
            message=f"{step.step} was interrupted in {unfinished.promotion}",
        )
    return pending


def resume(state: PromotionState, deployer: Deployer, emit: Sink, walk: Walk) -> str:
    """Record the resumption of the walk's interrupted promotion; return its id."""
    assert walk.resume is not None
    promotion = walk.resume.promotion
    step = walk.resume.interrupted()
    pending = note_interrupted(deployer, emit, walk.resume, announce=False)
    where = f"{step.stage} {step.step}" if step else "between steps"
    emit("note", message=f"resuming {promotion}, interrupted at {where}")
    entry = ResumeEntry(
        **header(walk, promotion),
        interrupted=({"stage": step.stage, "step": step.step} if step else None),
        pending=pending,
    )
    state.append(entry, None)
    return promotion


def start(
    state: PromotionState,
    deployer: Deployer,
    emit: Sink,
    walk: Walk,
    request: Request,
    governance: Governed | None,
    approval_source: str,
) -> str:
    """Record the start of a new promotion of the walk (superseding an interrupted one);
    return its id. ``approval_source``: what the walk's approver is worth."""
    if walk.supersede is not None:
        old = walk.supersede
        note_interrupted(deployer, emit, old, announce=True)
        superseded = FinishEntry(
            **header(walk, old.promotion),
            release_superseded=old.release,
            outcome=PromotionOutcome.SUPERSEDED,
            detail=f"superseded by a promotion of {walk.release.id}",
        )
        state.append(superseded, None)
    promotion = f"p-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    approval = None
    if walk.approver:
        approval = {"approver": walk.approver, "source": approval_source}
    entry = StartEntry(
        **header(walk, promotion),
        target=request.target,
        rollback=request.rollback,
        auto=request.auto,
        stages=[s.stack for s in walk.stages],
        review=dict(walk.review) if walk.review else None,
        governance=governance.to_record() if governance else None,
        runner=state.started_by(),
        approval=approval,
        override=request.freeze_override.to_record() if request.freeze_override else None,
        verdicts={
            s: [{"gate": v.gate, "outcome": v.outcome, "reason": v.reason} for v in vs]
            for s, vs in walk.verdicts.items()
        },
    )
    state.append(entry, None)
    return promotion
