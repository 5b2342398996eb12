"""What a reconcile of one stage compares and what came of it: the baseline a stage is
compared with, the drift (ops that change something) and the stage's result (moved from
pipeline.reconcile.run)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeline.promote.deployer import Change
from pipeline.promote.state import StageChange
from pipeline.reconcile.proposal import HealProposal
from pipeline.reconcile.remedy import Remedy
from pipeline.reconcile.strays import STRAY
from pipeline.record.proposal import Review

UNCHANGED_OPS = frozenset({"same", "refresh", "read"})
"""Ops that leave a resource as it is (a refresh step is reported beside the preview's own)."""


class Outcome(StrEnum):
    IN_SYNC = "in sync"
    HEALED = "healed"
    HEAL_FAILED = "heal failed"
    PROPOSED = "proposed"
    REPORTED = "reported"
    LEFT_ALONE = "left alone"
    FAILED = "failed"
    """The comparison itself could not run (no record to read, the preview failed)."""


DRIFTED = frozenset({Outcome.HEALED, Outcome.HEAL_FAILED, Outcome.PROPOSED, Outcome.REPORTED})


@dataclass(frozen=True)
class StageResult:
    stack: str
    remedy: Remedy
    outcome: Outcome
    release: str | None
    detail: str
    changes: tuple[Change, ...] = ()
    proposal: HealProposal | None = None
    review: Review | None = None
    """The merged heal proposal this result deployed (``reconcile --merged``)."""
    record: StageChange | None = None
    """The stage's record to write with the entry (after a merged heal)."""

    @property
    def drifted(self) -> bool:
        return self.outcome in DRIFTED

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "remedy": str(self.remedy),
            "outcome": str(self.outcome),
            "drifted": self.drifted,
            "release": self.release,
            "detail": self.detail,
            "changes": [c.to_json() for c in self.changes],
        } | ({"proposal": self.proposal.to_json()} if self.proposal else {})


def drift_of(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.op not in UNCHANGED_OPS]


def describe(changes: list[Change] | tuple[Change, ...]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.op] = counts.get(change.op, 0) + 1
    said = [f"{n} {op}" if op == STRAY else f"{n} to {op}" for op, n in sorted(counts.items())]
    return ", ".join(said) or "no changes"


@dataclass(frozen=True)
class Baseline:
    """What a stage should run: the directory to deploy it from and the release it pins."""

    source: Path
    release: str
    where: str  # "stages/<stack>", or the commit a stage never promoted is compared with
