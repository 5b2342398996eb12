"""diff shows progress on a terminal's stderr as each revision is ready, and none elsewhere."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

from tests.diff.conftest import DiffRepo


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
    leader, follower = pty.openpty()
    running = _diff(diff_repo, tmp_path / "cache", follower)
    os.close(follower)
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = running.communicate(timeout=600)
    reader.join(timeout=30)
    os.close(leader)
    assert running.returncode == 0, bytes(seen[-500:])
    assert b"rendering revisions" in seen, bytes(seen[-500:])
    assert b"\x1b[" not in out


def test_no_progress_when_stderr_is_not_a_terminal(diff_repo: DiffRepo, tmp_path: Path) -> None:
    running = _diff(diff_repo, tmp_path / "cache", subprocess.PIPE)
    _, err = running.communicate(timeout=600)
    assert running.returncode == 0, err.decode()
    assert b"rendering revisions" not in err and b"\x1b[" not in err
