"""Where the ledger's entries live in the state's tree: one file per entry, sealed by hundreds.

Entry ``seq`` is first its own file, ``ledger/<seq // 10000>/<seq // 100 % 100>/<seq % 100>.json``
(the first part four digits, the others two, zero-padded), holding the entry's one JSON line.
An append adds that one small blob and rewrites only the trees on its path (each at most 100
names): a commit's cost does not grow with the ledger.

A full block of 100 entries is then sealed by a commit of its own (``Stageline-Sealed: <block>``,
pushed with the append that fills the block): it replaces the block's 100 files by one segment,
``ledger/<block // 100>/<block % 100>.jsonl``, their lines in order, byte for byte. So the tip's
tree holds one object per 100 old entries and at most 100 entry files: git walks every object of
a ref's tree when it checks a push or a fetch for connectivity, and that walk stays small.

Before this layout the ledger was one file, ``ledger.jsonl``, that every append rewrote (its
storage grew with the square of its length). A state in that layout is migrated once, by a
commit that removes ``ledger.jsonl`` and adds its lines as segments and entry files, with a
``Stageline-Migrated: <count> <last hash>`` trailer. pipeline.record.audit checks all three.
"""

from __future__ import annotations

import json
import re

from pipeline.promote.entries import LedgerEntry, read_entry
from pipeline.record.git import Git
from pipeline.record.refs import MIGRATION_TRAILER as MIGRATION_TRAILER
from pipeline.record.refs import SEAL_TRAILER as SEAL_TRAILER

LEDGER_DIR = "ledger"
LEGACY_LEDGER = "ledger.jsonl"
BLOCK = 100  # entries per sealed segment
_ENTRY_PATH = re.compile(r"ledger/(\d{4,})/(\d\d)/(\d\d)\.json")
_SEGMENT_PATH = re.compile(r"ledger/(\d{4,})/(\d\d)\.jsonl")


def entry_path(seq: int) -> str:
    """The path of entry ``seq`` while its block is not sealed."""
    return f"{LEDGER_DIR}/{seq // 10000:04d}/{seq // 100 % 100:02d}/{seq % 100:02d}.json"


def segment_path(block: int) -> str:
    """The path of the segment holding entries ``block * 100`` to ``block * 100 + 99``."""
    return f"{LEDGER_DIR}/{block // 100:04d}/{block % 100:02d}.jsonl"


def seq_of(path: str) -> int | None:
    """The seq an entry path names, or None when ``path`` is not an entry path."""
    match = _ENTRY_PATH.fullmatch(path)
    if match is None:
        return None
    top, middle, last = (int(part) for part in match.groups())
    return top * 10000 + middle * 100 + last


def block_of(path: str) -> int | None:
    """The block a segment path names, or None when ``path`` is not a segment path."""
    match = _SEGMENT_PATH.fullmatch(path)
    return int(match[1]) * 100 + int(match[2]) if match else None


def in_ledger(path: str) -> bool:
    return path.startswith(LEDGER_DIR + "/")


def legacy_lines(text: bytes) -> list[str]:
    """The complete lines of a ``ledger.jsonl``."""
    return [line for line in text.decode("utf-8", errors="replace").split("\n")[:-1] if line]


def placed(lines: list[str]) -> dict[str, bytes]:
    """The ledger files holding ``lines`` (entries 0, 1, ...): a segment per full block, entry
    files for the rest."""
    files: dict[str, bytes] = {}
    full = len(lines) // BLOCK
    for block in range(full):
        chunk = lines[block * BLOCK : (block + 1) * BLOCK]
        files[segment_path(block)] = "".join(line + "\n" for line in chunk).encode()
    for seq in range(full * BLOCK, len(lines)):
        files[entry_path(seq)] = (lines[seq] + "\n").encode()
    return files


def migration_changes(text: bytes) -> dict[str, bytes | None]:
    """The tree changes that move a ``ledger.jsonl`` into segments and entry files."""
    changes: dict[str, bytes | None] = {LEGACY_LEDGER: None}
    changes.update(placed(legacy_lines(text)))
    return changes


def seal_changes(block: int, lines: list[bytes]) -> dict[str, bytes | None]:
    """The tree changes that seal ``block``, whose entry files hold ``lines``."""
    changes: dict[str, bytes | None] = {entry_path(block * BLOCK + k): None for k in range(BLOCK)}
    changes[segment_path(block)] = b"".join(lines)
    return changes


class LedgerTree:
    """The entries of one state commit, read by path (never by walking the history).
    ``sealed``: how many entries are in segments; ``legacy``: whether the commit still has a
    ``ledger.jsonl`` (both from the index of that commit; None: look)."""

    def __init__(
        self, git: Git, commit: str | None, sealed: int = 0, legacy: bool | None = None
    ) -> None:
        self.git = git
        self.commit = commit
        self.sealed = sealed
        self._legacy: list[str] | None = None
        if commit is not None and legacy is not False:
            text = git.show(commit, LEGACY_LEDGER)
            self._legacy = legacy_lines(text) if text is not None else None

    @property
    def legacy(self) -> bool:
        """Whether this commit still has the ledger in one file (not migrated yet)."""
        return self._legacy is not None

    def read(self, seqs: list[int]) -> list[LedgerEntry | None]:
        """The entries ``seqs`` (None for each one absent), in one ``cat-file`` call."""
        if self.commit is None:
            return [None] * len(seqs)
        if self._legacy is not None:
            lines = self._legacy
            return [_entry(lines[s]) if 0 <= s < len(lines) else None for s in seqs]
        paths = {s: self._path(s) for s in seqs if s >= 0}
        found = self.git.objects([f"{self.commit}:{p}" for p in sorted(set(paths.values()))])
        out: list[LedgerEntry | None] = []
        for seq in seqs:
            raw = found.get(f"{self.commit}:{paths[seq]}") if seq in paths else None
            if raw is not None and seq < self.sealed:
                chunk = raw.split(b"\n")
                raw = chunk[seq % BLOCK] if seq % BLOCK < len(chunk) - 1 else None
            out.append(_entry(raw) if raw else None)
        return out

    def _path(self, seq: int) -> str:
        return segment_path(seq // BLOCK) if seq < self.sealed else entry_path(seq)

    def entry(self, seq: int) -> LedgerEntry | None:
        return self.read([seq])[0]

    def all(self) -> list[LedgerEntry]:
        """Every entry, in order (the whole ledger: for the few readers that need it)."""
        if self.commit is None:
            return []
        if self._legacy is not None:
            return [_entry(line) for line in self._legacy]
        listing = self.git.run(
            "ls-tree", "-r", "-z", "--full-tree", self.commit, "--", LEDGER_DIR
        ).stdout.decode()
        blobs: dict[tuple[int, int], str] = {}  # (first seq, 0 entry / 1 segment) -> blob
        for item in listing.split("\0"):
            meta, _, path = item.partition("\t")
            seq, block = seq_of(path), block_of(path)
            if seq is not None:
                blobs[(seq, 0)] = meta.split()[2]
            elif block is not None:
                blobs[(block * BLOCK, 1)] = meta.split()[2]
        contents = self.git.blobs(list(blobs.values()))
        return [
            _entry(line)
            for key in sorted(blobs)
            for line in contents[blobs[key]].decode().split("\n")
            if line
        ]


def _entry(line: str | bytes) -> LedgerEntry:
    """One stored line as its typed entry (the audit checked the chain before it is read)."""
    return read_entry(json.loads(line))
