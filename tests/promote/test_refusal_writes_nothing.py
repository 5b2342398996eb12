"""A refused promotion writes nothing: the state directory's git record keeps every ref where it
was (no entry, no lock taken), and every other file of the directory is the same byte for byte
(the shared git remote's refs: tests/promote/test_shared_state.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, Orchestrator, Request
from pipeline.promote.release import Release
from pipeline.record.local import BARE, CLONE
from tests.promote.fakes import FileDeployer
from tests.promote.record_reader import lock_holder, record, record_refs


def snapshot(root: Path) -> dict[str, bytes]:
    """The record's refs, and the directory's other files (the fake cloud's)."""
    files = {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
        if p.relative_to(root).parts[0] not in (BARE, CLONE)
    }
    return {**files, **{ref: sha.encode() for ref, sha in record_refs(root).items()}}


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
    before = snapshot(state_dir)
    assert any(ref.startswith("refs/heads/") for ref in before), "the record is in the snapshot"
    request = Request(second.id, target, approver=approver, rollback=rollback)
    outcome = orchestrator().promote(request)
    assert outcome.code == EXIT_INVALID and why in outcome.message, outcome.message
    assert snapshot(state_dir) == before
    assert lock_holder(state_dir, "aws") is None, "no lock was taken"


def test_a_successful_promotion_leaves_no_lock_behind(
    orchestrator: Callable[..., Orchestrator],
    make_release_in: Callable[..., Release],
    state_dir: Path,
) -> None:
    release = make_release_in("c")
    assert orchestrator().promote(Request(release.id, "dev")).code == EXIT_OK
    assert lock_holder(state_dir, "aws") is None, "lock released"
    assert record(state_dir).list_dir("locks") == [], "no lock file left in the record"
