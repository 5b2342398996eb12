"""``--state-dir DIR`` as a git record (pipeline.record.local): appends are commits in
``DIR/record.git``, stage records are files of the state, an old directory is imported once (a
torn last line cut off, a ledger that does not verify refused), a consistent rewrite no longer
verifies, and the lock of a process gone from this host is taken over."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.promote.ledger import chain_entry, entry_line
from pipeline.promote.lock import LockHeldError, lock_owner
from pipeline.promote.stage_record import StageChange
from pipeline.promote.state import StateError, dump
from pipeline.record.local import BARE, LocalGitState
from pipeline.record.refs import IMPORT_TRAILER, STATE_REF
from pipeline.record.trees import commit_paths
from tests.promote.typed_entries import stored, to_append
from tests.record.old_layout import OldDirectory


def change(stack: str, release: str) -> StageChange:
    return StageChange(
        stack, "aws", release, {"api": "sha256:" + "a" * 64}, None, "p1", "promote", None
    )


def fill(state: OldDirectory | LocalGitState) -> None:
    state.append(to_append({"step": "start", "release": "r1"}))
    state.append(
        to_append({"step": "up", "stage": "dev", "status": "completed"}), change("dev", "r1")
    )
    state.append(to_append({"step": "finish", "outcome": "promoted"}))


def test_appends_are_commits_and_stage_records_files_of_the_state(tmp_path: Path) -> None:
    fill(LocalGitState(tmp_path))
    state = LocalGitState(tmp_path)  # a second process: reads the record, not memory
    check = state.verify()
    assert check.ok and check.entries == 3, check
    record = state.stage_record("dev")
    assert record is not None and record.release == "r1" and record.stack == "dev"
    assert record.to_json()["after"]["seq"] == 1
    assert state.stage_record("test") is None and state.source("dev", "r1", None) is None
    with pytest.raises(StateError, match="needs the git state"):
        state.propose(change("test", "r1"))
    log = subprocess.run(
        ["git", "-C", str(tmp_path / BARE), "log", "--format=%s", STATE_REF],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(log) == 3, log
    assert not (tmp_path / "ledger.jsonl").exists()


def test_an_old_directory_is_imported_once_and_a_torn_last_line_cut_off(tmp_path: Path) -> None:
    old = OldDirectory(tmp_path)
    fill(old)
    old.releases.root.mkdir(parents=True, exist_ok=True)
    (old.releases.root / "r1.json").write_text('{"id": "r1"}\n')
    entries = stored(old.entries())
    torn = entry_line(chain_entry({"step": "note"}, entries[-1]))
    with (tmp_path / "ledger.jsonl").open("ab") as handle:
        handle.write(torn[: len(torn) // 2])

    state = LocalGitState(tmp_path)
    assert stored(state.entries()) == entries, "the complete lines, unchanged"
    assert [p.name for p in sorted(tmp_path.glob("*.imported"))] == [
        "ledger.jsonl.imported",
        "releases.imported",
        "stages.imported",
    ]
    assert state.read("releases/r1.json") == b'{"id": "r1"}\n'
    record = state.stage_record("dev")
    assert record is not None and record.release == "r1"
    root = subprocess.run(
        ["git", "-C", str(tmp_path / BARE), "log", "--max-parents=0", "--format=%B", STATE_REF],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"{IMPORT_TRAILER}: 3 {entries[-1]['hash']}" in root, root

    state.append(to_append({"step": "start", "release": "r2"}))  # migrates the import, then appends
    again = LocalGitState(tmp_path)
    check = again.verify()
    assert check.ok and check.entries == 4, check
    assert again.entries()[3].stored()["prev"] == entries[-1]["hash"]


def test_a_ledger_that_does_not_verify_is_not_imported(tmp_path: Path) -> None:
    fill(OldDirectory(tmp_path))
    path = tmp_path / "ledger.jsonl"
    path.write_text(path.read_text().replace('"r1"', '"r9"', 1))
    with pytest.raises(StateError, match=r"ledger\.jsonl: does not verify, not imported"):
        LocalGitState(tmp_path)
    assert path.exists() and not list(tmp_path.glob("*.imported"))


def test_a_consistent_rewrite_of_the_ledger_no_longer_verifies(tmp_path: Path) -> None:
    state = LocalGitState(tmp_path)
    fill(state)
    # Rewrite the record as one root commit whose entries all chain (hashes recomputed).
    last = None
    lines = []
    for fields in ({"step": "start", "release": "r0"}, {"step": "finish", "outcome": "ok"}):
        last = chain_entry(fields, last)
        lines.append(entry_line(last))
    commit = commit_paths(
        state.git, None, {"ledger.jsonl": b"".join(lines)}, [], "rewritten\n", None, None
    )
    # The bare repository refuses a forced push: the rewrite is made in it directly.
    refused = subprocess.run(
        ["git", "-C", str(state.git.repo), "push", "-qf", "origin", f"{commit}:{STATE_REF}"],
        capture_output=True,
    )
    assert refused.returncode != 0
    for args in (
        ["-C", str(state.git.repo), "push", "-q", "origin", f"{commit}:refs/heads/rewrite"],
        ["-C", str(tmp_path / BARE), "update-ref", STATE_REF, commit],
    ):
        subprocess.run(["git", *args], check=True, capture_output=True)
    check = LocalGitState(tmp_path).verify()
    assert not check.ok and any("rewritten" in p for p in check.problems), check.problems


def test_the_lock_of_a_process_gone_from_this_host_is_taken_over(tmp_path: Path) -> None:
    state = LocalGitState(tmp_path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    for owner, held in (
        (replace(lock_owner(), pid=gone.pid), False),
        (replace(lock_owner(), pid=os.getpid()), True),
        (replace(lock_owner(), host=socket.gethostname() + "-other"), True),
        # Old, from another host: still held (a local record names no other machine's runs).
        (replace(lock_owner(), host="elsewhere", started="2001-01-01T00:00:00+00:00"), True),
    ):
        state.sync()
        stored = dump(replace(owner, token="x").to_json()).encode()
        assert state.write({"locks/aws.json": stored}, "lock\n")
        lock = LocalGitState(tmp_path).lock("aws")
        if held:
            with pytest.raises(LockHeldError):
                lock.acquire()
        else:
            lock.acquire()
            assert lock.taken_over is not None and lock.taken_over.pid == gone.pid
            lock.release()
            state.sync()
            assert state.read("locks/aws.json") is None, "released"


def test_a_directory_of_releases_only_is_imported(tmp_path: Path) -> None:
    old = OldDirectory(tmp_path)
    old.releases.root.mkdir(parents=True)
    (old.releases.root / "r1.json").write_text('{"id": "r1"}\n')
    state = LocalGitState(tmp_path)
    check = state.verify()
    assert check.ok and check.entries == 0, check.problems
    assert state.read("releases/r1.json") == b'{"id": "r1"}\n'
    state.append(to_append({"step": "start", "release": "r1"}))
    assert LocalGitState(tmp_path).verify().ok
