"""A torn last ledger line (power loss in the middle of an append) does not block promotion:
read-only commands report it, and the next append cuts it off, as the ledger's docs say.

The tear is made for real: the bytes an append would write are written, then the file is
truncated in the middle of that line, and the head still names the entry before it (the
append was never acknowledged)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.ledger import Ledger, chain_entry, entry_line
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request
from pipeline.promote.release import Release
from tests.conftest import PROJECT_DIR
from tests.promote.typed_entries import stored


def tear_an_append(ledger: Ledger) -> bytes:
    """Write the next entry's line and cut the file in the middle of it; returns the part
    left on disk."""
    line = entry_line(chain_entry({"step": "note", "detail": "torn"}, stored(ledger.entries())[-1]))
    size = ledger.path.stat().st_size
    with ledger.path.open("ab") as handle:
        handle.write(line)
    os.truncate(ledger.path, size + len(line) // 2)
    return line[: len(line) // 2]


def test_a_torn_last_line_is_reported_then_repaired_by_the_next_promotion(
    orchestrator: Callable[..., Orchestrator],
    make_release_in: Callable[..., Release],
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = make_release_in("a")
    assert orchestrator().promote(Request(first.id, "dev")).code == EXIT_OK
    ledger = Ledger(state_dir / "ledger.jsonl")
    entries = len(stored(ledger.entries()))
    torn = tear_an_append(ledger)
    assert not ledger.path.read_bytes().endswith(b"\n")

    common = ["--state-dir", str(state_dir), "--repo", str(PROJECT_DIR)]
    for command in (["history"], ["status", "--offline"], ["metrics"], ["ledger", "verify"]):
        capsys.readouterr()
        assert main([*command, *common]) == EXIT_OK, command
        err = capsys.readouterr().err
        assert "last line is incomplete" in err and "Traceback" not in err, (command, err)
    capsys.readouterr()
    assert main(["ledger", "verify", "--json", *common]) == EXIT_OK
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["problems"] == [] and "incomplete" in result["notes"][0]

    second = make_release_in("b")
    outcome = orchestrator().promote(Request(second.id, "dev"))
    assert outcome.code == EXIT_OK, outcome.message
    check = ledger.verify()
    assert check.ok and not check.notes, check
    text = ledger.path.read_bytes()
    assert text.endswith(b"\n") and torn not in text, "the torn bytes were cut off"
    assert check.entries > entries and stored(ledger.entries())[entries]["step"] == "start"
