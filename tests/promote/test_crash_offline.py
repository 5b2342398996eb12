"""Kill ``promote --deployer offline`` with SIGKILL right after each of its first 20 events (after
set-images, mid-preview, after up, ...), then run the same command again: it must converge, as
with the test deployer (test_crash_git.py). The offline deployer pins the release in a private
copy that dies with the process, so a resume that skipped set-images used to preview the stage
back to ``bootstrap`` and stop at the gate (issue 23)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.orchestrator import EXIT_OK
from pipeline.record.state import GitState
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.typed_entries import stored

KILL_POINTS = range(1, 21)  # after the k-th JSON event of a dev -> test walk (21 events in all)
WALK = ("dev", "test")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A remote and a clone holding one release; each kill point runs on a copy of both."""
    base = tmp_path_factory.mktemp("crash-offline")
    remote = seed_remote(base)
    repo = clone(remote, base / "clone")
    pairs = [f"--image={s}={i}" for s, i in images("c").items()]
    assert main(["release", "create", *pairs, "--repo", str(repo)]) == EXIT_OK
    [release] = GitState(repo).releases.all()
    return base, release.id


def _promote(repo: Path, release: str) -> list[str]:
    return ["promote", release, "--to", WALK[-1], "--deployer", "offline", "--repo", str(repo)]


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_a_killed_offline_promotion_resumes_and_converges(
    template: tuple[Path, str], tmp_path: Path, kill_after: int
) -> None:
    base, release = template
    shutil.copytree(base / "remote.git", tmp_path / "remote.git")
    shutil.copytree(base / "clone", tmp_path / "clone", symlinks=True)
    repo = tmp_path / "clone"
    git(repo, "remote", "set-url", "origin", str(tmp_path / "remote.git"))

    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *_promote(repo, release), "--json"],
        cwd=PROJECT_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "GITHUB_ACTIONS": ""},
    )
    assert process.stdout is not None
    seen = [json.loads(process.stdout.readline() or "{}") for _ in range(kill_after)]
    process.send_signal(signal.SIGKILL)
    process.wait()
    where = f"killed after event {kill_after} ({seen[-1].get('step')} {seen[-1].get('status')})"

    assert main(_promote(repo, release)) == EXIT_OK, where
    fresh = GitState(clone(tmp_path / "remote.git", tmp_path / "fresh", checkout=False))
    assert fresh.verify().ok, f"{where}: {fresh.verify().problems}"
    entries = stored(fresh.entries())
    assert len([e for e in entries if e["step"] == "start"]) == 1, where
    assert [e["outcome"] for e in entries if e["step"] == "finish"] == ["promoted"], where
    for stage in WALK:
        done = [
            e["step"] for e in entries if e.get("stage") == stage and e.get("status") == "completed"
        ]
        assert [done.count(s) for s in ("set-images", "up", "verify")] == [1, 1, 1], where
        record = fresh.stage_record(stage)
        assert record is not None and record.release == release, where
    gates = [e for e in entries if e.get("step") == "gate"]
    assert gates and all(e["status"] == "completed" for e in gates), f"{where}: {gates}"
    assert main(["ledger", "verify", "--repo", str(repo)]) == EXIT_OK, where
