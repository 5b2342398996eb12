"""What a state answers about the protected branch that governs promotions
(``PromotionState.governance``), as the commands use it; the git state's answer is
pipeline.record.governance.Governance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pipeline.definition import PipelineFile
from pipeline.promote.deployer import PolicyOptions
from pipeline.promote.entries import LedgerEntry
from pipeline.promote.release import Release


class AuditFinding(Protocol):
    """A promotion its gates could not have let through (pipeline.record.gate_audit.Finding)."""

    def to_json(self) -> dict[str, Any]: ...


class GateAudit(Protocol):
    """Every promotion's gates replayed (pipeline.record.gate_audit.Audit)."""

    @property
    def findings(self) -> Sequence[AuditFinding]: ...

    @property
    def notes(self) -> Sequence[str]: ...


class ProtectedBranch(Protocol):
    """What governs promotions: the pipeline file and policy configs at one commit of the
    protected branch (pipeline.record.governance.Governance)."""

    @property
    def branch(self) -> str: ...

    @property
    def commit(self) -> str: ...

    @property
    def where(self) -> str: ...

    @property
    def policy_blobs(self) -> Mapping[str, str]: ...

    def definition(self) -> PipelineFile: ...

    def to_record(self) -> dict[str, Any]: ...

    def differences(self, repo: Path, stacks_dir: Path | None = None) -> list[str]: ...

    def reviewed(self, commit: str) -> bool: ...

    def policy(
        self, chosen: Callable[[str], PolicyOptions], definition: PipelineFile
    ) -> Callable[[str], PolicyOptions]: ...

    def audit(self, entries: list[LedgerEntry], releases: Mapping[str, Release]) -> GateAudit:
        """Replay each promotion's gates against the pipeline file that governed it."""
        ...
