"""Typed ledger entries round-trip byte for byte: every entry of real ledgers (a file ledger
through promotions into each kind of entry, and a git record written through the command line)
is parsed into its typed kind and written back to the same bytes and the same hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.entries import (
    EntryError,
    FinishEntry,
    ResumeEntry,
    StartEntry,
    StepEntry,
    parse_entry,
)
from pipeline.promote.ledger import entry_hash, entry_line
from pipeline.promote.model import StepName, StepStatus
from pipeline.promote.orchestrator import EXIT_OK, Request
from pipeline.record.state import GitState
from tests.promote.fakes import SimulatedCrash
from tests.promote.gitrepos import seed_remote
from tests.promote.record_reader import ledger_lines
from tests.promote.test_pull_request import fake, setup
from tests.promote.test_pull_request import fake_cloud as fake_cloud  # the shared fake cloud


def interrupt(*_: Any) -> Any:
    raise KeyboardInterrupt


def assert_round_trip(stored: list[dict[str, Any]], raw: list[bytes]) -> list[Any]:
    assert len(stored) == len(raw) > 0
    parsed = []
    for entry, line in zip(stored, raw, strict=True):
        typed = parse_entry(entry)
        again = typed.stored()
        where = f"entry {entry['seq']} ({entry['step']})"
        assert entry_line(again) == line, where
        assert entry_hash(again) == entry["hash"], where
        assert typed.extra == {}, f"{where}: fields the typed entry does not know: {typed.extra}"
        parsed.append(typed)
    return parsed


def test_every_kind_of_file_ledger_entry_round_trips(
    orchestrator, make_release_in, cloud, state_dir
):
    older = make_release_in("r", created=datetime.now(UTC) - timedelta(days=1))
    newer = make_release_in("s")
    cloud.set_fault("test", "up", "crash")
    with pytest.raises(SimulatedCrash):
        orchestrator().promote(Request(older.id, "test"))
    assert orchestrator().promote(Request(older.id, "test")).code == EXIT_OK  # resume
    cloud.set_fault("dev", "preview", "beyond")  # a gate's findings and diff
    assert orchestrator().promote(Request(newer.id, "dev")).outcome == "stopped"
    cloud.set_fault("dev", "verify", f"wrong-version:{newer.id}")  # an automatic rollback
    assert orchestrator().promote(Request(newer.id, "dev")).outcome == "rolled back"
    assert orchestrator(verify=interrupt).promote(Request(newer.id, "dev")).code == 130
    # The interrupted promotion is superseded by one of another release.
    third = make_release_in("t")
    assert orchestrator().promote(Request(third.id, "dev")).code == EXIT_OK

    state = orchestrator().state
    raw = ledger_lines(state_dir)  # the bytes the directory's git record stores
    parsed = assert_round_trip([e.stored() for e in state.entries()], raw)
    kinds = {type(e).__name__ for e in parsed}
    assert kinds >= {"StartEntry", "StepEntry", "ResumeEntry", "InterruptedEntry", "FinishEntry"}
    outcomes = [str(e.outcome) for e in parsed if isinstance(e, FinishEntry)]
    assert "superseded" in outcomes and "rolled back" in outcomes, outcomes
    gate = [e for e in parsed if isinstance(e, StepEntry) and e.step is StepName.GATE]
    assert any(e.status is StepStatus.FAILED and e.findings and e.diff for e in gate)
    assert any(isinstance(e, ResumeEntry) and e.interrupted for e in parsed)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return seed_remote(tmp_path / "origin")


@pytest.mark.usefixtures("fake_cloud")
def test_a_git_record_round_trips(remote: Path, tmp_path: Path) -> None:
    author, release_id = setup(remote, tmp_path)
    assert fake(author, release_id, "--to", "dev") == EXIT_OK
    stored = [e.stored() for e in GitState(author).entries()]
    parsed = assert_round_trip(stored, [entry_line(e) for e in stored])
    start = next(e for e in parsed if isinstance(e, StartEntry))
    assert start.runner and start.governance, "the git record says who ran it, under what"


def test_an_unknown_entry_is_refused_with_its_seq():
    with pytest.raises(EntryError, match="entry 7: not a 'launch' entry"):
        parse_entry({"seq": 7, "step": "launch", "promotion": "p"})


def test_chain_refuses_an_entry_that_would_not_read_back_as_stored(monkeypatch) -> None:
    """``ledger.chain`` hands out the typed entry whose stored form the record writes and
    indexes. Should reading an entry ever lose or change a field (a parser bug), the entry
    handed out would differ from the line written: it is refused, not chained."""
    from pipeline.promote import ledger
    from pipeline.promote.entries import EntryError, read_entry
    from pipeline.promote.stage_record import EntryRef
    from tests.promote.typed_entries import to_append

    new = to_append({"stage": "dev", "step": "verify", "status": "completed"})
    first = ledger.chain(new, None, record="c0ffee")
    assert (first.seq, first.stored()["record"]) == (0, "c0ffee")
    second = ledger.chain(new, EntryRef(first.seq, first.hash))
    assert (second.seq, second.stored()["prev"]) == (1, first.hash)
    lossy = lambda stored: read_entry({k: v for k, v in stored.items() if k != "record"})  # noqa: E731
    monkeypatch.setattr(ledger, "read_entry", lossy)
    with pytest.raises(EntryError, match="does not read back"):
        ledger.chain(new, None, record="c0ffee")
