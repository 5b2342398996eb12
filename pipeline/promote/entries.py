"""Typed ledger entries: start, step, resume, interrupted and finish (a promotion's), and
reconcile (a stage's reconcile, pipeline.reconcile.run).

``fields()`` is what the ledger stores of an entry (it adds ``seq``, ``prev``, ``time`` and
``hash``); ``read_entry`` reads a stored one back as its kind, or whole as an ``OtherEntry`` (a
kind a newer version writes, a tool's note), so history shows it and the chain verifies. None
fields are left out, as they always were, and unknown keys are kept in ``extra``: an entry
re-serialised from its parsed form is the same bytes and keeps its hash (the ledger writes
canonical JSON; tests/promote/test_entries.py checks every entry of real ledgers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from pipeline.promote.model import (
    Direction,
    EntryKind,
    PromotionOutcome,
    StageOutcome,
    StepName,
    StepStatus,
)

JSON = Any
"""A JSON value as stored (the ledger's own sub-documents: verdicts, previews, policy)."""

CHAIN_KEYS = ("seq", "prev", "time", "hash")


class EntryError(ValueError):
    """A stored entry that is not one of the typed kinds."""


@dataclass(frozen=True)
class Chain:
    """Where an entry sits in the hash chain (set by the ledger when it is appended)."""

    seq: int
    prev: str
    time: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class _Stored:
    """What every entry carries: where it sits in the chain, and the keys it does not type."""

    chain: Chain | None = None
    extra: Mapping[str, JSON] = field(default_factory=dict)

    STEP: ClassVar[str | None] = None
    # Fields written even when None (null on the wire); other None fields are left out.
    ALWAYS: ClassVar[frozenset[str]] = frozenset()

    def fields(self) -> dict[str, JSON]:
        """The entry as the ledger stores it, without the chain fields."""
        out: dict[str, JSON] = {**self.extra}
        for f in fields(self):
            if f.name in ("chain", "extra"):
                continue
            value = getattr(self, f.name)
            if value is None and f.name not in self.ALWAYS:
                continue
            out[f.name] = _plain(value)
        if self.STEP is not None:
            out["step"] = self.STEP
        return out

    def unchained(self) -> dict[str, JSON]:
        """``fields()`` of an entry about to be appended: what a ledger chains (EntryError: the
        entry was read from a ledger, its chain is set already)."""
        if self.chain is not None:
            raise EntryError(f"entry {self.chain.seq} is in a ledger already; not appended again")
        return self.fields()

    def stored(self) -> dict[str, JSON]:
        """The whole stored entry (chain fields included; the entry must have been read)."""
        c = self._chain()
        return {"seq": c.seq, "prev": c.prev, "time": c.time, "hash": c.hash, **self.fields()}

    def _chain(self) -> Chain:
        if self.chain is None:
            raise EntryError("an entry not yet appended has no seq, prev, time or hash")
        return self.chain

    @property
    def seq(self) -> int:
        return self._chain().seq

    @property
    def time(self) -> str:
        return self._chain().time

    @property
    def hash(self) -> str:
        return self._chain().hash


@dataclass(frozen=True, kw_only=True)
class _Entry(_Stored):
    """What every entry of a promotion carries."""

    promotion: str
    pipeline: str
    release: str
    digests: Mapping[str, str]
    approver: str | None

    ALWAYS: ClassVar[frozenset[str]] = frozenset({"approver"})


@dataclass(frozen=True, kw_only=True)
class StartEntry(_Entry):
    target: str
    rollback: bool
    auto: bool
    stages: Sequence[str]
    verdicts: Mapping[str, Sequence[Mapping[str, str]]]
    review: Mapping[str, JSON] | None = None
    governance: Mapping[str, JSON] | None = None
    runner: Mapping[str, JSON] | None = None
    approval: Mapping[str, str] | None = None
    override: Mapping[str, str] | None = None
    """``--override-freeze``: who went ahead inside a freeze window, and why."""

    STEP: ClassVar[str | None] = EntryKind.START


@dataclass(frozen=True, kw_only=True)
class StepEntry(_Entry):
    """One step of one stage; ``release`` and ``digests`` are what the stage is moved to (the
    release a rollback returns to), ``promoting`` the release the promotion is about."""

    stage: str
    kind: Direction
    step: StepName
    status: StepStatus
    promoting: str
    detail: str | None = None
    previous: Mapping[str, JSON] | None = None
    policy: JSON = None
    preview: JSON = None
    plan: str | None = None
    findings: Sequence[str] | None = None
    diff: Sequence[str] | None = None
    copies: Sequence[str] | None = None
    copied: Sequence[str] | None = None
    record: str | None = None
    """The commit of the stage record written with a completed ``up`` (git record)."""
    notes: Sequence[str] | None = None
    """What the deployer had to do besides the update (a stale stack lock it cleared)."""


@dataclass(frozen=True, kw_only=True)
class ResumeEntry(_Entry):
    interrupted: Mapping[str, str] | None
    pending: Sequence[str]

    STEP: ClassVar[str | None] = EntryKind.RESUME
    ALWAYS: ClassVar[frozenset[str]] = frozenset({"approver", "interrupted"})


@dataclass(frozen=True, kw_only=True)
class InterruptedEntry(_Entry):
    detail: str

    STEP: ClassVar[str | None] = EntryKind.INTERRUPTED


@dataclass(frozen=True, kw_only=True)
class FinishEntry(_Entry):
    outcome: PromotionOutcome | StageOutcome
    detail: str
    release_superseded: str | None = None

    STEP: ClassVar[str | None] = EntryKind.FINISH


@dataclass(frozen=True, kw_only=True)
class ReconcileEntry(_Stored):
    """One stage's reconcile (pipeline.reconcile.run): what it found and did. ``outcome`` and
    ``remedy`` are reconcile's own words (pipeline.reconcile.run.Outcome, .remedy.Remedy)."""

    reconcile: str
    pipeline: str
    stage: str
    release: str | None
    status: StepStatus
    outcome: str
    remedy: str
    drifted: bool
    detail: str | None
    drift: Sequence[Mapping[str, JSON]] | None = None
    proposal: Mapping[str, str] | None = None
    approver: str | None = None
    review: Mapping[str, JSON] | None = None
    record: str | None = None
    """The commit of the stage record written with the entry (git record)."""

    STEP: ClassVar[str | None] = EntryKind.RECONCILE
    ALWAYS: ClassVar[frozenset[str]] = frozenset({"release", "detail"})


@dataclass(frozen=True, kw_only=True)
class OtherEntry(_Stored):
    """An entry none of the kinds above reads (a newer kind, a tool's note): every key it has
    is in ``extra``, so it is stored back as it was."""

    @property
    def step(self) -> str | None:
        return None if self.extra.get("step") is None else str(self.extra["step"])

    def stored(self) -> dict[str, JSON]:
        """As stored (an entry without the chain's fields is shown as it is)."""
        return super().stored() if self.chain is not None else self.fields()


PromotionEntry = StartEntry | StepEntry | ResumeEntry | InterruptedEntry | FinishEntry
Entry = PromotionEntry | ReconcileEntry
LedgerEntry = Entry | OtherEntry
"""What a ledger holds, as the ledger and the states hand it out (``read_entry``)."""

_MARKERS: dict[str, type[_Stored]] = {
    EntryKind.START: StartEntry,
    EntryKind.RESUME: ResumeEntry,
    EntryKind.INTERRUPTED: InterruptedEntry,
    EntryKind.FINISH: FinishEntry,
    EntryKind.RECONCILE: ReconcileEntry,
}


def _plain(value: JSON) -> JSON:
    """Enum members as their strings, tuples as lists: what json.loads gives back."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _outcome(value: str) -> PromotionOutcome | StageOutcome:
    """A finish entry's "rolled back" reads as the promotion's (on request); whether it was a
    stage's (automatic), the start entry's ``rollback`` says."""
    known = value in PromotionOutcome.__members__.values()
    return PromotionOutcome(value) if known else StageOutcome(value)


def parse_entry(stored: Mapping[str, JSON]) -> Entry:
    """A stored entry as its typed kind (EntryError: not one of them)."""
    step = stored.get("step")
    cls: type[_Stored] = _MARKERS.get(str(step), StepEntry)
    known = {f.name for f in fields(cls)} - {"chain", "extra"}
    # A known field stored as null where it is normally left out stays as stored, in extra.
    typed = {k for k in known if k in stored and (stored[k] is not None or k in cls.ALWAYS)}
    values: dict[str, Any] = {k: stored[k] for k in typed}
    chain = _chain_of(stored)
    chained = CHAIN_KEYS if chain is not None else ()
    extra = {k: v for k, v in stored.items() if k not in typed and k not in (*chained, "step")}
    try:
        if cls is StepEntry:
            values.update(
                step=StepName(str(step)),
                kind=Direction(values["kind"]),
                status=StepStatus(values["status"]),
            )
        elif cls is ReconcileEntry:
            values["status"] = StepStatus(values["status"])
        elif cls is FinishEntry:
            values["outcome"] = _outcome(values["outcome"])
        entry = cls(chain=chain, extra=extra, **values)
    except (KeyError, TypeError, ValueError) as exc:
        raise EntryError(f"entry {stored.get('seq', '?')}: not a {step!r} entry: {exc}") from None
    assert isinstance(entry, Entry)
    return entry


def read_entry(stored: Mapping[str, JSON]) -> LedgerEntry:
    """A stored entry as its typed kind, else whole as an ``OtherEntry``."""
    try:
        return parse_entry(stored)
    except EntryError:
        chain = _chain_of(stored)
        dropped = CHAIN_KEYS if chain is not None else ()
        return OtherEntry(chain=chain, extra={k: v for k, v in stored.items() if k not in dropped})


def _chain_of(stored: Mapping[str, JSON]) -> Chain | None:
    chained = all(k in stored for k in CHAIN_KEYS)
    return Chain(*(stored[k] for k in CHAIN_KEYS)) if chained else None


def stage_of(entry: LedgerEntry) -> str | None:
    """The stage an entry is about (None: a promotion's start, resume, finish...)."""
    if isinstance(entry, StepEntry | ReconcileEntry):
        return entry.stage
    stage = entry.extra.get("stage")
    return str(stage) if stage else None
