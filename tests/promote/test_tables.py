"""history and metrics as tables: they fit 80 and 100 columns, keep every value whole, and
never print Python's ``None`` (a measure with nothing to measure says why)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cli import main
from pipeline.promote.history import LedgerView
from pipeline.promote.insight import metrics
from pipeline.promote.tables import history_table, metrics_table

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _entry(seq: int, step: str, status: str, minutes_ago: int, **fields: str) -> dict[str, object]:
    time = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {"seq": seq, "time": time, "step": step, "status": status, **fields}


LEDGER = [
    _entry(1, "up", "started", 50, stage="live", kind="forward", release="r-20261122-aaaaaaaa"),
    _entry(2, "up", "failed", 40, stage="live", kind="forward", release="r-20261122-aaaaaaaa",
           detail="the update failed: " + "d" * 140),
    _entry(3, "up", "completed", 30, stage="live", kind="rollback", release="r-20261121-bbbbbbbb"),
    _entry(4, "verify", "completed", 20, stage="live", kind="rollback",
           release="r-20261121-bbbbbbbb"),
]  # fmt: skip


@pytest.mark.parametrize("width", [80, 100])
def test_metrics_with_nothing_to_measure_say_why(width: int) -> None:
    result = metrics(LedgerView([]), "live", {}, now=NOW, days=30)
    assert None in result.values(), "the case must have empty measures"
    text = metrics_table(result, width)
    assert "None" not in text
    assert "n/a: nothing was deployed in the window" in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= width


@pytest.mark.parametrize("width", [80, 100])
def test_metrics_of_a_failure_and_its_restore(width: int) -> None:
    result = metrics(LedgerView(LEDGER), "live", {}, now=NOW, days=30)
    text = " ".join(metrics_table(result, width).split())
    assert "change failure rate 100.0%" in text
    assert "time to restore (median) 0.33 h" in text, text
    assert "None" not in text


@pytest.mark.parametrize("width", [80, 100])
def test_history_fits_and_keeps_values_whole(width: int) -> None:
    text = history_table(LEDGER, width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert text.count("d") - history_table(LEDGER[:1], width).count("d") >= 140
    for entry in LEDGER:
        assert str(entry["time"])[:16].replace("T", " ") in text, entry
        if width >= 100:  # narrower, a release id may fold over two lines, still whole
            assert str(entry["release"]) in text, entry
    # rows 3 and 4: eight b in the release id, one in "(rollback)"
    assert text.count("b") - history_table(LEDGER[:2], width).count("b") == 2 * (8 + 1)
    assert "(rollback)" in text


def test_metrics_command_never_prints_none(stacks_copy, state_dir, capsys) -> None:
    args = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    assert main(["metrics", "--stage", "live", *args]) == 0
    out = capsys.readouterr().out
    assert "None" not in out and "n/a:" in out
    assert main(["history", *args]) == 0
    assert "None" not in capsys.readouterr().out
