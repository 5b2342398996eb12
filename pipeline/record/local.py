"""``--state-dir DIR`` as a git record: the state of GitState (pipeline.record.state) in a bare
repository ``DIR/record.git``, written through the clone ``DIR/clone``, so a directory's ledger
is anchored by a commit per entry like the shared one (a consistent rewrite no longer verifies).

Outside a project clone there are no ``stages/<stack>`` branches to move: a stage record is the
file ``stages/<stack>.json`` of the state, written by the commit of the entry that moved the
stage, and a stage deploys the code that is checked out (``source`` is None, as for every
one-machine state: pipeline.promote.state.OneMachine).

A directory holding the old files (``ledger.jsonl``, ``releases/``, ``stages/``) is imported once,
on first use: one root commit (``<Name>-Imported: <count> <last hash>``) adds them as they were,
only complete lines of the ledger (a torn last line, an append never acknowledged, is cut off as
the next append would have); then they are renamed ``*.imported``. A ledger that does not verify
is refused and nothing is imported.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from components import project
from pipeline.promote.entries import LedgerEntry
from pipeline.promote.ledger import GENESIS, Ledger, chain
from pipeline.promote.stage_record import EntryRef, StageChange, StageRecord, StageRecordError
from pipeline.promote.state import (
    OneMachine,
    StateError,
    StateUnverifiedError,
    dump,
)
from pipeline.record.bare import BareRemote, share_objects
from pipeline.record.git import Git, GitError
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import LEGACY_LEDGER, legacy_lines
from pipeline.record.refs import FETCHED, IMPORT_TRAILER, STATE_REF
from pipeline.record.state import GitState
from pipeline.record.trees import commit_paths

BARE = "record.git"
CLONE = "clone"
IMPORTED = ".imported"  # the suffix an imported file or folder is renamed with
_FOLDERS = ("releases", "stages")


class LocalGitState(OneMachine, BareRemote, GitState):  # type: ignore[misc]  # source: no worktree
    """The git record of one state directory (created, and its old files imported, on first
    use); one machine only: the pipeline lock's owner is gone when its pid no longer runs."""

    stage_files = True

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._serialized = False
        with self._serial():
            clone = _prepare(state_dir)
            # One machine: a holder is gone only when it names this host and a pid that no
            # longer runs, never for its age alone (pipeline.promote.lock.is_stale).
            super().__init__(clone, "origin", stale_after=timedelta.max)
            self.bare = Git(state_dir / BARE)
            self.objects = self.bare  # written in place, read by the clone (pipeline.record.bare)
            self._import()

    @contextmanager
    def _serial(self) -> Iterator[None]:
        """Hold the directory's lock (once per process): the processes of one directory share
        its clone, whose refs a fetch and a write move."""
        if self._serialized:
            yield
            return
        with _exclusive(self.state_dir):
            self._serialized = True
            try:
                yield
            finally:
                self._serialized = False

    def _load(self) -> tuple[list[str], LedgerIndex]:
        with self._serial():
            return super()._load()

    def write(
        self,
        changes: Mapping[str, bytes | None],
        message: str,
        stage: tuple[str, str] | None = None,
        entry: LedgerEntry | None = None,
    ) -> bool:
        with self._serial():
            return super().write(changes, message, stage, entry)

    def _entry_commit(
        self, new: LedgerEntry, stage: StageChange | None, last: EntryRef | None
    ) -> tuple[LedgerEntry, dict[str, bytes], tuple[str, str] | None]:
        """The entry, and with a stage change its record as a file beside it (no branch)."""
        entry = chain(new, last)
        if stage is None:
            return entry, {}, None
        record = StageRecord.of(stage, EntryRef(entry.seq, entry.hash)).to_json()
        return entry, {_record_path(stage.stack): dump(record).encode()}, None

    def stage_record(self, stack: str) -> StageRecord | None:
        self.ensure()
        raw = self.read(_record_path(stack))
        if raw is None:
            return None
        where = f"{self.state_dir / BARE}:{STATE_REF}:{_record_path(stack)}"
        try:
            return StageRecord.from_json(json.loads(raw), where)
        except StageRecordError as exc:
            raise StateError(str(exc)) from None
        except ValueError as exc:  # not JSON
            raise StateError(f"{where}: {exc}") from None

    def _import(self) -> None:
        """Import the directory's old files once (under the directory's lock)."""
        found = _old_files(self.state_dir)
        if not found:
            return
        self.fetch()
        tip = self.git.rev(FETCHED + "state")
        if tip is None:
            changes, message = _import_commit(self.state_dir, found)
            identity = self.runner.identity
            commit = commit_paths(self.objects, None, changes, [], message, None, identity)
            try:
                refused = self._publish({STATE_REF: (commit, None)})
            except GitError as exc:
                raise StateError(f"{self.state_dir}: cannot import the directory: {exc}") from None
            if refused is not None:
                raise StateError(f"{self.state_dir}: the import was refused: {refused}")
        elif not _imported(self.git, tip):
            raise StateError(
                f"{self.state_dir / found[0]}: not imported, and {self.state_dir / BARE} already"
                " holds a record; move the old files away"
            )
        for name in found:  # imported (now or by a process that stopped before renaming)
            os.replace(self.state_dir / name, self.state_dir / (name + IMPORTED))


