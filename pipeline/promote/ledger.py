"""The ledger: append-only JSON Lines, each entry hash-chained to the one before.

Each entry carries ``seq``, the previous entry's ``hash`` as ``prev`` and its own ``hash`` (SHA-256
of the canonical JSON of every other field), so an edited, removed or reordered entry breaks the
chain. A removed *last* entry leaves a valid chain, so the head (``seq`` and ``hash`` of the newest
entry) is also kept in ``<ledger>.head``; it may lag the ledger by one entry (a crash between the
two writes) but never lead it.

The chain's code (``ChainedLedger``) works over a ``LedgerStorage``: a file and its head file
(``Ledger``, the layout a state directory had before pipeline.record.local imports it) or lines
in memory (pipeline.promote.memory, the tests' double). In a file, an append is one ``write``
on an ``O_APPEND`` descriptor followed by ``fsync``: a killed process leaves the entry whole or
absent. Only power loss can tear the last line (a write that was never
acknowledged: the head still names the entry before it); ``verify`` reports it as a note, not a
problem, so promotions go on, and the next append cuts the torn line off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.promote.entries import JSON, EntryError, LedgerEntry, read_entry
from pipeline.promote.ledger_file import LedgerFile, LedgerStorage
from pipeline.promote.stage_record import EntryRef

GENESIS = "0" * 64
CHAIN_FIELDS = ("seq", "prev", "hash")


class LedgerError(Exception):
    """The ledger cannot be read or does not verify."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def entry_hash(entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_entry(fields: Mapping[str, Any], last: Mapping[str, Any] | None) -> dict[str, Any]:
    """A new entry after ``last`` (None: the first): numbered, chained, timestamped, hashed."""
    prev, seq = (GENESIS, 0) if last is None else (last["hash"], last["seq"] + 1)
    entry: dict[str, Any] = {"seq": seq, "prev": prev, "time": now_iso(), **fields}
    entry["hash"] = entry_hash(entry)
    return entry


def chain(new: LedgerEntry, last: EntryRef | None, **more: JSON) -> LedgerEntry:
    """``new`` (with the fields ``more``) as the entry after ``last`` (None: the first)."""
    after = None if last is None else {"seq": last.seq, "hash": last.hash}
    stored = chain_entry({**new.unchained(), **more}, after)
    entry = read_entry(stored)
    if entry.stored() != stored:  # its line would not verify: refuse rather than write it
        raise EntryError(f"entry {stored['seq']}: does not read back as it would be stored")
    return entry


def entry_line(entry: Mapping[str, Any]) -> bytes:
    return (json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n").encode()


def verify_chain(lines: list[str], where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Check each line's seq, prev and hash; returns the entries and the problems by line."""
    problems: list[str] = []
    prev = GENESIS
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        at = f"{where}:{number}"
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"{at}: not a JSON entry")
            prev = "?"
            continue
        if not isinstance(entry, dict) or any(k not in entry for k in CHAIN_FIELDS):
            problems.append(f"{at}: missing seq/prev/hash")
            continue
        if entry["seq"] != number - 1:
            problems.append(
                f"{at}: seq {entry['seq']} where {number - 1} was expected"
                " (an entry was removed, inserted or moved)"
            )
        if entry["prev"] != prev:
            problems.append(
                f"{at}: prev does not match the entry before"
                " (an entry was removed, inserted or moved)"
            )
        if entry_hash(entry) != entry["hash"]:
            problems.append(f"{at}: hash does not match the content (the entry was edited)")
        prev = entry["hash"]
        entries.append(entry)
    return entries, problems


@dataclass(frozen=True)
class Verification:
    entries: int
    problems: list[str]
    notes: list[str] = field(default_factory=list)
    """Conditions that do not make the ledger wrong and that the next append repairs."""

    @property
    def ok(self) -> bool:
        return not self.problems


class ChainedLedger:
    """The hash-chained ledger over a ``LedgerStorage``: reading, verifying, appending."""

    def __init__(self, storage: LedgerStorage) -> None:
        self.storage = storage

    # ------------------------------------------------------------------ reading

    def _lines(self) -> tuple[list[str], bool]:
        """Complete lines, and whether a torn (unterminated) last line was found."""
        text = self.storage.read().decode("utf-8", errors="replace")
        torn = bool(text) and not text.endswith("\n")
        lines = text.split("\n")
        complete = lines[:-1]  # the piece after the last newline is empty or torn
        return [line for line in complete if line.strip()], torn

    def entries(self) -> list[LedgerEntry]:
        """Every complete entry, parsed into its kind (not verified)."""
        lines, _ = self._lines()
        out = []
        for number, line in enumerate(lines, start=1):
            try:
                stored = json.loads(line)
            except ValueError:
                stored = None
            if not isinstance(stored, dict):
                raise LedgerError(f"{self.storage.where}:{number}: not a JSON entry")
            out.append(read_entry(stored))
        return out

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.entries())

    def _head(self) -> dict[str, Any] | None:
        text = self.storage.read_head()
        if text is None:
            return None
        try:
            head: dict[str, Any] = json.loads(text)
        except ValueError:
            return {"seq": -1, "hash": "unreadable"}
        return head

    def verify(self) -> Verification:
        """Check the chain and the head; every problem names the line."""
        where, head_where = self.storage.where, self.storage.head_where
        lines, torn = self._lines()
        entries, problems = verify_chain(lines, where)
        notes = []
        if torn:
            notes.append(
                f"{where}:{len(lines) + 1}: last line is incomplete (a write torn by power"
                " loss; it was never acknowledged and the next append removes it)"
            )
        head = self._head()
        if head is None:
            # No head yet is "one behind" only while the ledger holds a single entry.
            if len(entries) > 1:
                problems.append(f"{head_where}: missing, the ledger's newest entry is unknown")
        else:
            seq = head.get("seq", -1)
            if not isinstance(seq, int) or seq < 0 or seq >= len(entries):
                problems.append(
                    f"{head_where}: head is entry {seq} but the ledger ends at"
                    f" {len(entries) - 1} (entries were removed from the end)"
                )
            elif entries[seq]["hash"] != head.get("hash"):
                problems.append(f"{head_where}: head hash does not match entry {seq}")
            elif seq < len(entries) - 2:
                problems.append(
                    f"{head_where}: head is entry {seq}, more than one behind the ledger"
                    f" ({len(entries) - 1})"
                )
        return Verification(len(entries), problems, notes)

    # ------------------------------------------------------------------ writing

    def append(self, new: LedgerEntry) -> LedgerEntry:
        """Append one entry (chained, timestamped), durably, then move the head. Returns it."""
        fields = new.unchained()
        with self.storage.exclusive():
            lines, torn = self._lines()
            if torn:
                self.storage.cut(self.storage.read().rfind(b"\n") + 1)
            try:
                entry = chain_entry(fields, json.loads(lines[-1]) if lines else None)
            except (ValueError, KeyError, TypeError):
                raise LedgerError(
                    f"{self.storage.where}:{len(lines)}: last entry unreadable; run `ledger verify`"
                ) from None
            self.storage.write(entry_line(entry))
            self.storage.write_head(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}) + "\n")
        return read_entry(entry)


class Ledger(ChainedLedger):
    """One ledger file and its head file (a state directory's old layout, which the directory's
    git record imports: pipeline.record.local)."""

    def __init__(self, path: Path) -> None:
        self.file = LedgerFile(path)
        self.path, self.head_path = path, self.file.head_path
        super().__init__(self.file)
