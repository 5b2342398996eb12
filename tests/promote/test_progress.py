"""Promotion progress for people: every step's line starts its step and mark in one column; on a
terminal the running step is a spinner (control sequences on stderr), elsewhere there are none;
``--json`` writes events to stdout and nothing to stderr."""

from __future__ import annotations

import io
import os
import re

from pipeline.promote.events import Progress
from tests.ttys import Terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STAGES = ["dev", "azure-staging", "a-very-long-stage-name"]
EVENTS = [
    ("dev", "set-images", "forward", "completed", ""),
    ("dev", "up", "forward", "completed", "3 changed"),
    ("azure-staging", "preview", "forward", "completed", ""),
    ("a-very-long-stage-name", "up", "rollback", "failed", "the update failed"),
    ("a-very-long-stage-name", "set-images", "rollback", "completed", ""),
]


def _feed(progress: Progress) -> None:
    for stage, step, kind, status, detail in EVENTS:
        progress("step", stage=stage, step=step, kind=kind, status="started")
        progress("step", stage=stage, step=step, kind=kind, status=status, detail=detail)
    progress.close()


def _step_starts(lines: list[str]) -> set[int]:
    return {len(line) - len(line.split("]", 1)[1].lstrip()) for line in lines}


def test_off_a_terminal_one_aligned_line_per_step_and_no_control_sequences() -> None:
    stream = io.StringIO()
    _feed(Progress(stream, stages=STAGES))
    text = stream.getvalue()
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert len(lines) == len(EVENTS), lines  # "started" prints nothing
    assert len(_step_starts(lines)) == 1, lines
    marks = {line.index(" ok") if " ok" in line else line.index(" !!") for line in lines}
    assert len(marks) == 1, lines
    assert "up (rollback)" in lines[3] and "the update failed" in lines[3]


def test_on_a_terminal_the_running_step_spins_then_leaves_its_line() -> None:
    terminal = Terminal()
    env = os.environ.get("TERM")
    os.environ["TERM"] = "xterm"
    try:
        with os.fdopen(os.dup(terminal.follower), "w") as tty:
            _feed(Progress(tty, stages=STAGES))
    finally:
        if env is None:
            os.environ.pop("TERM")
        else:
            os.environ["TERM"] = env
        terminal.close_follower()
    text = terminal.finish(timeout=10)
    assert ANSI.search(text), "a terminal gets the spinner's control sequences"
    plain = ANSI.sub("", text).replace("\r", "\n")
    finished = [
        line for line in plain.splitlines() if line.startswith("[") and re.search(r" (ok|!!)", line)
    ]
    assert len(finished) >= len(EVENTS), finished
    assert len(_step_starts(finished)) == 1, finished


FAKE = "tests.promote.fakes:file_deployer"


def test_promote_json_is_silent_on_stderr_and_text_has_no_spinner(
    stacks_copy, state_dir, health, make_release_in, cloud, capsys, monkeypatch
) -> None:
    from pipeline.cli import main

    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    common = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    common += ["--deployer", FAKE, "--health-timeout", "1"]
    release = make_release_in("p")
    assert main(["promote", release.id, "--to", "dev", "--json", *common]) == 0
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    assert captured.out.splitlines()[-1].startswith('{"'), captured.out[-200:]

    other = make_release_in("q")
    assert main(["promote", other.id, "--to", "test", *common]) == 0
    err = capsys.readouterr().err
    assert not ANSI.search(err)
    steps = [line for line in err.splitlines() if line.startswith("[")]
    assert {"dev", "test"} <= {line[1:].split("]")[0] for line in steps}, steps
    assert len(_step_starts(steps)) == 1, steps
