"""Reconcile's ledger entries are typed (``ReconcileEntry``) and round-trip byte for byte, like
a promotion's (tests/promote/test_entries.py): healed, in sync, proposed and approved."""

from __future__ import annotations

from pathlib import Path

from pipeline.promote.entries import OtherEntry, ReconcileEntry, parse_entry, read_entry
from pipeline.promote.ledger import entry_hash, entry_line
from pipeline.promote.model import StepStatus
from pipeline.promote.state import StageChange
from tests.promote.record_reader import ledger_lines, record
from tests.promote.typed_entries import to_append
from tests.reconcile.fakes import FILE, FileDrift
from tests.reconcile.test_command import ENGINE, IMAGES, run
from tests.reconcile.test_command import health as health  # the fixture


def test_every_reconcile_entry_round_trips(stacks_copy: Path, tmp_path: Path, health: str) -> None:
    state_dir = tmp_path / "state"
    state = record(state_dir)  # the directory's git record, as --state-dir opens it
    for stack in ("dev", "live"):
        change = StageChange(stack, "aws", "r-1", IMAGES, None, "p-1", "forward", None)
        state.append(to_append({"promotion": "p-1", "stage": stack, "step": "up"}), change)
    cloud = FileDrift(state_dir / FILE)
    cloud.drift_out_of_band("dev")
    cloud.drift_out_of_band("live", "update")
    cloud.set_outputs("dev", {"serviceUrls": {"api": health}, "healthPaths": {"api": "/h"}})
    assert run(stacks_copy, state_dir, "reconcile", "--pipeline", "aws", "--deployer", ENGINE) == 1
    cloud.set_outputs("live", {"serviceUrls": {"api": health}, "healthPaths": {"api": "/h"}})
    approved = ["--approve", "--approver", "ops@example.com", "--deployer", ENGINE]
    assert run(stacks_copy, state_dir, "reconcile", "--stage", "live", *approved) == 0

    raw = ledger_lines(state_dir)
    entries = record(state_dir).entries()
    assert len(entries) == len(raw)
    reconciles = [e for e in entries if isinstance(e, ReconcileEntry)]
    assert len(reconciles) == 5, entries  # four stages, then live again
    for entry, line in zip(entries, raw, strict=True):
        again = entry.stored()
        assert entry_line(again) == line, entry
        assert entry_hash(again) == entry.hash
    for entry in reconciles:
        assert parse_entry(entry.stored()) == entry
        assert entry.extra == {}, f"fields ReconcileEntry does not know: {entry.extra}"
    assert {(e.stage, e.outcome) for e in reconciles} >= {
        ("dev", "healed"),
        ("test", "in sync"),
        ("live", "proposed"),
    }
    healed = reconciles[-1]
    assert (healed.stage, healed.outcome, healed.approver) == ("live", "healed", "ops@example.com")
    assert healed.status is StepStatus.COMPLETED and healed.drifted and healed.drift
    # The test's own setup entries ("up" without a status) are none of the kinds: kept whole.
    setup = entries[:2]
    assert all(isinstance(e, OtherEntry) and e.step == "up" for e in setup), setup


def test_an_entry_of_no_known_kind_is_kept_whole() -> None:
    stored = {"seq": 3, "prev": "a" * 64, "time": "t", "hash": "b" * 64, "step": "note", "n": 1}
    entry = read_entry(stored)
    assert isinstance(entry, OtherEntry) and entry.step == "note"
    assert entry.stored() == stored and entry.seq == 3
