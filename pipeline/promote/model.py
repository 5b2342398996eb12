"""The words of promotion as types: step names and statuses, entry kinds, gate outcomes, and
the outcomes of a stage and of a promotion, with the one table from outcome to exit code.

Every enum's values are the strings the ledger, the events and ``--json`` already carry, so
nothing changes on the wire (a ``StrEnum`` member is its string).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

EXIT_OK, EXIT_STOPPED, EXIT_INVALID, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_PROPOSED: Final = 4
"""A stage promoted by pull request: its next record is proposed, waiting for review."""


class EntryKind(StrEnum):
    """A ledger entry that is not one of a stage's steps (its ``step`` field)."""

    START = "start"
    RESUME = "resume"
    INTERRUPTED = "interrupted"
    FINISH = "finish"
    RECONCILE = "reconcile"
    """A stage's reconcile (pipeline.reconcile.run), not a promotion's."""


class StepName(StrEnum):
    """One step of a stage, in the order a stage runs them."""

    SET_IMAGES = "set-images"
    COPY_IMAGES = "copy-images"
    PREVIEW = "preview"
    GATE = "gate"
    UP = "up"
    VERIFY = "verify"


class StepStatus(StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Said (an event), never recorded."""


class Direction(StrEnum):
    """Which way a stage moves (a step's ``kind``): rehearsal only appears in events."""

    FORWARD = "forward"
    ROLLBACK = "rollback"
    REHEARSAL = "rehearsal"


class GateOutcome(StrEnum):
    OK = "ok"
    WAIT = "wait"
    """A soak is not over yet."""
    REFUSE = "refuse"
    PROPOSE = "propose"
    """A stage promoted by pull request: its merge will approve it."""


class StageOutcome(StrEnum):
    """How one stage of a walk ended (``stages`` of a result); a stage that did not end
    verified ends the promotion with the same outcome."""

    VERIFIED = "verified"
    ROLLED_BACK = "rolled back"
    """Its update or verification failed and it was returned to its last verified release."""
    ROLLBACK_FAILED = "rollback failed"
    UP_FAILED = "up failed"
    VERIFICATION_FAILED = "verification failed"
    STOPPED = "stopped"
    BUSY = "busy"
    FAILED = "failed"
    """It failed and nothing is recorded to return to."""
    PROPOSED = "proposed"


class PromotionOutcome(StrEnum):
    """How a promotion ended when no stage's outcome says it."""

    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    """``--rollback`` returned the target to a release verified there, as asked."""
    NOTHING_TO_DO = "nothing to do"
    PROPOSED = "proposed"
    REFUSED = "refused"
    STOPPED = "stopped"
    BUSY = "busy"
    INTERRUPTED = "interrupted"
    SUPERSEDED = "superseded"
    """Recorded only: an unfinished promotion another release replaced (no exit code)."""


class CommandOutcome(StrEnum):
    """The outcomes of the other commands' ``result`` lines (docs/json.md)."""

    OK = "ok"
    CREATED = "created"
    EXISTS = "exists"
    REHEARSED = "rehearsed"
    BLOCKED = "blocked"
    VERIFIED = "verified"
    TAMPERED = "tampered"
    GATES_NOT_MET = "gates not met"
    PINNED = "pinned"
    NOTHING_TO_DO = "nothing to do"
    REFUSED = "refused"
    STOPPED = "stopped"
    BUSY = "busy"
    INTERRUPTED = "interrupted"
    # reconcile (pipeline.reconcile.command) and review (pipeline.review.command)
    IN_SYNC = "in sync"
    HEALED = "healed"
    DRIFTED = "drifted"
    UP = "up"
    DESTROYED = "destroyed"
    NOTHING_TO_DESTROY = "nothing to destroy"
    SWEPT = "swept"


Outcome = StageOutcome | PromotionOutcome | CommandOutcome

# The one table from outcome to exit code. Keyed by (enum, value) because the two meanings of
# "rolled back" are one string on the wire (a StrEnum member hashes as its string).
EXIT_CODES: Final[tuple[tuple[Outcome, int], ...]] = (
    (PromotionOutcome.PROMOTED, EXIT_OK),
    (PromotionOutcome.ROLLED_BACK, EXIT_OK),
    (PromotionOutcome.NOTHING_TO_DO, EXIT_OK),
    (PromotionOutcome.PROPOSED, EXIT_PROPOSED),
    (PromotionOutcome.REFUSED, EXIT_INVALID),
    (PromotionOutcome.STOPPED, EXIT_STOPPED),
    (PromotionOutcome.BUSY, EXIT_BUSY),
    (PromotionOutcome.INTERRUPTED, EXIT_INTERRUPTED),
    (StageOutcome.VERIFIED, EXIT_OK),
    (StageOutcome.ROLLED_BACK, EXIT_STOPPED),
    (StageOutcome.ROLLBACK_FAILED, EXIT_STOPPED),
    (StageOutcome.UP_FAILED, EXIT_STOPPED),
    (StageOutcome.VERIFICATION_FAILED, EXIT_STOPPED),
    (StageOutcome.STOPPED, EXIT_STOPPED),
    (StageOutcome.BUSY, EXIT_BUSY),
    (StageOutcome.FAILED, EXIT_STOPPED),
    (StageOutcome.PROPOSED, EXIT_PROPOSED),
    (CommandOutcome.OK, EXIT_OK),
    (CommandOutcome.CREATED, EXIT_OK),
    (CommandOutcome.EXISTS, EXIT_OK),
    (CommandOutcome.REHEARSED, EXIT_OK),
    (CommandOutcome.BLOCKED, EXIT_STOPPED),
    (CommandOutcome.VERIFIED, EXIT_OK),
    (CommandOutcome.TAMPERED, EXIT_STOPPED),
    (CommandOutcome.GATES_NOT_MET, EXIT_STOPPED),
    (CommandOutcome.PINNED, EXIT_OK),
    (CommandOutcome.NOTHING_TO_DO, EXIT_OK),
    (CommandOutcome.REFUSED, EXIT_INVALID),
    (CommandOutcome.STOPPED, EXIT_STOPPED),
    (CommandOutcome.BUSY, EXIT_BUSY),
    (CommandOutcome.INTERRUPTED, EXIT_INTERRUPTED),
    (CommandOutcome.IN_SYNC, EXIT_OK),
    (CommandOutcome.HEALED, EXIT_OK),
    (CommandOutcome.DRIFTED, EXIT_STOPPED),
    (CommandOutcome.UP, EXIT_OK),
    (CommandOutcome.DESTROYED, EXIT_OK),
    (CommandOutcome.NOTHING_TO_DESTROY, EXIT_OK),
    (CommandOutcome.SWEPT, EXIT_OK),
)
_BY_MEMBER: Final = {(type(o), o.value): code for o, code in EXIT_CODES}


def exit_code(outcome: Outcome) -> int:
    """The exit code of ``outcome`` (KeyError for one that is only recorded: superseded)."""
    return _BY_MEMBER[(type(outcome), outcome.value)]


def emitted_outcomes() -> frozenset[str]:
    """Every outcome string a command's ``result`` line can carry (docs/json.md lists them)."""
    return frozenset(o.value for o, _ in EXIT_CODES)
