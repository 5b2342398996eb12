"""The deployer interface the orchestrator drives, and the values that cross it.

``AutomationDeployer`` (pipeline.promote.automation) is the real one; ``OfflineDeployer``
(pipeline.promote.offline) runs the program under the mock renderer, so its previews are real
desired-state diffs. Anything with these six methods can be plugged in with ``--deployer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Engine operations that lose a resource's state or identity.
DESTRUCTIVE_OPS = frozenset(
    {"replace", "create-replacement", "delete-replaced", "delete", "discard", "discard-replaced"}
)


class DeployError(Exception):
    """A deployer step failed (preview, up, reading outputs); the message is the engine's."""


class StackBusyError(DeployError):
    """Pulumi's own stack lock is held by another update (ConcurrentUpdateError)."""


@dataclass(frozen=True)
class ReleaseConfig:
    """The release-related config of one stack: ``stageline:release`` and ``stageline:images``."""

    release: str
    images: dict[str, str]


@dataclass(frozen=True)
class Change:
    """One resource in a preview, in the engine's terms."""

    urn: str
    type: str
    op: str  # same | create | update | replace | delete | ... (pulumi OpType values)
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "op": self.op, "paths": list(self.paths)}


@dataclass(frozen=True)
class PolicyOptions:
    """Policy pack and the stage's config file, passed to ``pulumi preview``."""

    pack: Path | None
    config: Path | None

    def describe(self) -> dict[str, str | None]:
        return {
            "pack": str(self.pack) if self.pack else None,
            "config": str(self.config) if self.config else None,
        }


@dataclass(frozen=True)
class PolicyResult:
    status: str  # passed | failed | not run
    violations: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v.get("enforcement") == "mandatory"]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Preview:
    """What an update would do, with the saved plan that ``up`` is held to."""

    changes: list[Change]
    policy: PolicyResult
    plan: str | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.op] = out.get(change.op, 0) + 1
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "changed": [c.to_json() for c in self.changes if c.op != "same"],
            "plan": self.plan,
        }


class Deployer(Protocol):
    """What promotion needs from a deployment engine, per stack."""

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        """Write the stack's release config; return the config it replaced."""
        ...

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        """Preview the stack with the policy pack and save the update plan."""
        ...

    def up(self, stack: str, preview: Preview) -> Sequence[str] | None:
        """Update the stack, held to the preview's saved plan; returns what it had to do
        besides (a stale lock it cleared), for the record, if anything."""
        ...

    def outputs(self, stack: str) -> Mapping[str, Any]:
        """The stack's outputs as of its last update (empty if never deployed)."""
        ...

    def pending_operations(self, stack: str) -> list[str]:
        """Operations an interrupted update left in the stack's state (URN: op)."""
        ...

    def use_source(self, stack: str, source: Callable[[], Path | None]) -> None:
        """Deploy ``stack`` from the release's own infrastructure commit, which ``source()``
        checks out (None: the state knows none). A deployer that always deploys the code it
        was given ignores it and never calls ``source`` (a checkout costs a worktree)."""
        ...
