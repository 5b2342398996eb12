"""The gates of a promotion, one module each, asked in the order of ``GATES``.

Adding a gate is one module with a class that has a ``name`` and a ``verdict(ctx)``
(``verdict.Gate``) plus one line in ``GATES``; nothing registers itself on import. Approval
stays last: a confirmation on a terminal replaces its verdict.
"""

from __future__ import annotations

from pipeline.promote.gates.approval import ApprovalGate, approval_needed, approval_verdict
from pipeline.promote.gates.dependencies import DependenciesGate
from pipeline.promote.gates.direction import DirectionGate, direction_verdict
from pipeline.promote.gates.freeze import FreezeGate
from pipeline.promote.gates.reviewed import ReviewedGate, reviewed_verdict
from pipeline.promote.gates.upstream import UpstreamGate, edge_verdict, upstream_verdict
from pipeline.promote.gates.verdict import (
    CodeReview,
    FreezeOverride,
    Gate,
    GateContext,
    Verdict,
)

GATES: tuple[Gate, ...] = (
    DirectionGate(),
    UpstreamGate(),
    DependenciesGate(),
    ReviewedGate(),
    FreezeGate(),
    ApprovalGate(),
)

__all__ = [
    "GATES",
    "CodeReview",
    "FreezeOverride",
    "Gate",
    "GateContext",
    "Verdict",
    "approval_needed",
    "approval_verdict",
    "direction_verdict",
    "edge_verdict",
    "reviewed_verdict",
    "upstream_verdict",
]