def _record_path(stack: str) -> str:
    return f"stages/{stack}.json"


@contextmanager
def _exclusive(state_dir: Path) -> Iterator[None]:
    """Hold the directory's flock (released if the process dies; no guard file left)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    guard = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX)
        yield
    finally:
        os.close(guard)


def _prepare(state_dir: Path) -> Path:
    """``DIR/record.git`` (bare) and ``DIR/clone`` with it as origin, made if missing."""
    bare, clone = state_dir / BARE, state_dir / CLONE
    try:
        if not (bare / "HEAD").exists():
            Git(state_dir).run("init", "--quiet", "--bare", str(bare))
            # The record is only ever appended to, like the shared one's protected branch.
            Git(bare).run("config", "receive.denyNonFastForwards", "true")
        if not (clone / ".git").exists():
            Git(state_dir).run("init", "--quiet", str(clone))
            # A URL and no fetch refspec: nothing but the store's own fetch moves a ref here.
            Git(clone).run("config", "remote.origin.url", str(bare.resolve()))
        share_objects(clone, bare)
    except GitError as exc:
        raise StateError(f"{state_dir}: cannot make its git record: {exc}") from None
    return clone


def _old_files(state_dir: Path) -> list[str]:
    """The old layout's files in the directory, not imported yet."""
    names = [LEGACY_LEDGER, *_FOLDERS]
    return [name for name in names if (state_dir / name).exists()]


def _import_commit(state_dir: Path, found: list[str]) -> tuple[dict[str, bytes | None], str]:
    """The root commit's files and message: the ledger's complete lines, which must verify."""
    changes: dict[str, bytes | None] = {}
    lines: list[str] = []
    if LEGACY_LEDGER in found:
        ledger = Ledger(state_dir / LEGACY_LEDGER)
        check = ledger.verify()
        if not check.ok:
            raise StateUnverifiedError(
                f"{ledger.path}: does not verify, not imported:\n  " + "\n  ".join(check.problems)
            )
        lines = legacy_lines(ledger.path.read_bytes())
    changes[LEGACY_LEDGER] = "".join(line + "\n" for line in lines).encode()
    for folder in _FOLDERS:
        for path in sorted((state_dir / folder).glob("*.json")) if folder in found else []:
            changes[f"{folder}/{path.name}"] = path.read_bytes()
    last = json.loads(lines[-1])["hash"] if lines else GENESIS  # as the audit's empty chain
    message = (
        f"{project.name()}: import {state_dir}\n\n"
        f"{len(lines)} ledger entries, {len(changes) - 1} releases and stage records\n\n"
        f"{IMPORT_TRAILER}: {len(lines)} {last}\n"
    )
    return changes, message


def _imported(git: Git, tip: str) -> bool:
    """Whether the record begins with an import (its root commit carries the trailer)."""
    root = git.text("rev-list", "--max-parents=0", tip).split()
    body = git.text("log", "-1", "--format=%B", root[0]) if root else ""
    return f"{IMPORT_TRAILER}: " in body
