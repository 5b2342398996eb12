"""Where promotion keeps what it knows: the ledger, the releases, the pipeline lock and what
each stage runs. ``PromotionState`` is the interface the orchestrator and the commands use.

One real implementation, git: ``GitState`` (pipeline.record.state, the default: a ref on the git
remote, shared by every runner and engineer) and ``LocalGitState`` (pipeline.record.local, the
same record in a bare repository under ``--state-dir DIR``); pipeline.record.open picks one.
``FileState`` here is the tests' double (a directory of plain files, the layout a state
directory had before, which LocalGitState imports); no command opens one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from pipeline.promote.entries import LedgerEntry, stage_of
from pipeline.promote.files import write_atomic
from pipeline.promote.ledger import Ledger, Verification
from pipeline.promote.lock import PromotionLock
from pipeline.promote.protected_branch import ProtectedBranch
from pipeline.promote.release import Release, ReleaseStore
from pipeline.promote.stage_record import EntryRef, StageRecord, StageRecordError
from pipeline.promote.stage_record import StageChange as StageChange


class StateError(Exception):
    """The shared state cannot be read or written (git failed, the remote is unreachable)."""


class StateUnverifiedError(StateError):
    """The shared state's history does not verify (tampering, a rewritten or deleted ref)."""


class RecordRefusedError(StateError):
    """A write could not be recorded: the remote refused it and re-reading showed that another
    promotion now owns the pipeline (or it kept refusing). Nothing was reported as done."""


class Lock(Protocol):
    taken_over: dict[str, Any] | None

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
    """What a state kept in one machine's directory answers (FileState, and the directory's git
    record pipeline.record.local.LocalGitState): it deploys the code that is checked out, and
    has no stage branches, no runner to name, no protected branch and no pull requests."""

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


class FileState(OneMachine):
    """The test double of the state: a directory of ``ledger.jsonl`` (+ head), ``releases/``,
    ``locks/``, ``stages/`` (no commits, so a consistent rewrite of its ledger verifies; the
    commands' ``--state-dir`` is a git record, pipeline.record.local)."""

    def __init__(self, state_dir: Path, ledger: Ledger | None = None) -> None:
        self.state_dir = state_dir
        self.ledger = ledger or Ledger(state_dir / "ledger.jsonl")
        self.releases: ReleaseStore = ReleaseStore(state_dir)

    def entries(self) -> list[LedgerEntry]:
        return self.ledger.entries()

    # A local file is read whole: these answer from every entry.
    def decisive(self) -> list[LedgerEntry]:
        return self.ledger.entries()

    def head(self) -> tuple[int, str | None]:
        entries = self.ledger.entries()
        last = entries[-1].chain if entries else None
        return len(entries), last.hash if last is not None else None

    def recent(self, limit: int, stage: str | None = None) -> list[LedgerEntry]:
        entries = [e for e in self.ledger.entries() if not stage or stage_of(e) == stage]
        return entries[-limit:] if limit else entries

    def ledger_stages(self) -> set[str]:
        return {s for e in self.ledger.entries() if (s := stage_of(e))}

    def verify(self) -> Verification:
        return self.ledger.verify()

    def append(self, new: LedgerEntry, stage: StageChange | None = None) -> LedgerEntry:
        entry = self.ledger.append(new)
        if stage is not None:
            record = StageRecord.of(stage, EntryRef(entry.seq, entry.hash))
            write_atomic(self.state_dir / "stages" / f"{stage.stack}.json", dump(record.to_json()))
        return entry

    def save_release(self, release: Release) -> tuple[Release, bool]:
        return self.releases.save(release)

    def lock(self, pipeline: str) -> PromotionLock:
        return PromotionLock(self.state_dir / "locks" / f"{pipeline}.lock")

    def prune_worktrees(self) -> list[str]:
        return []  # no worktrees: the checkout is the code

    def stage_record(self, stack: str) -> StageRecord | None:
        path = self.state_dir / "stages" / f"{stack}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        try:
            return StageRecord.from_json(raw, str(path))
        except StageRecordError as exc:
            raise StateError(str(exc)) from None


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"
