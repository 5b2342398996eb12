"""Kill a promotion with SIGKILL at random points; the ledger must verify and the next run must
resume and finish the promotion without repeating a completed step. Also: a second promotion
of the same pipeline is refused while one runs."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import EXIT_BUSY, EXIT_OK, Orchestrator, Request
from pipeline.promote.release import ReleaseStore, make_release
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.fakes import FileDeployer, state_verifier
from tests.promote.record_reader import entry_count, ledger_entries, lock_holder, record
from tests.promote.typed_entries import stored

RUNS = 30
STEP_DELAY = 0.01  # per deployer call: spreads the kill points over every step
WALK = ("dev", "test", "staging")


def start_runner(stacks: Path, state: Path, release: str, delay: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.promote.runner",
            str(stacks),
            str(state),
            release,
            "staging",
            str(delay),
        ],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def seed(base: Path, index: int, release_dir: Path) -> tuple[Path, Path]:
    root = base / f"run{index}"
    shutil.copytree(base / "template", root)
    return root / "stacks", root / "state"


def one_run(base: Path, index: int, release: str, total: int) -> str:
    """Kill the runner once the ledger holds a random number of its entries, then a random
    moment into the next step: kill points follow the promotion's progress, not the clock, so
    a loaded machine (slower runs) moves them no earlier or later in the walk."""
    stacks, state = seed(base, index, base)
    chance = random.Random(index)
    after = chance.randint(0, total - 1)
    process = start_runner(stacks, state, release, STEP_DELAY)
    deadline = time.monotonic() + 120
    while entry_count(state) < after and process.poll() is None:
        assert time.monotonic() < deadline, f"run {index}: no progress in 120 s"
        time.sleep(0.002)
    time.sleep(chance.uniform(0, 3 * STEP_DELAY))
    process.send_signal(signal.SIGKILL)
    process.wait()
    ledger = record(state)
    check = ledger.verify()
    assert check.ok, f"run {index}: {check.problems}"
    cloud = FileDeployer(stacks, state)
    orchestrator = Orchestrator(cloud, load_pipeline(stacks), ledger, verify=state_verifier(cloud))
    outcome = orchestrator.promote(Request(release, "staging"))
    assert outcome.code == EXIT_OK, f"run {index}: {outcome.message}"
    assert [cloud.runs(s) for s in WALK] == [release] * 3, f"run {index}"
    entries = stored(ledger.entries())
    assert ledger.verify().ok, f"run {index}"
    assert len([e for e in entries if e["step"] == "start"]) == 1, f"run {index}: one promotion"
    finishes = [e["outcome"] for e in entries if e["step"] == "finish"]
    assert finishes == ["promoted"], f"run {index}: {finishes}"
    for stage in WALK:
        done = [
            e["step"] for e in entries if e.get("stage") == stage and e.get("status") == "completed"
        ]
        where = f"run {index}: urn:pulumi:{stage}::stageline: completed steps {done}"
        # Completed steps are not repeated; only preview and its gate run again after an
        # interruption before `up`, because a saved plan is not trusted across one.
        assert [done.count(s) for s in ("set-images", "up", "verify")] == [1, 1, 1], where
        assert done.count("preview") >= done.count("gate") >= 1, where
        assert done.index("up") > max(i for i, s in enumerate(done) if s == "preview"), where
    assert lock_holder(state, "aws") is None, f"run {index}: lock left behind"
    resumed = any(e["step"] == "resume" for e in entries)
    return "resumed" if resumed else "fresh"


def test_sigkill_at_random_points_then_resume(tmp_path: Path, stacks_copy: Path):
    template = tmp_path / "template"
    shutil.copytree(stacks_copy, template / "stacks")
    # The template holds its release as the old directory layout: each run's first process
    # imports it into the directory's git record (pipeline.record.local).
    release, _ = ReleaseStore(template / "state").save(make_release(PROJECT_DIR, images("k")))
    FileDeployer(template / "stacks", template / "state")  # the fake cloud, before any run

    # How many ledger entries an uninterrupted promotion writes: the range of kill points.
    stacks, state = seed(tmp_path, -1, tmp_path)
    process = start_runner(stacks, state, release.id, STEP_DELAY)
    assert process.wait() == EXIT_OK
    total = entry_count(state)
    assert total > 3, total

    with ThreadPoolExecutor(4) as pool:
        kinds = list(pool.map(lambda i: one_run(tmp_path, i, release.id, total), range(RUNS)))
    # Most kills land mid-promotion; a few before its first entry or after its last step.
    assert kinds.count("resumed") >= RUNS // 3, kinds


def test_a_concurrent_promotion_is_refused(tmp_path: Path, stacks_copy: Path):
    state = tmp_path / "state"
    release, _ = record(state).save_release(make_release(PROJECT_DIR, images("c")))
    FileDeployer(stacks_copy, state)
    slow = start_runner(stacks_copy, state, release.id, 0.5)
    try:
        deadline = time.monotonic() + 20
        while lock_holder(state, "aws") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        cloud = FileDeployer(stacks_copy, state)
        second = Orchestrator(cloud, load_pipeline(stacks_copy), record(state))
        outcome = second.promote(Request(release.id, "dev"))
        assert outcome.code == EXIT_BUSY, outcome.message
        assert f"pid {slow.pid}" in outcome.message and "host" in outcome.message
    finally:
        slow.kill()
        slow.wait()
    # Its owner is gone now: the lock is stale and the next promotion takes it over.
    notes: list[str] = []
    third = Orchestrator(
        FileDeployer(stacks_copy, state),
        load_pipeline(stacks_copy),
        record(state),
        verify=state_verifier(FileDeployer(stacks_copy, state)),
        events=lambda e, **f: notes.append(str(f.get("message"))),
    )
    assert third.promote(Request(release.id, "dev")).code == EXIT_OK
    assert any(f"stale lock of pid {slow.pid}" in n for n in notes), notes
    assert ledger_entries(state), "the promotion was recorded"
