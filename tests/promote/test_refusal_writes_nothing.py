"""A refused promotion writes nothing: the state directory (every file, byte for byte) is the
same before and after, and no lock or guard file is created (the git remote's refs:
tests/promote/test_shared_state.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, Orchestrator, Request
from pipeline.promote.release import Release
from tests.promote.fakes import FileDeployer


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize(
    ("target", "approver", "rollback", "why"),
    [
        ("live", None, False, "requires approval"),
        ("live", "alice", False, "soaks a release 60 min"),  # a walk cannot cross a soak
        ("dev", None, True, "never verified in dev"),  # a rollback only to what ran there
    ],
)
def test_a_refusal_leaves_the_state_dir_as_it_was(
    orchestrator: Callable[..., Orchestrator],
    make_release_in: Callable[..., Release],
    state_dir: Path,
    cloud: FileDeployer,
    target: str,
    approver: str | None,
    rollback: bool,
    why: str,
) -> None:
    first = make_release_in("a")
    assert orchestrator().promote(Request(first.id, "dev")).code == EXIT_OK
    second = make_release_in("b")
    shutil.rmtree(state_dir / "locks", ignore_errors=True)  # an earlier run's empty lock dir
    before = snapshot(state_dir)
    request = Request(second.id, target, approver=approver, rollback=rollback)
    outcome = orchestrator().promote(request)
    assert outcome.code == EXIT_INVALID and why in outcome.message, outcome.message
    assert snapshot(state_dir) == before
    assert not (state_dir / "locks").exists(), "no lock (nor lock guard) was created"


def test_a_successful_promotion_leaves_no_lock_behind(
    orchestrator: Callable[..., Orchestrator],
    make_release_in: Callable[..., Release],
    state_dir: Path,
) -> None:
    release = make_release_in("c")
    assert orchestrator().promote(Request(release.id, "dev")).code == EXIT_OK
    assert list((state_dir / "locks").iterdir()) == [], "lock released, no guard file"
