"""The ledger is append-only and tamper-evident: edits, removals and moves are detected."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.ledger import Ledger
from tests.promote.typed_entries import stored, to_append, with_verifications


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return with_verifications(Ledger(tmp_path / "ledger.jsonl"), 5)


def rewrite(ledger: Ledger, change) -> None:
    lines = ledger.path.read_text().splitlines()
    change(lines)
    ledger.path.write_text("".join(f"{line}\n" for line in lines))


def test_a_clean_ledger_verifies_and_chains(ledger):
    check = ledger.verify()
    assert check.ok and check.entries == 5, check.problems
    entries = stored(ledger.entries())
    assert [e["seq"] for e in entries] == list(range(5))
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))


def edit(lines):
    entry = json.loads(lines[2])
    entry["status"] = "failed"
    lines[2] = json.dumps(entry, sort_keys=True)


@pytest.mark.parametrize(
    ("case", "change", "says"),
    [
        ("edited", edit, ":3: hash does not match"),
        ("removed", lambda lines: lines.pop(1), "prev does not match"),
        (
            "reordered",
            lambda lines: lines.insert(1, lines.pop(3)),
            "an entry was removed, inserted",
        ),
        ("removed last", lambda lines: lines.pop(), "entries were removed from the end"),
        ("garbled", lambda lines: lines.__setitem__(0, "{not json"), ":1: not a JSON entry"),
    ],
)
def test_tampering_is_detected(ledger, case, change, says):
    rewrite(ledger, change)
    check = ledger.verify()
    assert not check.ok, case
    assert any(says in p for p in check.problems), f"{case}: {check.problems}"
    assert main(["ledger", "verify", "--state-dir", str(ledger.path.parent)]) == 1


def test_rehashed_edit_is_still_caught_by_the_next_link(ledger):
    from pipeline.promote.ledger import entry_hash

    def forge(lines):
        entry = json.loads(lines[2])
        entry["status"] = "failed"
        entry["hash"] = entry_hash(entry)
        lines[2] = json.dumps(entry, sort_keys=True)

    rewrite(ledger, forge)
    assert any(":4: prev does not match" in p for p in ledger.verify().problems)


def test_torn_last_line_is_reported_then_cut_by_the_next_append(ledger):
    with ledger.path.open("a") as handle:
        handle.write('{"seq": 5, "half')
    check = ledger.verify()
    assert check.ok and any("incomplete" in n for n in check.notes), check
    ledger.append(to_append({"step": "note"}))
    check = ledger.verify()
    assert check.ok and check.entries == 6, check.problems


def test_head_may_lag_one_entry_after_a_crash_between_writes(ledger):
    head = json.loads(ledger.head_path.read_text())
    entries = stored(ledger.entries())
    ledger.head_path.write_text(json.dumps({"seq": 3, "hash": entries[3]["hash"]}))
    assert ledger.verify().ok, "one behind: the crash window between the two writes"
    ledger.head_path.write_text(json.dumps({"seq": 2, "hash": entries[2]["hash"]}))
    assert not ledger.verify().ok
    ledger.head_path.write_text(json.dumps(head))
    assert ledger.verify().ok
