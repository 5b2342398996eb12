"""Plan output that fits: no line over the width at 80 and 100 columns, values never cut,
Markdown tables GitHub can render, colour and progress only on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from pipeline import report, terminal
from pipeline.plan import make_plan

PROJECT_DIR = Path(__file__).resolve().parent.parent
ESCAPE = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def plan():
    """Every stage of both pipelines and the local one: the widest output there is."""
    return make_plan(PROJECT_DIR, PROJECT_DIR / "stacks")


@pytest.mark.parametrize("width", [80, 100, 160])
def test_no_line_is_wider_than_the_width(plan, width):
    text = report.table(plan, width)
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert too_wide == [], f"{len(too_wide)} lines over {width}: {too_wide[:3]}"
    assert "…" not in text, "a value was cut"
    assert not ESCAPE.search(text), "no colour unless asked"


@pytest.mark.parametrize("width", [80, 100, 200])
def test_every_differing_value_is_shown_whole(plan, width):
    """Azure's cpu and memory rows once looked identical because values were cut."""
    text = report.table(plan, width)
    shown = [r for r in plan.parity.rows if r.verdict != "identity"]
    assert shown
    for row in shown:
        for value in {report._value(v) for v in row.values.values()}:
            if len(value) <= 24:  # longer ones fold over lines, still whole
                assert re.search(rf"(^|\s){re.escape(value)}(\s|$)", text, re.M), (
                    row.resource,
                    row.property,
                    value,
                )


def test_the_table_counts_what_the_json_lists(plan):
    text = report.table(plan, 240)
    for stack, render in plan.renders.items():
        custom = sum(1 for r in render.resources if r["custom"])
        expected = f"{len(render.resources)}: {custom} cloud, {len(render.resources) - custom}"
        row = next(line for line in text.splitlines() if line.startswith(f"{stack} "))
        assert expected in row, (stack, row)


def test_a_wide_terminal_gets_one_column_per_stage(plan):
    wide = report.table(plan, 240)
    header = next(
        line for line in wide.splitlines() if "azure-staging" in line and "verdict" in line
    )
    assert header.split()[:3] == ["resource", "/", "property"]
    narrow = report.table(plan, 80)
    assert "value per stage" in narrow


def _cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))


def test_markdown_tables_have_one_cell_per_column(plan):
    text = report.markdown(plan)
    assert "…" not in text
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            widths = {_cells(row) for row in table}
            assert len(widths) == 1, table[:3]
            assert re.fullmatch(r"\|(---\|)+", table[1]), table[1]
        table = []


def test_markdown_escapes_a_pipe_in_a_value():
    assert report._md_code("a|b") == r"`a\|b`"
    assert report._md_code({"k": "`x`"}) == '`` {"k": "`x`"} ``'


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    leader, follower = pty.openpty()
    # A terminal window 90 columns wide (a fresh pty reports 0, which width_for reads as 100).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 90, 0, 0))
    try:
        with os.fdopen(os.dup(follower), "w") as tty:
            monkeypatch.delenv("NO_COLOR", raising=False)
            assert terminal.wants_color(tty)
            assert terminal.width_for(None, tty) == os.get_terminal_size(follower).columns == 90
            monkeypatch.setenv("NO_COLOR", "1")
            assert not terminal.wants_color(tty)
    finally:
        os.close(leader)
        os.close(follower)
    with open(os.devnull, "w") as pipe:
        assert not terminal.wants_color(pipe)
        monkeypatch.delenv("COLUMNS", raising=False)
        assert terminal.width_for(None, pipe) == 100
        assert terminal.width_for(72, pipe) == 72
        monkeypatch.setenv("COLUMNS", "132")  # a pipe from a wide window: COLUMNS=$COLUMNS
        assert terminal.width_for(None, pipe) == 132
        assert terminal.width_for(72, pipe) == 72
        monkeypatch.setenv("COLUMNS", "7")  # too narrow to lay out: the default
        assert terminal.width_for(None, pipe) == 100


def test_progress_goes_to_a_terminal_stderr_and_never_into_stdout():
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm", COLUMNS="100")
    env.pop("NO_COLOR", None)
    done = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "plan", "--stack", "dev", "--format", "json"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    seen = bytearray()

    def drain() -> None:  # a pty holds a few kB: read it while the plan runs
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the plan closed its end
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = done.communicate(timeout=300)
    reader.join(timeout=30)
    os.close(leader)
    assert done.returncode == 0
    assert b"rendering stages" in seen or b"checking policy" in seen, bytes(seen[-500:])
    assert b"\x1b[" not in out
