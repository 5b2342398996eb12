"""A state directory in the layout it had before the git record (``ledger.jsonl`` and its
head, ``releases/<id>.json``, ``stages/<stack>.json``), written as that layout's state wrote
it: what pipeline.record.local imports, for the tests of that import."""

from __future__ import annotations

from pathlib import Path

from pipeline.promote.entries import LedgerEntry
from pipeline.promote.files import write_atomic
from pipeline.promote.ledger import Ledger
from pipeline.promote.release import Release, ReleaseStore
from pipeline.promote.stage_record import EntryRef, StageChange, StageRecord
from pipeline.promote.state import dump


class OldDirectory:
    """An old state directory being written: entries, stage records and releases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ledger = Ledger(root / "ledger.jsonl")
        self.releases = ReleaseStore(root)

    def append(self, new: LedgerEntry, stage: StageChange | None = None) -> LedgerEntry:
        entry = self.ledger.append(new)
        if stage is not None:
            record = StageRecord.of(stage, EntryRef(entry.seq, entry.hash))
            write_atomic(self.root / "stages" / f"{stage.stack}.json", dump(record.to_json()))
        return entry

    def save_release(self, release: Release) -> tuple[Release, bool]:
        return self.releases.save(release)

    def entries(self) -> list[LedgerEntry]:
        return self.ledger.entries()
