"""The promotion state in git: one branch on the remote, ``stageline/state``, whose tree holds
the ledger (one file per entry under ``ledger/``: pipeline.record.layout),
``releases/<id>.json`` and ``locks/<pipeline>.json``.

Every write is a commit on that ref pushed with ``--force-with-lease`` (compare-and-swap): it
lands only if the remote still has the commit this writer read. A refused push re-reads the
remote and re-evaluates (is the pipeline lock still ours?) before trying again; a write that
cannot land raises ``RecordRefusedError`` and is never reported as done.

A ledger entry is appended by exactly one commit, whose message carries the entry's seq and
hash (``Stageline-Entry:``). Reading the state checks the first-parent history
(pipeline.record.audit): each commit adds only that one entry's file (so an edited, removed,
reordered or truncated entry, even with recomputed hashes, shows up as a commit that rewrites
history), releases are only ever added, and each stage branch's record must name an entry of
this ledger (or be a reviewed merge of a proposal onto such a record, waiting to be deployed:
see pipeline.record.proposal).
The clone remembers the newest state it verified (``refs/stageline/seen``): a remote whose
history no longer contains it was rewritten (force-pushed) or deleted. It also keeps what it
learnt from the entries it checked (pipeline.record.index), so the next check reads only the
commits after it, and the gates and ``status`` read no entry twice.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipeline.promote.entries import LedgerEntry, read_entry, stage_of
from pipeline.promote.ledger import Verification, chain, entry_line
from pipeline.promote.lock import read_owner
from pipeline.promote.release import Release, release_json
from pipeline.promote.stage_record import EntryRef, StageChange
from pipeline.promote.state import RecordRefusedError
from pipeline.record.approval import review_of
from pipeline.record.gitlock import GitLock
from pipeline.record.governance import Governance, read_governance
from pipeline.record.identity import host_roots, without_host_paths
from pipeline.record.layout import LedgerTree, entry_path
from pipeline.record.proposal import Proposal, Review, propose
from pipeline.record.refs import (
    ATTEMPTS,
    COMMIT_PREFIX,
    ENTRY_TRAILER,
    STAGE_TRAILER,
    STATE_REF,
    backoff,
)
from pipeline.record.releases import GitReleases
from pipeline.record.stage_records import StageRecords

__all__ = ["ENTRY_TRAILER", "STATE_REF", "GitState"]

_CODE_DIR = Path(__file__).resolve().parent.parent.parent  # the project this code runs from


class GitState(StageRecords):
    """The PromotionState of one clone, shared through ``remote``: the ledger, the releases and
    the pipeline lock on a GitStore (pipeline.record.store), with its stage records
    (pipeline.record.stage_records) and tamper checks (pipeline.record.checks)."""

    def __init__(
        self,
        repo: Path,
        remote: str = "origin",
        stale_after: timedelta = timedelta(hours=6),
    ) -> None:
        super().__init__(repo, remote, stale_after)
        self.releases = GitReleases(self)

    # ------------------------------------------------------------------ the ledger

    def entries(self) -> list[LedgerEntry]:
        """Every entry (the whole ledger, read from the tip's tree)."""
        self.ensure()
        return LedgerTree(self.git, self.tip, self.index.sealed, self.index.legacy).all()

    def decisive(self) -> list[LedgerEntry]:
        """The entries the gates and ``status`` read (pipeline.promote.history.Decisive)."""
        self.ensure()
        return self.index.decisive.entries()

    def head(self) -> tuple[int, str | None]:
        """How many entries the ledger holds and the newest one's hash."""
        self.ensure()
        return self.index.count, self.index.last if self.index.count else None

    def ledger_stages(self) -> set[str]:
        """Every stage an entry names."""
        self.ensure()
        return set(self.index.stages)

    def recent(self, limit: int, stage: str | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries (of ``stage``), oldest first, read newest first by path
        in batches until enough are found (0: all of them)."""
        self.ensure()
        tree = LedgerTree(self.git, self.tip, self.index.sealed, self.index.legacy)
        stop = self.index.count
        found: list[LedgerEntry] = []
        batch = max(limit, 100) if limit else stop
        while stop > 0 and (not limit or len(found) < limit):
            start = max(0, stop - batch)
            entries = tree.read(list(range(stop - 1, start - 1, -1)))
            found += [e for e in entries if e is not None and (not stage or stage_of(e) == stage)]
            stop, batch = start, batch * 4
        return list(reversed(found[:limit] if limit else found))

    def verify(self) -> Verification:
        """Fetch and check the remote's history after what this clone verified before (all of
        it on a fresh clone); a state that verifies is adopted (ledger verify)."""
        problems, index = self._load()
        return Verification(index.count, problems)

    def _still_ours(self) -> None:
        """After a refused push and a re-read: stop if a lock this process held is gone."""
        for pipeline, token in self.held.items():
            owner = read_owner(self.read(f"locks/{pipeline}.json"))
            if owner is None or owner.token != token:
                who = owner.who("host", "pid", "started") if owner else ""
                raise RecordRefusedError(
                    f"{self.remote}: the {pipeline} pipeline lock is no longer this promotion's"
                    f" ({who or 'released'}); stopped, nothing more recorded"
                )

    def append(self, new: LedgerEntry, stage: StageChange | None = None) -> LedgerEntry:
        """Append one ledger entry (with a stage change: and move that stage's branch) in one
        atomic push; on refusal re-read, re-check the lock and re-chain onto the new tip."""
        self.ensure()
        # No host paths in the shared record (a runner's checkout or temporary directory).
        roots = host_roots(self.git.repo, self.git_dir, _CODE_DIR)
        unchained = read_entry(without_host_paths(new.unchained(), roots))
        for attempt in range(ATTEMPTS):
            entry, files, moved = self._entry_commit(unchained, stage, self.index.head())
            message = self._message(entry, moved[1] if moved else None)
            changes = {entry_path(entry.seq): entry_line(entry.stored()), **files}
            pushed = self.write(changes, message, moved, entry)
            if pushed:
                return entry
            backoff(attempt)
            self.sync()
            self._still_ours()
        raise RecordRefusedError(f"{self.remote}: refused {ATTEMPTS} times; nothing more recorded")

    def _entry_commit(
        self, new: LedgerEntry, stage: StageChange | None, last: EntryRef | None
    ) -> tuple[LedgerEntry, dict[str, bytes], tuple[str, str] | None]:
        """The entry chained onto ``last``, the state files its commit changes besides its own
        and the stage branch it moves (stack, commit): here a commit on ``stages/<stack>`` that
        the entry names as its ``record``."""
        if stage is None:
            return chain(new, last), {}, None
        stage_commit = self._stage_commit(stage, last)
        entry = chain(new, last, record=stage_commit)
        return entry, {}, (stage.stack, stage_commit) if stage_commit else None

    @staticmethod
    def _message(entry: LedgerEntry, stage_commit: str | None) -> str:
        stored = entry.stored()
        keys = ("release", "stage", "step", "status", "outcome")
        what = " ".join(str(stored[k]) for k in keys if stored.get(k))
        lines = [f"{COMMIT_PREFIX}{what}", "", f"{ENTRY_TRAILER}: {entry.seq} {entry.hash}"]
        if stage_commit:
            lines.append(f"{STAGE_TRAILER}: {stored.get('stage')} {stage_commit}")
        return "\n".join(lines) + "\n"

    def save_release(self, release: Release) -> tuple[Release, bool]:
        path = f"releases/{release.id}.json"
        for attempt in range(ATTEMPTS):
            if attempt:
                backoff(attempt)
            self.sync()
            if self.read(path) is not None:
                return self.releases.get(release.id), False
            if self.write({path: release_json(release).encode()}, f"{COMMIT_PREFIX}{release.id}"):
                return release, True
        raise RecordRefusedError(f"{self.remote}: refused {ATTEMPTS} times; release not recorded")

    def lock(self, pipeline: str) -> GitLock:
        return GitLock(self, pipeline, self.stale_after)

    def governance(self, branch: str | None) -> Governance:
        """The protected branch ``branch`` of this state's remote (None: its default branch)."""
        return read_governance(self.git, self.git_dir, self.remote, branch)

    def proposal_record(self) -> GitState:
        return self  # proposals are branches beside the stage branches of this record

    def propose(self, stage: StageChange) -> Proposal:
        return propose(self, stage)

    def review(
        self,
        stack: str,
        release: Release,
        forge: tuple[str, str] | None = None,
        rollback: bool = False,
    ) -> Review:
        return review_of(
            self, stack, release.id, release.images, release.commit, forge, rollback=rollback
        )
