"""What every gate shares: the verdict it returns, what it is asked about, and its protocol.

A gate answers one question about one stage of a walk from the pipeline file, the ledger and
the clock; gates are pure, so they are tested table by table. The planner asks each gate of
the ordered registration tuple (``pipeline.promote.gates.GATES``) in turn; a gate that has
nothing to say about a stage returns None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.definition import Pipeline, Stage
from pipeline.promote.history import LedgerView
from pipeline.promote.model import GateOutcome


@dataclass(frozen=True)
class Verdict:
    """A gate's answer: ``ok``, ``wait`` (soak not over yet), ``refuse`` or, for the approval
    of a stage promoted by pull request, ``propose`` (its merge will approve it); with the
    reason."""

    gate: str
    outcome: GateOutcome
    reason: str

    @property
    def ok(self) -> bool:
        return self.outcome == GateOutcome.OK


@dataclass(frozen=True)
class CodeReview:
    """Whether a release's infrastructure commit is on the protected branch."""

    commit: str
    branch: str
    reviewed: bool


@dataclass(frozen=True)
class FreezeOverride:
    """``promote --override-freeze REASON``: who decided to go ahead inside a freeze window,
    and why (recorded in the promotion's start entry)."""

    by: str
    reason: str

    def to_record(self) -> dict[str, str]:
        return {"by": self.by, "reason": self.reason}


@dataclass(frozen=True)
class GateContext:
    """Everything a gate may ask about one stage of a walk."""

    pipeline: Pipeline
    stage: Stage
    release: str
    holds: Callable[[str], str | None]
    """The release a stack runs now."""
    view: LedgerView
    created: Mapping[str, str]
    """Known release ids -> creation time (ISO 8601 strings compare in time order)."""
    now: datetime
    walked: frozenset[str]
    """Stages this same promotion deploys before this one."""
    rollback: bool = False
    auto: bool = False
    approver: str | None = None
    reviewer: str | None = None
    code: CodeReview | None = None
    override: FreezeOverride | None = None


class Gate(Protocol):
    """One gate: its name and its verdict on a stage (None: nothing to say about it)."""

    name: str

    def verdict(self, ctx: GateContext) -> Verdict | None: ...
