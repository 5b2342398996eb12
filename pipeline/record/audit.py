"""The check of the state's history: one pass over one ``git log``, each entry read once.

Every first-parent commit of ``stageline/state`` (after the one this clone verified last, or
all of them on a fresh clone) must change the ledger (pipeline.record.layout) in one of three
ways: add the one entry its ``Stageline-Entry: <seq> <hash>`` trailer names, at the next seq's
path, chained to the entry before (seq, prev, hash); seal the oldest full block, replacing its
100 entry files by a segment of exactly their bytes; or, once, migrate the old ``ledger.jsonl``.
Releases are only added; nothing but locks changes otherwise. The added entries' blobs are read
in one ``cat-file --batch`` and hashed once each, so a fresh clone's check is linear in the
entries. An edited, removed, reordered or truncated entry (even with every hash recomputed) is a
commit that changes or removes entry files otherwise; a forged one is an entry its commit does
not name; a deleted ledger is a commit removing every ledger file.

A state begun in the old layout is checked by that layout's rule until its migration: each
commit's ``ledger.jsonl`` is the blob of the final one's next prefix (hashing prefixes costs the
square of that old ledger's length; it no longer grows), and the migration must move exactly its
lines into segments and entry files.

A record imported from a directory (pipeline.record.local) begins with one root commit, named by
its ``Stageline-Imported: <count> <hash>`` trailer, that adds the directory's ``ledger.jsonl`` in
the old layout (every line chained) with its releases and stage records; the next write migrates
it. Such a record keeps its stage records as ``stages/<stack>.json``, changed only by the commit
of the entry that moved the stage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pipeline.promote.entries import CHAIN_KEYS, read_entry
from pipeline.promote.ledger import entry_hash
from pipeline.record.commits import NO_BLOB, Commit
from pipeline.record.git import Git, blob_id
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import (
    BLOCK,
    LEDGER_DIR,
    LEGACY_LEDGER,
    entry_path,
    in_ledger,
    legacy_lines,
    placed,
    segment_path,
)
from pipeline.record.refs import ENTRY_TRAILER, IMPORT_TRAILER, MIGRATION_TRAILER, SEAL_TRAILER

Changes = dict[str, tuple[str, str, str]]


class Audit:
    """Checks commits in order, carrying ``index`` (the state before the first of them) on to
    the state after the last; ``problems`` says every way they fail."""

    def __init__(self, git: Git, where: str, index: LedgerIndex, stage_files: bool = False) -> None:
        self.git = git
        self.stage_files = stage_files  # stage records are files of the state (a local record)
        self.where = where
        self.index = index
        self.problems: list[str] = []
        self.broken = False  # the ledger stopped growing by appends: later entries unchecked
        self.legacy_blob: str | None = None
        self.legacy_final: list[str] = []
        self.entry_blobs: Mapping[str, bytes] = {}
        self.unsealed: dict[int, bytes] = {}  # seq -> content, for entries not in a segment

    def run(self, commits: list[Commit]) -> LedgerIndex:
        self._prepare(commits)
        for commit in commits:
            self._commit(commit)
            self.index.commit = commit.sha
        return self.index

    def _prepare(self, commits: list[Commit]) -> None:
        """Read, in one call each, what the pass needs: every added entry, the entries not
        sealed yet where it starts (when a seal follows), and the old layout's final
        ``ledger.jsonl`` (every earlier one must be a prefix of it)."""
        start = self.index.commit
        if self.index.legacy and start:
            self.legacy_blob = self.git.text("rev-parse", f"{start}:{LEGACY_LEDGER}")
        legacy = [c.changes[LEGACY_LEDGER][2] for c in commits if LEGACY_LEDGER in c.changes]
        final = next((b for b in reversed(legacy) if b != NO_BLOB), None) or self.legacy_blob
        if final:
            self.legacy_final = legacy_lines(self.git.blobs([final])[final])
        seals = any(c.trailer(SEAL_TRAILER) for c in commits)
        if seals and start and not self.index.legacy and self.index.count > self.index.sealed:
            open_seqs = range(self.index.sealed, self.index.count)
            found = self.git.objects([f"{start}:{entry_path(s)}" for s in open_seqs])
            self.unsealed = {s: found.get(f"{start}:{entry_path(s)}") or b"" for s in open_seqs}
        self.entry_blobs = self.git.blobs(
            [
                new
                for c in commits
                if not c.trailer(MIGRATION_TRAILER) and not c.trailer(SEAL_TRAILER)
                for path, (status, _, new) in c.changes.items()
                if in_ledger(path) and status == "A"
            ]
        )

    def _commit(self, commit: Commit) -> None:
        at = f"{self.where}: commit {commit.sha[:12]}"
        ledger = {p: c for p, c in commit.changes.items() if in_ledger(p)}
        legacy = LEGACY_LEDGER in commit.changes
        imported = bool(commit.trailer(IMPORT_TRAILER))
        if imported:
            self._import(at, commit, ledger)
        elif commit.trailer(MIGRATION_TRAILER):
            self._migration(at, commit, ledger)
        elif legacy and (self.index.legacy or self.index.count == 0):
            self._legacy_append(at, commit, ledger)
        elif legacy:
            self.problems.append(f"{at}: {LEGACY_LEDGER}: not part of the promotion state")
        elif commit.trailer(SEAL_TRAILER):
            self._seal(at, commit, ledger)
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
            elif path.startswith("stages/") and self.stage_files:
                if not imported and not commit.trailer(ENTRY_TRAILER):
                    self.problems.append(f"{at}: {path}: changed by no ledger entry")
            elif not path.startswith("locks/"):
                self.problems.append(f"{at}: {path}: not part of the promotion state")

    def _fail(self, message: str) -> None:
        self.problems.append(message)
        self.broken = True

    def _append(self, at: str, commit: Commit, ledger: Changes) -> None:
        """A commit of the entry layout: it adds exactly the next entry's file."""
        if self.broken:
            return
        index = self.index
        path = entry_path(index.count)
        if index.legacy:
            self._fail(f"{at}: adds entry files to a ledger that was not migrated")
        elif {s for s, _, _ in ledger.values()} == {"D"} and set(ledger) == self._live():
            self._fail(f"{at}: deletes {LEDGER_DIR}/ (the ledger was deleted)")
        elif list(ledger) != [path] or ledger[path][0] != "A":
            self._fail(
                f"{at}: changes {LEDGER_DIR}/ other than by appending one entry"
                " (an entry was edited, removed, reordered or truncated)"
            )
        else:
            content = self.entry_blobs.get(ledger[path][2], b"")
            if content.count(b"\n") != 1 or not content.endswith(b"\n"):
                self._fail(f"{at}: {path}: not one JSON line")
                return
            self.unsealed[index.count] = content
            self._entry(f"{at}: {path}", commit, content.decode("utf-8", errors="replace"))

    def _live(self) -> set[str]:
        """Every ledger file of the state so far: its segments and its entry files."""
        index = self.index
        live = {segment_path(b) for b in range(index.sealed // BLOCK)}
        return live | {entry_path(s) for s in range(index.sealed, index.count)}

    def _import(self, at: str, commit: Commit, ledger: Changes) -> None:
        """The root commit of a record imported from a directory: its ``ledger.jsonl``, every
        line chained, in the old layout (migrated by the next write)."""
        added = commit.changes.get(LEGACY_LEDGER)
        if not self.stage_files or self.index.commit is not None or self.index.count or ledger:
            self._fail(f"{at}: an import that is not a local record's first commit")
            return
        if not added:
            self._fail(f"{at}: an import without {LEGACY_LEDGER}")
            return
        if added[0] != "A" or commit.trailer(ENTRY_TRAILER) or commit.trailer(MIGRATION_TRAILER):
            self._fail(f"{at}: is not an import of a directory's {LEGACY_LEDGER}")
            return
        text = self.git.blobs([added[2]])[added[2]]
        for line in legacy_lines(text):
            self._entry(f"{at}: {LEGACY_LEDGER}", commit, line, named=False)
        self.legacy_blob, self.index.legacy = added[2], True
        if commit.trailer(IMPORT_TRAILER) != [f"{self.index.count} {self.index.last}"]:
            self._fail(f"{at}: {IMPORT_TRAILER} does not name the imported ledger's last entry")

    def _entry(self, at: str, commit: Commit, line: str, named: bool = True) -> None:
        """Chain one added entry (seq, prev, hash) and check the trailer names it (``named``:
        the commit adds this one entry, not an imported ledger)."""
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or any(k not in entry for k in CHAIN_KEYS):
            self._fail(f"{at}: not a JSON entry with seq, prev and hash")
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
        if named and commit.trailer(ENTRY_TRAILER) != [f"{entry['seq']} {entry['hash']}"]:
            self.problems.append(f"{at}: {ENTRY_TRAILER} does not name the entry it adds")
        self.index.add(read_entry(entry))

    def _seal(self, at: str, commit: Commit, ledger: Changes) -> None:
        """The commit that replaces the oldest full block's entry files by their segment."""
        block, first = self.index.sealed // BLOCK, self.index.sealed
        seqs = range(first, first + BLOCK)
        if not self.broken and not self.index.legacy and all(s in self.unsealed for s in seqs):
            segment = b"".join(self.unsealed[s] for s in seqs)
            expected = {entry_path(s): ("D", blob_id(self.unsealed[s]), NO_BLOB) for s in seqs}
            expected[segment_path(block)] = ("A", NO_BLOB, blob_id(segment))
            if (
                ledger == expected
                and commit.trailer(SEAL_TRAILER) == [str(block)]
                and not commit.trailer(ENTRY_TRAILER)
            ):
                self.index.sealed += BLOCK
                for seq in seqs:
                    del self.unsealed[seq]
                return
        self._fail(
            f"{at}: is not a seal of entries {first} to {first + BLOCK - 1} into"
            f" {segment_path(block)} (the ledger was rewritten)"
        )

    def _legacy_append(self, at: str, commit: Commit, ledger: Changes) -> None:
        """A commit of the old layout: ``ledger.jsonl`` grows by one line."""
        status, old, new = commit.changes[LEGACY_LEDGER]
        if self.broken:
            return
        if status == "D":
            self._fail(f"{at}: deletes {LEGACY_LEDGER} (the ledger was deleted)")
            return
        if ledger:
            self.problems.append(f"{at}: {LEDGER_DIR}/: not part of the promotion state")
        count, lines = self.index.count, self.legacy_final
        expected = None
        if count < len(lines):
            expected = blob_id("".join(line + "\n" for line in lines[: count + 1]).encode())
        if expected == new and (old if status == "M" else None) == self.legacy_blob:
            line = lines[count]  # the new blob is the old one plus exactly this line
        else:
            found = self.git.blobs([b for b in (old, new) if b != NO_BLOB])
            before = found.get(old, b"") if status == "M" else b""
            after = found.get(new, b"")
            added = after[len(before) :]
            if not after.startswith(before) or added.count(b"\n") != 1:
                self._fail(
                    f"{at}: changes {LEGACY_LEDGER} other than by appending one entry"
                    " (an entry was edited, removed, reordered or truncated)"
                )
                return
            line = added.decode("utf-8", errors="replace").rstrip("\n")
        self.legacy_blob = new
        self.index.legacy = True
        self._entry(f"{at}: {LEGACY_LEDGER}", commit, line)

    def _migration(self, at: str, commit: Commit, ledger: Changes) -> None:
        """The one commit that moves ``ledger.jsonl``'s lines into the entry layout, unchanged."""
        count, lines = self.index.count, self.legacy_final
        files = placed(lines[:count])
        removed = commit.changes.get(LEGACY_LEDGER)
        if (
            self.broken
            or not self.index.legacy
            or removed is None
            or removed[0] != "D"
            or removed[1] != self.legacy_blob
            or len(lines) != count
            or {p: (s, new) for p, (s, _, new) in ledger.items()}
            != {p: ("A", blob_id(content)) for p, content in files.items()}
            or commit.trailer(MIGRATION_TRAILER) != [f"{count} {self.index.last}"]
            or commit.trailer(ENTRY_TRAILER)
        ):
            self._fail(
                f"{at}: is not a migration of {LEGACY_LEDGER} that moves exactly its"
                f" {count} entries into {LEDGER_DIR}/ (the ledger was rewritten)"
            )
            return
        self.index.legacy = False
        self.index.sealed = count // BLOCK * BLOCK
        self.unsealed = {s: files[entry_path(s)] for s in range(self.index.sealed, count)}
