"""diff shows progress on a terminal's stderr as each revision is ready, and none elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.diff.conftest import DiffRepo
from tests.ttys import Terminal


def _diff(repo: DiffRepo, cache: Path, stderr: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TERM="xterm", COLUMNS="100")
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "pipeline", "diff", "--format", "json", "--stack", "dev"]
    command += ["--base", repo.commits["base"], "--head", repo.commits["scale"]]
    command += ["--cache-dir", str(cache)]
    return subprocess.Popen(command, cwd=repo.path, env=env, stdout=subprocess.PIPE, stderr=stderr)


def test_revisions_rendered_show_on_a_terminal_and_never_in_stdout(
    diff_repo: DiffRepo, tmp_path: Path
) -> None:
    terminal = Terminal()
    running = _diff(diff_repo, tmp_path / "cache", terminal.follower)
    terminal.close_follower()
    out, _ = running.communicate(timeout=600)
    text = terminal.finish()
    assert running.returncode == 0, text[-500:]
    assert "rendering revisions" in text, text[-500:]
    assert b"\x1b[" not in out


def test_no_progress_when_stderr_is_not_a_terminal(diff_repo: DiffRepo, tmp_path: Path) -> None:
    running = _diff(diff_repo, tmp_path / "cache", subprocess.PIPE)
    _, err = running.communicate(timeout=600)
    assert running.returncode == 0, err.decode()
    assert b"rendering revisions" not in err and b"\x1b[" not in err
