"""The check of the state's history: one pass over one ``git log``, each entry read once.

Every first-parent commit of ``stageline/state`` (after the one this clone verified last, or
all of them on a fresh clone) must change the ledger only by adding the one entry its
``Stageline-Entry: <seq> <hash>`` trailer names, at the path of the next seq, chained to the
entry before (seq, prev, hash); releases are only added; nothing but locks changes otherwise.
The added entries' blobs are read in one ``cat-file --batch`` and hashed once each, so a fresh
clone's check is linear in the entries. An edited, removed, reordered or truncated entry
(even with every hash recomputed) is a commit that changes or removes an entry file; a forged
one is an entry its commit does not name; a deleted ledger is a commit removing every entry.

A state begun in the old layout (one ``ledger.jsonl``, pipeline.record.layout) is checked by
that layout's rule until its migration commit: each commit's ``ledger.jsonl`` is the blob of the
final one's next prefix (hashing prefixes costs the square of that old ledger's length; it no
longer grows), and the migration must move exactly its lines into entry files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.promote.ledger import CHAIN_FIELDS, entry_hash
from pipeline.record.git import Git, blob_id
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import (
    LEDGER_DIR,
    LEGACY_LEDGER,
    MIGRATION_TRAILER,
    entry_path,
    in_ledger,
    legacy_lines,
)

ENTRY_TRAILER = "Stageline-Entry"
NO_BLOB = "0" * 40


@dataclass
class Commit:
    sha: str
    message: str
    # path -> (status, old blob, new blob)
    changes: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def trailer(self, key: str) -> list[str]:
        prefix = f"{key}: "
        lines = self.message.splitlines()
        return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def read_history(git: Git, tip: str, since: str | None = None) -> list[Commit]:
    """First-parent commits up to ``tip`` (after ``since``, when given), oldest first, with
    the blobs each one changed, from one ``git log``."""
    raw = git.run(
        "log",
        "--first-parent",
        "--reverse",
        "--root",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        "--diff-merges=first-parent",
        "--format=%x01%H%x02%B%x03",
        f"{since}..{tip}" if since else tip,
    ).stdout.decode("utf-8", errors="replace")
    commits = []
    for chunk in raw.split("\x01")[1:]:
        sha, _, rest = chunk.partition("\x02")
        message, _, raw_changes = rest.partition("\x03")
        commit = Commit(sha.strip(), message)
        for line in raw_changes.strip().splitlines():
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if len(parts) == 5:
                commit.changes[path] = (parts[4], parts[2], parts[3])
        commits.append(commit)
    return commits


class Audit:
    """Checks commits in order, carrying ``index`` (the state before the first of them) on to
    the state after the last; ``problems`` says every way they fail."""

    def __init__(self, git: Git, where: str, index: LedgerIndex) -> None:
        self.git = git
        self.where = where
        self.index = index
        self.problems: list[str] = []
        self.broken = False  # the ledger stopped growing by appends: later entries unchecked
        self.legacy_blob: str | None = None
        self.legacy_final: list[str] = []
        self.entry_blobs: Mapping[str, bytes] = {}

    def run(self, commits: list[Commit]) -> LedgerIndex:
        self._prepare(commits)
        for commit in commits:
            self._commit(commit)
            self.index.commit = commit.sha
        return self.index

    def _prepare(self, commits: list[Commit]) -> None:
        """Read, in one call each, the blobs the pass needs: every added entry, and the old
        layout's final ``ledger.jsonl`` (every earlier one must be a prefix of it)."""
        if self.index.legacy and self.index.commit:
            self.legacy_blob = self.git.text("rev-parse", f"{self.index.commit}:{LEGACY_LEDGER}")
        legacy = [c.changes[LEGACY_LEDGER][2] for c in commits if LEGACY_LEDGER in c.changes]
        final = next((b for b in reversed(legacy) if b != NO_BLOB), None) or self.legacy_blob
        if final:
            self.legacy_final = legacy_lines(self.git.blobs([final])[final])
        self.entry_blobs = self.git.blobs(
            [
                new
                for c in commits
                for path, (status, _, new) in c.changes.items()
                if in_ledger(path) and status == "A" and not c.trailer(MIGRATION_TRAILER)
            ]
        )

    def _commit(self, commit: Commit) -> None:
        at = f"{self.where}: commit {commit.sha[:12]}"
        ledger = {p: c for p, c in commit.changes.items() if in_ledger(p)}
        legacy = LEGACY_LEDGER in commit.changes
        if commit.trailer(MIGRATION_TRAILER):
            self._migration(at, commit, ledger)
        elif legacy and (self.index.legacy or self.index.count == 0):
            self._legacy_append(at, commit, ledger)
        elif legacy:
            self.problems.append(f"{at}: {LEGACY_LEDGER}: not part of the promotion state")
        elif ledger:
            self._append(at, commit, ledger)
        elif commit.trailer(ENTRY_TRAILER):
            self.problems.append(f"{at}: names an entry but does not add one")
        for path, (status, _, _) in commit.changes.items():
            if path == LEGACY_LEDGER or in_ledger(path):
                continue
            if path.startswith("releases/"):
                if status != "A":
                    self.problems.append(f"{at}: {path}: a release is never changed or removed")
            elif not path.startswith("locks/"):
                self.problems.append(f"{at}: {path}: not part of the promotion state")

    def _rewritten(self, at: str, what: str) -> None:
        self.problems.append(
            f"{at}: changes {what} other than by appending one entry"
            " (an entry was edited, removed, reordered or truncated)"
        )
        self.broken = True

    def _append(self, at: str, commit: Commit, ledger: dict[str, tuple[str, str, str]]) -> None:
        """A commit of the entry layout: it adds exactly the next entry's file."""
        if self.broken:
            return
        statuses = {status for status, _, _ in ledger.values()}
        if self.index.legacy:
            self.problems.append(f"{at}: adds entry files to a ledger that was not migrated")
            self.broken = True
            return
        if statuses == {"D"} and len(ledger) == self.index.count:
            self.problems.append(f"{at}: deletes {LEDGER_DIR}/ (the ledger was deleted)")
            self.broken = True
            return
        path = entry_path(self.index.count)
        if list(ledger) != [path] or statuses != {"A"}:
            self._rewritten(at, f"{LEDGER_DIR}/")
            return
        content = self.entry_blobs.get(ledger[path][2], b"")
        if content.count(b"\n") != 1 or not content.endswith(b"\n"):
            self.problems.append(f"{at}: {path}: not one JSON line")
            self.broken = True
            return
        self._entry(f"{at}: {path}", commit, content.decode("utf-8", errors="replace"))

    def _entry(self, at: str, commit: Commit, line: str) -> None:
        """Chain one added entry (seq, prev, hash) and check the trailer names it."""
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or any(k not in entry for k in CHAIN_FIELDS):
            self.problems.append(f"{at}: not a JSON entry with seq, prev and hash")
            self.broken = True
            return
        if entry["seq"] != self.index.count:
            self.problems.append(
                f"{at}: seq {entry['seq']} where {self.index.count} was expected"
                " (an entry was removed, inserted or moved)"
            )
        if entry["prev"] != self.index.last:
            self.problems.append(
                f"{at}: prev does not match the entry before"
                " (an entry was removed, inserted or moved)"
            )
        if entry_hash(entry) != entry["hash"]:
            self.problems.append(f"{at}: hash does not match the content (the entry was edited)")
        if commit.trailer(ENTRY_TRAILER) != [f"{entry['seq']} {entry['hash']}"]:
            self.problems.append(f"{at}: {ENTRY_TRAILER} does not name the entry it adds")
        self.index.add(entry)

    def _legacy_append(
        self, at: str, commit: Commit, ledger: dict[str, tuple[str, str, str]]
    ) -> None:
        """A commit of the old layout: ``ledger.jsonl`` grows by one line."""
        status, old, new = commit.changes[LEGACY_LEDGER]
        if self.broken:
            return
        if status == "D":
            self.problems.append(f"{at}: deletes {LEGACY_LEDGER} (the ledger was deleted)")
            self.broken = True
            return
        if ledger:
            self.problems.append(f"{at}: {LEDGER_DIR}/: not part of the promotion state")
        count = self.index.count
        lines = self.legacy_final
        expected = (
            blob_id("".join(line + "\n" for line in lines[: count + 1]).encode())
            if count < len(lines)
            else None
        )
        if expected == new and (old if status == "M" else None) == self.legacy_blob:
            line = lines[count]  # the new blob is the old one plus exactly this line
        else:
            found = self.git.blobs([b for b in (old, new) if b != NO_BLOB])
            before = found.get(old, b"") if status == "M" else b""
            after = found.get(new, b"")
            added = after[len(before) :]
            if not after.startswith(before) or added.count(b"\n") != 1:
                self._rewritten(at, LEGACY_LEDGER)
                return
            line = added.decode("utf-8", errors="replace").rstrip("\n")
        self.legacy_blob = new
        self.index.legacy = True
        self._entry(f"{at}: {LEGACY_LEDGER}", commit, line)

    def _migration(self, at: str, commit: Commit, ledger: dict[str, tuple[str, str, str]]) -> None:
        """The one commit that moves ``ledger.jsonl``'s lines into entry files, unchanged."""
        count, lines = self.index.count, self.legacy_final
        expected = {
            entry_path(seq): blob_id((line + "\n").encode())
            for seq, line in enumerate(lines[:count])
        }
        removed = commit.changes.get(LEGACY_LEDGER)
        if (
            self.broken
            or not self.index.legacy
            or removed is None
            or removed[0] != "D"
            or removed[1] != self.legacy_blob
            or len(lines) != count
            or {p: (s, new) for p, (s, _, new) in ledger.items()}
            != {p: ("A", b) for p, b in expected.items()}
            or commit.trailer(MIGRATION_TRAILER) != [f"{count} {self.index.last}"]
            or commit.trailer(ENTRY_TRAILER)
        ):
            self.problems.append(
                f"{at}: is not a migration of {LEGACY_LEDGER} that moves exactly its"
                f" {count} entries into {LEDGER_DIR}/ (the ledger was rewritten)"
            )
            self.broken = True
            return
        self.index.legacy = False
