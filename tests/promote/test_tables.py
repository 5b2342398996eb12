"""history and metrics as tables: they fit 80 and 100 columns, keep every value whole, and
never print Python's ``None`` (a measure with nothing to measure says why)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cli import main
from pipeline.promote.history import LedgerView
from pipeline.promote.insight import metrics
from pipeline.promote.tables import history_table, metrics_table
from tests.promote.typed_entries import filled, to_append, typed_all

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
    result = metrics(LedgerView(typed_all(LEDGER)), "live", {}, now=NOW, days=30)
    text = " ".join(metrics_table(result, width).split())
    assert "change failure rate 100.0%" in text
    assert "time to restore (median) 0.33 h" in text, text
    assert "None" not in text


@pytest.mark.parametrize("width", [80, 100])
def test_history_fits_and_keeps_values_whole(width: int) -> None:
    text = history_table(typed_all(LEDGER), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert text.count("d") - history_table(typed_all(LEDGER[:1]), width).count("d") >= 140
    for entry in LEDGER:
        assert str(entry["time"])[:16].replace("T", " ") in text, entry
        if width >= 100:  # narrower, a release id may fold over two lines, still whole
            assert str(entry["release"]) in text, entry
    # rows 3 and 4: eight b in the release id, one in "(rollback)"
    assert text.count("b") - history_table(typed_all(LEDGER[:2]), width).count("b") == 2 * (8 + 1)
    assert "(rollback)" in text


def test_metrics_command_never_prints_none(stacks_copy, state_dir, capsys) -> None:
    args = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    assert main(["metrics", "--stage", "live", *args]) == 0
    out = capsys.readouterr().out
    assert "None" not in out and "n/a:" in out
    assert main(["history", *args]) == 0
    assert "None" not in capsys.readouterr().out


# ------------------------------------------------------------------------------ status

A, B = "r-20261122-aaaaaaaa", "r-20261121-aaaaaaab"  # differ in their last characters only
UNREADABLE = "the stack's outputs cannot be read: " + "pulumi stack output failed " * 3


def _verified(seq: int, stage: str, release: str, minutes_ago: int) -> dict[str, object]:
    return _entry(seq, "verify", "completed", minutes_ago, stage=stage, kind="forward",
                  release=release)  # fmt: skip


def _status_rows() -> list:
    """insight.status over the shipped aws pipeline: A soaking in staging, live unreadable."""
    from pipeline.definition import load_pipeline
    from pipeline.promote.insight import status
    from tests.conftest import STACKS_DIR

    ledger = [_verified(i + 1, s, B, 3000 - i * 100) for i, s in enumerate(STAGES)]
    ledger += [_verified(5 + i, s, A, 50 - i * 15) for i, s in enumerate(STAGES[:3])]

    def outputs(stack: str) -> dict[str, str]:
        if stack == "live":
            raise RuntimeError(UNREADABLE)
        return {"release": A}

    return status(
        load_pipeline(STACKS_DIR).pipelines["aws"], outputs, LedgerView(typed_all(ledger)), NOW
    )


STAGES = ["dev", "test", "staging", "live"]


def _whole_times(text: str, rows: list) -> None:
    """Every verification time is on one line, as the JSON's or to the minute, never folded."""
    lines = text.splitlines()
    for row in rows:
        iso = row.verified.split(" at ")[1]
        minute = f"{iso[:10]} {iso[11:16]}"
        assert any(iso in line or minute in line for line in lines), (iso, text)


