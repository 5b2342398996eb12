"""Questions asked of the ledger: what was verified where and when, what is unfinished.

The entries are pipeline.promote.entries' typed kinds: a promotion's ``StartEntry``,
``ResumeEntry``, ``InterruptedEntry`` and ``FinishEntry`` (with ``outcome``), and per stage a
``StepEntry`` (``step`` set-images | copy-images | preview | gate | up | verify, ``status``
started | completed | failed, ``kind`` forward | rollback); reconcile's entries and entries of
no known kind are part of no promotion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipeline.promote.entries import (
    FinishEntry,
    LedgerEntry,
    PromotionEntry,
    StartEntry,
    StepEntry,
)
from pipeline.promote.model import StepName, StepStatus

STEPS = tuple(str(step) for step in StepName)
_ENDED = (StepStatus.COMPLETED, StepStatus.FAILED)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def promotion_of(entry: LedgerEntry) -> str | None:
    """The promotion an entry belongs to (None: reconcile's, or of no known kind)."""
    return entry.promotion if isinstance(entry, PromotionEntry) else None


def ended_verification(entry: LedgerEntry) -> bool:
    """A stage's verification that completed or failed (what the gates and metrics count)."""
    return isinstance(entry, StepEntry) and entry.step is StepName.VERIFY and entry.status in _ENDED


@dataclass(frozen=True)
class Unfinished:
    """A promotion whose process stopped before its ``finish`` entry."""

    start: StartEntry
    entries: list[LedgerEntry]

    @property
    def promotion(self) -> str:
        return self.start.promotion

    @property
    def pipeline(self) -> str:
        return self.start.pipeline

    @property
    def release(self) -> str:
        return self.start.release

    @property
    def target(self) -> str:
        return self.start.target

    @property
    def rollback(self) -> bool:
        return self.start.rollback

    def steps(self) -> list[StepEntry]:
        return [e for e in self.entries if isinstance(e, StepEntry)]

    def completed(self, stage: str, kind: str) -> set[str]:
        return {
            str(e.step)
            for e in self.steps()
            if e.stage == stage and e.kind == kind and e.status is StepStatus.COMPLETED
        }

    def interrupted(self) -> StepEntry | None:
        """The last step that started and has neither completed nor failed, if any."""
        open_steps: dict[tuple[str, str, str], StepEntry] = {}
        for entry in self.steps():
            key = (entry.stage, entry.kind, entry.step)
            if entry.status is StepStatus.STARTED:
                open_steps[key] = entry
            else:
                open_steps.pop(key, None)
        return list(open_steps.values())[-1] if open_steps else None


class LedgerView:
    """Read-only queries over ledger entries (already verified by the caller).

    Indexed as entries arrive (``add``), so each question costs about the same at any ledger
    length: ``ledger verify`` replays every promotion's gates against the view before it,
    growing one view entry by entry rather than building one per promotion."""

    def __init__(self, entries: Iterable[LedgerEntry] = ()) -> None:
        self.entries: list[LedgerEntry] = []
        self._verifications: dict[str, list[StepEntry]] = {}  # stage -> finished ones
        self._latest: dict[tuple[str, str], StepEntry] = {}  # (stage, release) -> last
        self._ever: set[tuple[str, str]] = set()  # (stage, release) passed at least once
        self._passed: dict[str, list[StepEntry]] = {}  # stage -> passed verifications
        self._started: dict[str, StartEntry] = {}  # promotion -> start, while unfinished
        self._of: dict[str, list[LedgerEntry]] = {}  # promotion -> its entries
        for entry in entries:
            self.add(entry)

    def add(self, entry: LedgerEntry) -> None:
        """Take the next entry in ledger order."""
        self.entries.append(entry)
        promotion = promotion_of(entry)
        if promotion is not None:
            self._of.setdefault(promotion, []).append(entry)
        if isinstance(entry, StartEntry):
            self._started[entry.promotion] = entry
        elif promotion is not None and isinstance(entry, FinishEntry):
            self._started.pop(promotion, None)
        elif isinstance(entry, StepEntry) and ended_verification(entry):
            stage, release = entry.stage, entry.release
            self._verifications.setdefault(stage, []).append(entry)
            self._latest[(stage, release)] = entry
            if entry.status is StepStatus.COMPLETED:
                self._ever.add((stage, release))
                self._passed.setdefault(stage, []).append(entry)

    def verifications(self, stage: str) -> list[StepEntry]:
        return list(self._verifications.get(stage, []))

    def verified_at(self, stage: str, release: str) -> datetime | None:
        """When ``release`` last passed verification in ``stage``; None if never or if its
        latest verification there failed."""
        latest = self._latest.get((stage, release))
        if latest is None or latest.status is not StepStatus.COMPLETED:
            return None
        return parse_time(latest.time)

    def ever_verified(self, stage: str, release: str) -> bool:
        return (stage, release) in self._ever

    def last_verified(self, stage: str, other_than: str | None = None) -> StepEntry | None:
        """The newest passed verification in ``stage`` (optionally of another release)."""
        passed = self._passed.get(stage, [])
        for index in range(len(passed) - 1, -1, -1):  # newest first, without copying
            if passed[index].release != other_than:
                return passed[index]
        return None

    def unfinished(self, pipeline: str) -> Unfinished | None:
        mine = [s for s in self._started.values() if s.pipeline == pipeline]
        if not mine:
            return None
        start = mine[-1]
        return Unfinished(start, list(self._of[start.promotion]))


class Decisive:
    """The entries a LedgerView's questions read: every finished verification and every entry
    of a promotion that has not finished. A LedgerView over ``entries()`` answers
    ``verified_at``, ``ever_verified``, ``last_verified`` and ``unfinished`` exactly as one over
    the whole ledger (promotion ids are unique), so the gates and ``status`` need not read every
    entry: a reader keeps this up to date entry by entry (``add``)."""

    def __init__(self, entries: Iterable[LedgerEntry] = ()) -> None:
        self.verifications: list[StepEntry] = []
        self.open: dict[str, list[LedgerEntry]] = {}  # promotion -> its entries so far
        for entry in entries:
            self.add(entry)

    def add(self, entry: LedgerEntry) -> None:
        promotion = promotion_of(entry)
        if isinstance(entry, StepEntry) and ended_verification(entry):
            self.verifications.append(entry)
        if isinstance(entry, StartEntry):
            self.open.setdefault(entry.promotion, []).append(entry)
        elif promotion is not None and isinstance(entry, FinishEntry):
            self.open.pop(promotion, None)
        elif promotion is not None and promotion in self.open:
            self.open[promotion].append(entry)

    def entries(self) -> list[LedgerEntry]:
        """The kept entries in ledger order (each once)."""
        kept: dict[int, LedgerEntry] = {e.seq: e for e in self.verifications}
        kept.update((e.seq, e) for entries in self.open.values() for e in entries)
        return [kept[seq] for seq in sorted(kept)]
