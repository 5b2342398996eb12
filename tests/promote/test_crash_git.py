"""Kill a promotion whose state is on a git remote with SIGKILL at random points (mid-step,
mid-commit, mid-push): the remote's state must verify from a fresh clone, and the next run must
resume and finish without repeating a completed step, leaving the stage branches and the lock
as a clean run would."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request
from pipeline.promote.release import make_release
from pipeline.record.state import GitState
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.fakes import FileDeployer, state_verifier
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.typed_entries import stored

RUNS = 30
STEP_DELAY = 0.01
WALK = ("dev", "test", "staging")


def start(root: Path, release: str) -> subprocess.Popen[str]:
    repo = root / "clone"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.promote.runner"),
            *(str(repo / "stacks"), str(root / "cloud"), release, "staging", str(STEP_DELAY)),
            str(repo),
        ],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def one_run(base: Path, index: int, release: str, window: float) -> str:
    root = base / f"run{index}"
    shutil.copytree(base / "template", root, symlinks=True)
    git(root / "clone", "remote", "set-url", "origin", str(root / "remote.git"))
    process = start(root, release)
    time.sleep(random.Random(index).uniform(0, window))
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(0.05)  # a git push the kill orphaned finishes (or not) on its own

    fresh = clone(root / "remote.git", root / f"fresh{index}", checkout=False)
    check = GitState(fresh).verify()
    assert check.ok, f"run {index}: {check.problems}"

    repo = root / "clone"
    cloud = FileDeployer(repo / "stacks", root / "cloud")
    state = GitState(repo)
    orchestrator = Orchestrator(
        cloud, load_pipeline(repo / "stacks"), state, verify=state_verifier(cloud)
    )
    outcome = orchestrator.promote(Request(release, "staging"))
    assert outcome.code == EXIT_OK, f"run {index}: {outcome.message}"
    assert [cloud.runs(s) for s in WALK] == [release] * 3, f"run {index}"

    after = GitState(clone(root / "remote.git", root / f"after{index}", checkout=False))
    assert after.verify().ok, f"run {index}: {after.verify().problems}"
    entries = stored(after.entries())
    assert [e["seq"] for e in entries] == list(range(len(entries))), f"run {index}"
    assert len([e for e in entries if e["step"] == "start"]) == 1, f"run {index}: one promotion"
    assert [e["outcome"] for e in entries if e["step"] == "finish"] == ["promoted"], f"run {index}"
    for stage in WALK:
        done = [
            e["step"] for e in entries if e.get("stage") == stage and e.get("status") == "completed"
        ]
        where = f"run {index}: urn:pulumi:{stage}::stageline: completed steps {done}"
        assert [done.count(s) for s in ("set-images", "up", "verify")] == [1, 1, 1], where
        record = after.stage_record(stage)
        assert record is not None and record.release == release, where
    assert after.read("locks/aws.json") is None, f"run {index}: lock left behind"
    return "resumed" if any(e["step"] == "resume" for e in entries) else "fresh"


def test_sigkill_at_random_points_with_the_state_on_a_git_remote(tmp_path: Path) -> None:
    template = tmp_path / "template"
    remote = seed_remote(template)
    repo = clone(remote, template / "clone")
    release, _ = GitState(repo).save_release(make_release(repo, images("9")))
    FileDeployer(repo / "stacks", template / "cloud")

    root = tmp_path / "timing"
    shutil.copytree(template, root, symlinks=True)
    git(root / "clone", "remote", "set-url", "origin", str(root / "remote.git"))
    process = start(root, release.id)
    began = time.monotonic()
    assert process.wait() == EXIT_OK
    window = time.monotonic() - began
    print(f"an uninterrupted promotion takes {window:.1f} s")
    assert json.loads((root / "cloud" / "fake-cloud.json").read_text())["stacks"]["staging"]

    # Four at a time: most of a run is waiting on git and on the kill timer, not on a core.
    with ThreadPoolExecutor(4) as pool:
        kinds = list(pool.map(lambda i: one_run(tmp_path, i, release.id, window), range(RUNS)))
    assert kinds.count("resumed") >= RUNS // 3, kinds