@pytest.mark.parametrize("width", [80, 100])
def test_status_fits_and_keeps_values_whole(width: int) -> None:
    from pipeline.promote.tables import status_table

    rows = _status_rows()
    assert rows[-1].next_release == A and "min left" in rows[-1].next_verdict, rows[-1]
    text = status_table(rows, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, text
    assert "None" not in text and "…" not in text
    for release in (A, B):  # releases that differ by a character stay whole on their lines
        assert sum(line.count(release) for line in lines) >= 1, (release, text)
    assert sum(line.count(A) for line in lines) == 3 + 3 + 2, text  # runs, verified, next
    _whole_times(text, rows)
    # The live row's long cells, read back column by column, hold every word in order.
    live = lines[lines.index(next(line for line in lines if line.startswith("live"))) :]
    assert _column(lines[0], live, "runs", "last verified") == f"(unreadable: {UNREADABLE})"
    assert _column(lines[0], live, "next", None) == f"{A}: {rows[-1].next_verdict}"


def _column(header: str, lines: list[str], name: str, following: str | None) -> str:
    """The text of one column in ``lines``, its words joined by single spaces."""
    start = header.index(name)
    end = header.index(following) if following else None
    return " ".join(" ".join(line[start:end] for line in lines).split())


@pytest.mark.parametrize("width", [80, 100])
def test_status_on_a_terminal_fits_the_terminal(width: int, stacks_copy, state_dir) -> None:
    """The real command on a pty of that width: the table takes the terminal's width."""
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_DIR
    from tests.promote.record_reader import record
    from tests.ttys import Terminal

    ledger = record(state_dir)
    for entry in [_verified(0, s, B, 100) for s in STAGES]:
        ledger.append(to_append({k: v for k, v in filled(entry).items() if k != "seq"}))
    where = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    terminal = Terminal(columns=width)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "status", "--offline", *where],
            cwd=PROJECT_DIR,
            env=dict(os.environ, NO_COLOR="1", TERM="xterm"),
            stdout=terminal.follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        terminal.close_follower()
    text = terminal.finish().replace("\r\n", "\n")
    assert done.returncode == 0, done.stderr
    lines = text.splitlines()
    assert lines and max(len(line) for line in lines) <= width, text
    assert sum(line.count(B) for line in lines) == 4 + 3, text  # last verified; next (not dev)
    assert [line.split()[0] for line in lines[2:] if line[:1].strip()] == STAGES, text
    iso = str(_verified(0, "dev", B, 100)["time"])
    assert any(iso in line or f"{iso[:10]} {iso[11:16]}" in line for line in lines), text


@pytest.mark.parametrize("width", [80, 100])
def test_stages_without_json_is_a_table_that_fits(width: int, capsys, monkeypatch) -> None:
    monkeypatch.setattr("pipeline.terminal.width_for", lambda requested, stream=None: width)
    assert main(["stages"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "None" not in "\n".join(lines)
    rows = {line.split()[0]: line.split()[1:] for line in lines if line[:1].strip()}
    assert rows["aws"] == ["aws", "staging", "live", "-", "60", "min"]
    assert rows["azure-live"] == ["live", "azure", "azure"]


@pytest.mark.parametrize(("reported", "fitted"), [(0, 100), (10, 20), (80, 80), (100, 100)])
def test_a_terminal_narrower_than_20_columns_gets_20(
    reported: int, fitted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pty that reports 0 columns (a fresh one, some CI runners) gets the pipe width."""
    import os

    monkeypatch.delenv("COLUMNS", raising=False)  # the pipe width is COLUMNS when it is set

    from pipeline.terminal import width_for
    from tests.ttys import Terminal

    terminal = Terminal(columns=reported)
    with os.fdopen(os.dup(terminal.follower), "w") as tty:
        assert width_for(None, tty) == fitted
    terminal.close_follower()
    terminal.finish(timeout=5)


def test_release_list_is_a_table_and_nothing_yet_says_so(
    stacks_copy, state_dir, make_release_in, capsys
) -> None:
    where = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    for command in (["release", "list"], ["history"], ["history", "--stage", "dev"]):
        assert main([*command, *where]) == 0
        out, err = capsys.readouterr()
        assert out == "", (command, out)  # what a script reads stays empty
        assert "yet" in err and "None" not in err, (command, err)
    release = make_release_in("a")
    assert main(["release", "list", *where]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["release", "created", "(UTC)", "commit", "policy", "pack"]
    assert lines[2].split()[:2] == [release.id, release.created[:10]]
    assert lines[2].split()[3:] == [release.commit[:12], release.policy_pack]
