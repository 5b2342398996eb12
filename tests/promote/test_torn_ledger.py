"""A torn last ledger line (power loss in the middle of an append) does not block promotion.

A ``--state-dir`` is a git record now (pipeline.record.local), whose appends are commits and
cannot tear; a directory of the old layout can still hold a torn ``ledger.jsonl``. The tear is
made for real in such a directory (the bytes an append would write are written, then the file
is truncated in the middle of that line); its one-time import cuts the torn line off, as the
next append of the old layout did, so the read-only commands work on the complete lines and the
next promotion appends after them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.definition import load_pipeline
from pipeline.promote.ledger import Ledger, chain_entry, entry_line
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request
from pipeline.promote.release import make_release
from pipeline.promote.verification import HealthCheck
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import SERVICES, images
from tests.promote.fakes import FileDeployer, HealthServer
from tests.promote.record_reader import ledger_entries, ledger_lines, record
from tests.promote.typed_entries import stored, to_append
from tests.record.old_layout import OldDirectory


def tear_an_append(ledger: Ledger) -> bytes:
    """Write the next entry's line and cut the file in the middle of it; returns the part
    left on disk."""
    line = entry_line(chain_entry({"step": "note", "detail": "torn"}, stored(ledger.entries())[-1]))
    size = ledger.path.stat().st_size
    with ledger.path.open("ab") as handle:
        handle.write(line)
    os.truncate(ledger.path, size + len(line) // 2)
    return line[: len(line) // 2]


def test_a_torn_last_line_is_cut_off_by_the_import_then_the_next_promotion_appends(
    cloud: FileDeployer,
    health: HealthServer,
    stacks_copy: Path,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = state_dir.parent / "old"
    release = make_release(PROJECT_DIR, images("a"))
    double = OldDirectory(old)  # the old directory layout
    double.save_release(release)
    double.append(to_append({"step": "start", "release": release.id}))
    double.append(to_append({"step": "finish", "release": release.id, "outcome": "promoted"}))
    ledger = Ledger(old / "ledger.jsonl")
    entries = stored(ledger.entries())
    torn = tear_an_append(ledger)
    assert not ledger.path.read_bytes().endswith(b"\n")
    records = state_dir.parent / "records"  # the fake cloud stays in state_dir
    shutil.copytree(old, records)

    common = ["--state-dir", str(records), "--repo", str(PROJECT_DIR)]
    for command in (["history"], ["status", "--offline"], ["metrics"], ["ledger", "verify"]):
        capsys.readouterr()
        assert main([*command, *common]) == EXIT_OK, command
        err = capsys.readouterr().err
        assert "Traceback" not in err, (command, err)
    capsys.readouterr()
    assert main(["ledger", "verify", "--json", *common]) == EXIT_OK
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["problems"] == [] and result["entries"] == len(entries), result
    assert (records / "ledger.jsonl.imported").read_bytes().endswith(torn), "kept as it was"

    orchestrator = Orchestrator(
        cloud,
        load_pipeline(stacks_copy),
        record(records),
        verify=HealthCheck(timeout=0.6, interval=0.05),
        services=frozenset(SERVICES),
    )
    outcome = orchestrator.promote(Request(release.id, "dev"))
    assert outcome.code == EXIT_OK, outcome.message
    check = record(records).verify()
    assert check.ok and not check.notes, check
    kept = b"".join(ledger_lines(records))
    assert torn not in kept, "the torn bytes were cut off"
    after = ledger_entries(records)
    assert after[: len(entries)] == entries and after[len(entries)]["step"] == "start"
