"""Ctrl-C (or SIGTERM) during ``diff`` stops its renders at once. They run in their own
sessions (so that stopping one stops its stage processes), which also means the terminal's
SIGINT reaches only the diff itself: it must stop them, not wait for them to finish."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import as_from_a_terminal
from tests.diff.conftest import DiffRepo


def _renders_of(parent: int) -> list[int]:
    """The ``pipeline plan`` processes ``parent`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid"))
        if ppid == parent and b"pipeline" in command and b"plan" in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_stops_both_renders_before_they_finish(
    diff_repo: DiffRepo, tmp_path: Path, signum: signal.Signals
) -> None:
    """Ctrl-C, or the SIGTERM a cancelled CI job gets after it, both end the same way."""
    cache = tmp_path / "cache"
    diff = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "diff", "--base", diff_repo.commits["scale"],
         "--stack", "dev", "--stack", "test", "--cache-dir", str(cache)],
        cwd=diff_repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=as_from_a_terminal,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        renders: list[int] = []
        while len(renders) < 2 and diff.poll() is None and time.monotonic() < deadline:
            renders = _renders_of(diff.pid)
            time.sleep(0.05)
        assert len(renders) == 2, "the diff never started both renders"
        diff.send_signal(signum)
        _, err = diff.communicate(timeout=120)
    finally:
        if diff.poll() is None:
            diff.kill()
    assert diff.returncode == 130 and err.strip().endswith("diff: interrupted"), err
    assert not any(_alive(pid) for pid in renders)
    # Stopped, not finished: neither render got as far as storing a stage.
    stored = [p for p in cache.rglob("*.json") if "plans" not in p.parts]
    assert stored == [], stored
