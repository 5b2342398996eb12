"""Where the ledger's entries live in the state's tree: one file per entry.

Entry ``seq`` is ``ledger/<seq // 10000>/<seq // 100 % 100>/<seq % 100>.json`` (the first part
four digits, the others two, all zero-padded), holding the entry's one JSON line. An append adds
one small blob and rewrites only the trees on its path (each at most 100 names), so a commit's
cost does not grow with the ledger, and no commit ever rewrites an old entry.

Before this layout the ledger was one file, ``ledger.jsonl``, that every append rewrote (its
storage grew with the square of its length). A state in that layout is migrated once, by a
commit that removes ``ledger.jsonl`` and adds its lines as entry files, with a
``Stageline-Migrated: <count> <last hash>`` trailer (pipeline.record.audit checks it).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.record.git import Git

LEDGER_DIR = "ledger"
LEGACY_LEDGER = "ledger.jsonl"
MIGRATION_TRAILER = "Stageline-Migrated"
_ENTRY_PATH = re.compile(r"ledger/(\d{4,})/(\d\d)/(\d\d)\.json")


def entry_path(seq: int) -> str:
    """The path of entry ``seq`` in the state's tree."""
    return f"{LEDGER_DIR}/{seq // 10000:04d}/{seq // 100 % 100:02d}/{seq % 100:02d}.json"


def seq_of(path: str) -> int | None:
    """The seq an entry path names, or None when ``path`` is not an entry path."""
    match = _ENTRY_PATH.fullmatch(path)
    if match is None:
        return None
    top, middle, last = (int(part) for part in match.groups())
    return top * 10000 + middle * 100 + last


def in_ledger(path: str) -> bool:
    return path.startswith(LEDGER_DIR + "/")


def legacy_lines(text: bytes) -> list[str]:
    """The complete lines of a ``ledger.jsonl``."""
    return [line for line in text.decode("utf-8", errors="replace").split("\n")[:-1] if line]


def migration_changes(text: bytes) -> dict[str, bytes | None]:
    """The tree changes that move a ``ledger.jsonl`` into entry files."""
    changes: dict[str, bytes | None] = {LEGACY_LEDGER: None}
    for seq, line in enumerate(legacy_lines(text)):
        changes[entry_path(seq)] = (line + "\n").encode()
    return changes


class LedgerTree:
    """The entries of one state commit, read by path (never by walking the history)."""

    def __init__(self, git: Git, commit: str | None) -> None:
        self.git = git
        self.commit = commit
        self._legacy: list[str] | None = None
        if commit is not None:
            text = git.show(commit, LEGACY_LEDGER)
            self._legacy = legacy_lines(text) if text is not None else None

    @property
    def legacy(self) -> bool:
        """Whether this commit still has the ledger in one file (not migrated yet)."""
        return self._legacy is not None

    def read(self, seqs: list[int]) -> list[dict[str, Any] | None]:
        """The entries ``seqs`` (None for each one absent), in one ``cat-file`` call."""
        if self.commit is None:
            return [None] * len(seqs)
        if self._legacy is not None:
            lines = self._legacy
            return [json.loads(lines[s]) if 0 <= s < len(lines) else None for s in seqs]
        specs = {s: f"{self.commit}:{entry_path(s)}" for s in seqs if s >= 0}
        found = self.git.objects(list(specs.values()))
        contents = [found.get(specs[s]) if s in specs else None for s in seqs]
        return [json.loads(raw) if raw is not None else None for raw in contents]

    def entry(self, seq: int) -> dict[str, Any] | None:
        return self.read([seq])[0]

    def all(self) -> list[dict[str, Any]]:
        """Every entry, in order (the whole ledger: for the few readers that need it)."""
        if self.commit is None:
            return []
        if self._legacy is not None:
            return [json.loads(line) for line in self._legacy]
        listing = self.git.run(
            "ls-tree", "-r", "-z", "--full-tree", self.commit, "--", LEDGER_DIR
        ).stdout.decode()
        paths: dict[int, str] = {}
        for item in listing.split("\0"):
            meta, _, path = item.partition("\t")
            seq = seq_of(path)
            if seq is not None:
                paths[seq] = meta.split()[2]
        contents = self.git.blobs(list(paths.values()))
        return [json.loads(contents[paths[seq]]) for seq in sorted(paths)]
