"""Where promotion keeps what it knows: the ledger, the releases, the pipeline lock and what
each stage runs. ``PromotionState`` is the interface the orchestrator and the commands use.

One real implementation, git: ``GitState`` (pipeline.record.state, the default: a ref on the git
remote, shared by every runner and engineer) and ``LocalGitState`` (pipeline.record.local, the
same record in a bare repository under ``--state-dir DIR``); pipeline.record.open picks one.
``MemoryState`` (pipeline.promote.memory) is the tests' double, in memory; no command opens one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from pipeline.promote.entries import LedgerEntry
from pipeline.promote.ledger import Verification
from pipeline.promote.lock import LockOwner
from pipeline.promote.protected_branch import ProtectedBranch
from pipeline.promote.release import Release
from pipeline.promote.stage_record import StageChange as StageChange
from pipeline.promote.stage_record import StageRecord


class StateError(Exception):
    """The shared state cannot be read or written (git failed, the remote is unreachable)."""


class StateUnverifiedError(StateError):
    """The shared state's history does not verify (tampering, a rewritten or deleted ref)."""


class RecordRefusedError(StateError):
    """A write could not be recorded: the remote refused it and re-reading showed that another
    promotion now owns the pipeline (or it kept refusing). Nothing was reported as done."""


class Lock(Protocol):
    taken_over: LockOwner | None

    def acquire(self) -> None: ...

    def release(self) -> None: ...


class Releases(Protocol):
    def get(self, release_id: str) -> Release: ...

    def all(self) -> list[Release]: ...


class PromotionState(Protocol):
    """The ledger, the releases, the locks and the stage records of one repository."""

    @property
    def releases(self) -> Releases: ...

    def entries(self) -> list[LedgerEntry]:
        """Every entry: the whole ledger (metrics); the commands below read less."""
        ...

    def decisive(self) -> list[LedgerEntry]:
        """At least the entries a LedgerView's gate questions read (history.Decisive)."""
        ...

    def head(self) -> tuple[int, str | None]:
        """How many entries the ledger holds and the newest one's hash (None: empty)."""
        ...

    def recent(self, limit: int, stage: str | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries (of ``stage``; 0: all), oldest first."""
        ...

    def ledger_stages(self) -> set[str]:
        """Every stage an entry names."""
        ...

    def verify(self) -> Verification: ...

    def append(self, entry: LedgerEntry, stage: StageChange | None = None) -> LedgerEntry:
        """Chain ``entry`` (a typed entry not yet appended, or an ``OtherEntry`` of no known
        kind) onto the ledger; the entry as stored."""
        ...

    def save_release(self, release: Release) -> tuple[Release, bool]: ...

    def lock(self, pipeline: str) -> Lock: ...

    def stage_record(self, stack: str) -> StageRecord | None:
        """What ``stack`` runs, as recorded (None: nothing recorded yet)."""
        ...

    def source(self, stack: str, release: str, commit: str | None) -> Path | None:
        """The checkout ``stack`` is deployed from for this release (None: the current one)."""
        ...

    def started_by(self) -> Mapping[str, str | None] | None:
        """Who runs this process's promotions, as a start entry records it (None: a local
        directory state, which has no identity to give)."""
        ...

    def scratch_dir(self) -> Path:
        """Where this process's local scratch goes (a deployer's files, offline renders): the
        state directory, or ``<git dir>/<project>`` of the checkout for the shared record."""
        ...

    stage_branches: bool
    """Whether each stage's record is a branch holding the code it runs (``stages/<stack>``,
    the git state): rehearsal and reconcile then render a stage from it."""

    def stage_checkout(self, stack: str) -> Path | None:
        """A worktree at what ``stack`` runs, from its branch (None: no branch or record)."""
        ...

    def prune_worktrees(self) -> list[str]:
        """Remove old releases' worktrees (stage branches); the commits removed."""
        ...

    def governance(self, branch: str | None) -> ProtectedBranch | None:
        """The protected branch ``branch`` (None: the remote's default) that governs
        promotions, fetched now; None for a state with no protected branch (a local directory).
        Raises StateError when the branch cannot be read."""
        ...

    def proposal_record(self) -> Any:
        """The record whose stage branches take proposals and their reviewed merges (the git
        state itself, as pipeline.reconcile.proposal reads it); None: a state that holds no
        proposals (a local directory)."""
        ...

    def propose(self, stage: StageChange) -> Any:
        """Push ``stage`` as a proposal (pipeline.record.proposal.Proposal); git state only."""
        ...

    def review(
        self,
        stack: str,
        release: Release,
        forge: tuple[str, str] | None = None,
        rollback: bool = False,
    ) -> Any:
        """The verified merge of ``release``'s proposal (pipeline.record.proposal.Review); a
        rollback's when ``rollback``."""
        ...


PULL_REQUESTS_NEED_GIT = (
    "a stage promoted by pull request needs the git state (a --remote), not --state-dir"
)


class OneMachine:
    """What a state of one machine answers (the directory's git record
    pipeline.record.local.LocalGitState, and the tests' double pipeline.promote.memory): it
    deploys the code that is checked out, and has no stage branches, no runner to name, no
    protected branch and no pull requests."""

    state_dir: Path
    stage_branches = False  # stage records are files of the state, the checkout is the code

    def source(self, stack: str, release: str, commit: str | None) -> Path | None:
        return None  # a local state deploys the code that is checked out

    def started_by(self) -> Any:
        return None  # one machine: no runner to name

    def stage_checkout(self, stack: str) -> Path | None:
        return None

    def scratch_dir(self) -> Path:
        return self.state_dir

    def governance(self, branch: str | None) -> Any:
        return None  # no protected branch: the checkout's files govern

    def proposal_record(self) -> Any:
        return None  # no stage branches to take proposals

    def propose(self, stage: StageChange) -> Any:
        raise StateError(PULL_REQUESTS_NEED_GIT)

    def review(
        self,
        stack: str,
        release: Release,
        forge: tuple[str, str] | None = None,
        rollback: bool = False,
    ) -> Any:
        raise StateError(PULL_REQUESTS_NEED_GIT)


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"
