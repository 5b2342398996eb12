"""The tests' double of the state: ``MemoryState``, a PromotionState held in memory.

No command opens it: the commands open the git record (pipeline.record.open). The tests use
it for everything in one process, and ``python -m bench promote`` to measure orchestration
without storage. It answers as one machine does (``OneMachine``); its ledger is the real
hash chain (``ChainedLedger`` over lines in memory), so its verification is the real one;
releases, locks and stage records are kept as the stored text and parsed back on reading, as
the real states parse theirs.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from pipeline.promote.entries import LedgerEntry, stage_of
from pipeline.promote.ledger import ChainedLedger, Verification
from pipeline.promote.lock import LockHeldError, LockOwner, is_stale, lock_owner
from pipeline.promote.release import Release, parse_release, release_json, unknown_release
from pipeline.promote.stage_record import EntryRef, StageChange, StageRecord, StageRecordError
from pipeline.promote.state import OneMachine, StateError, dump

MEMORY = "memory"
"""How problems name where the double keeps things (``memory:ledger``, ...)."""


class LedgerLines:
    """A ledger's lines and head in memory (a ``LedgerStorage``): never torn, one writer at a
    time."""

    where = f"{MEMORY}:ledger"
    head_where = f"{MEMORY}:ledger.head"

    def __init__(self) -> None:
        self.text = b""
        self.head: str | None = None
        self._writing = threading.Lock()

    def read(self) -> bytes:
        return self.text

    def read_head(self) -> str | None:
        return self.head

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._writing:
            yield

    def cut(self, keep: int) -> None:
        self.text = self.text[:keep]

    def write(self, line: bytes) -> None:
        self.text += line

    def write_head(self, text: str) -> None:
        self.head = text


class MemoryReleases:
    """Releases by id, as their stored JSON; a release is never rewritten."""

    def __init__(self) -> None:
        self.stored: dict[str, str] = {}

    def save(self, release: Release) -> tuple[Release, bool]:
        """Store ``release``; an existing one with the same id wins. Returns (stored, created)."""
        if release.id in self.stored:
            return self.get(release.id), False
        self.stored[release.id] = release_json(release)
        return release, True

    def get(self, release_id: str) -> Release:
        where = f"{MEMORY}:releases/{release_id}.json"
        if release_id not in self.stored:
            raise unknown_release(where, release_id, self.all())
        return parse_release(self.stored[release_id], where, release_id)

    def all(self) -> list[Release]:
        found = [self.get(release_id) for release_id in self.stored]
        return sorted(found, key=lambda r: (r.created, r.id))


class MemoryLock:
    """One pipeline's lock: an owner (host, pid, user, start, a token) in the state's table,
    held against every other taker while it is not stale (pipeline.promote.lock.is_stale)."""

    def __init__(self, owners: dict[str, LockOwner], pipeline: str) -> None:
        self.owners = owners
        self.pipeline = pipeline
        self.where = f"{MEMORY}:locks/{pipeline}"
        self.stale_after = timedelta(hours=6)
        self.taken_over: LockOwner | None = None
        self.token = uuid.uuid4().hex

    def acquire(self) -> None:
        current = self.owners.get(self.pipeline)
        if current is not None and not is_stale(current, self.stale_after):
            raise LockHeldError(self.where, current)
        self.taken_over = current
        self.owners[self.pipeline] = lock_owner(self.token)

    def release(self) -> None:
        held = self.owners.get(self.pipeline)
        if held is not None and held.token == self.token:
            del self.owners[self.pipeline]


class MemoryState(OneMachine):
    """A PromotionState in memory; ``scratch`` is the directory a deployer's files and offline
    renders go to (``scratch_dir``), the only thing it keeps on disk."""

    def __init__(self, scratch: Path) -> None:
        self.state_dir = scratch
        self.ledger = ChainedLedger(LedgerLines())
        self.releases = MemoryReleases()
        self.locks: dict[str, LockOwner] = {}
        """The owner of each pipeline's lock, as a lock file would hold it."""
        self.stages: dict[str, str] = {}
        """Each stack's stage record, as stored."""

    def entries(self) -> list[LedgerEntry]:
        return self.ledger.entries()

    # Everything is in memory: these answer from every entry.
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
            self.stages[stage.stack] = dump(record.to_json())
        return entry

    def save_release(self, release: Release) -> tuple[Release, bool]:
        return self.releases.save(release)

    def lock(self, pipeline: str) -> MemoryLock:
        return MemoryLock(self.locks, pipeline)

    def prune_worktrees(self) -> list[str]:
        return []  # no worktrees: the checkout is the code

    def stage_record(self, stack: str) -> StageRecord | None:
        if stack not in self.stages:
            return None
        where = f"{MEMORY}:stages/{stack}.json"
        try:
            return StageRecord.from_json(json.loads(self.stages[stack]), where)
        except StageRecordError as exc:
            raise StateError(str(exc)) from None

    def scratch_dir(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.state_dir
