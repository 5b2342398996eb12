"""What a clone knows of the state it verified last, so it need not read the ledger again.

The audit (pipeline.record.audit) builds a ``LedgerIndex`` while it checks the history, entry by
entry: how many entries the state at ``commit`` holds, the newest one's hash (where the next
audit carries the chain on), how many are sealed in segments, the record commit each stage's
latest record entry names (what the stage-branch check compares with) and the entries the gates
and ``status`` read (pipeline.promote.history.Decisive). It is kept in
``.git/stageline/ledger-index.json``, never pushed: like ``refs/stageline/seen`` it is this
clone's own memory of what it verified, and it is used only while ``commit`` is still in the
remote's history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.promote.entries import LedgerEntry, ReconcileEntry, StepEntry, read_entry, stage_of
from pipeline.promote.files import write_atomic
from pipeline.promote.history import Decisive
from pipeline.promote.ledger import GENESIS
from pipeline.promote.stage_record import EntryRef

FORMAT = 1


@dataclass
class LedgerIndex:
    commit: str | None = None
    count: int = 0
    last: str = GENESIS
    legacy: bool = False
    """The state at ``commit`` still keeps its ledger as one ``ledger.jsonl``."""
    sealed: int = 0
    """How many entries (whole blocks, from the first) are in segments (pipeline.record.layout)."""
    records: dict[str, str] = field(default_factory=dict)
    stages: set[str] = field(default_factory=set)
    decisive: Decisive = field(default_factory=Decisive)

    def add(self, entry: LedgerEntry) -> None:
        """Account for the next entry (already checked by the caller)."""
        self.count += 1
        self.last = entry.hash
        stage = stage_of(entry)
        if stage:
            self.stages.add(stage)
            record = _record_of(entry)
            if record:
                self.records[stage] = record
        self.decisive.add(entry)

    def head(self) -> EntryRef | None:
        """The newest entry (what the next entry chains on), or None."""
        return EntryRef(self.count - 1, self.last) if self.count else None

    def copy(self) -> LedgerIndex:
        decisive = Decisive()
        decisive.verifications = list(self.decisive.verifications)
        decisive.open = {p: list(e) for p, e in self.decisive.open.items()}
        return LedgerIndex(
            self.commit,
            self.count,
            self.last,
            self.legacy,
            self.sealed,
            dict(self.records),
            set(self.stages),
            decisive,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "commit": self.commit,
            "count": self.count,
            "last": self.last,
            "legacy": self.legacy,
            "sealed": self.sealed,
            "records": self.records,
            "stages": sorted(self.stages),
            "decisive": [e.stored() for e in self.decisive.entries()],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LedgerIndex:
        return cls(
            raw["commit"],
            int(raw["count"]),
            str(raw["last"]),
            bool(raw["legacy"]),
            int(raw["sealed"]),
            dict(raw["records"]),
            set(raw["stages"]),
            Decisive(read_entry(e) for e in raw["decisive"]),
        )


def load(path: Path) -> LedgerIndex | None:
    """The saved index, or None when there is none or it cannot be read (then the next audit
    starts from the beginning: the index saves work, it is never needed)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return LedgerIndex.from_json(raw) if raw.get("format") == FORMAT else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save(path: Path, index: LedgerIndex) -> None:
    write_atomic(path, json.dumps(index.to_json(), separators=(",", ":")) + "\n")


def _record_of(entry: LedgerEntry) -> str | None:
    """The stage commit an entry records. An entry of no known kind may move a stage branch too
    (a bootstrap of what a stage already ran), so its stored ``record`` counts as it did when
    entries were read as dicts."""
    if isinstance(entry, StepEntry | ReconcileEntry):
        return entry.record
    value = entry.extra.get("record")
    return str(value) if value else None
