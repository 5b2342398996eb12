"""Ledger entries for tests: typed ones from the few fields a table test cares about, entries
to append written as the fields they store, and the stored form of what a state hands out (for
tests that read entries by key)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from pipeline.promote.entries import LedgerEntry, parse_entry, read_entry
from pipeline.promote.ledger import GENESIS

_CHAIN = {"seq": 0, "prev": GENESIS, "hash": "0" * 64, "time": "2026-01-01T00:00:00+00:00"}
_PROMOTION = {
    "promotion": "p-test",
    "pipeline": "aws",
    "release": "r-test",
    "digests": {},
    "approver": None,
}
_MARKERS: dict[str, dict[str, Any]] = {
    "start": {"target": "dev", "rollback": False, "auto": False, "stages": [], "verdicts": {}},
    "resume": {"interrupted": None, "pending": []},
    "interrupted": {"detail": ""},
    "finish": {"outcome": "promoted", "detail": ""},
}


def filled(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with the fields a promotion's entry of that kind has and the test leaves out
    filled in (a step is forward and completed unless it says otherwise)."""
    step = str(fields.get("step"))
    kind = _MARKERS.get(step, {"kind": "forward", "status": "completed"})
    out = {**_PROMOTION, **kind, **fields}
    if step not in _MARKERS:
        out.setdefault("promoting", out["release"])
    return out


def typed(fields: Mapping[str, Any]) -> LedgerEntry:
    """The typed entry ``fields`` describe (``filled``; chained at seq 0 unless they say)."""
    return parse_entry({**_CHAIN, **filled(fields)})


def to_append(fields: Mapping[str, Any]) -> LedgerEntry:
    """The entry to append whose stored fields are ``fields`` (its typed kind, else an
    ``OtherEntry``), checked to store exactly those fields, so its stored bytes are the ones
    appending ``fields`` themselves always gave."""
    entry = read_entry(fields)
    if _canonical(entry.fields()) != _canonical(fields):
        raise AssertionError(f"the typed entry does not store {dict(fields)!r}")
    return entry


class _Appends(Protocol):
    def append(self, new: LedgerEntry) -> LedgerEntry: ...


Book = TypeVar("Book", bound=_Appends)


def with_verifications(book: Book, count: int) -> Book:
    """``book`` (a ledger or a state) after ``count`` completed verifications of dev, numbered
    ``n``: a small ledger to tamper with."""
    for n in range(count):
        book.append(to_append({"stage": "dev", "step": "verify", "status": "completed", "n": n}))
    return book


def _canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def typed_all(entries: Iterable[Mapping[str, Any]]) -> list[LedgerEntry]:
    return [typed(e) for e in entries]


def stored(entries: Iterable[LedgerEntry]) -> list[dict[str, Any]]:
    """Each entry as the ledger stores it (what tests read by key)."""
    return [e.stored() for e in entries]
