"""The tests' double of the state (pipeline.promote.memory) fails where the real state fails:
its ledger is the real hash chain, so an edited or truncated ledger does not verify; a release
is never rewritten and an unknown one is refused; a pipeline lock held by a live process is
held, one whose process is gone is taken over; a stage record names the entry that moved it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.promote.lock import LockHeldError, lock_owner
from pipeline.promote.memory import MemoryState
from pipeline.promote.release import ReleaseError, make_release
from pipeline.promote.stage_record import StageChange
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.typed_entries import stored, to_append, with_verifications


@pytest.fixture
def state(tmp_path: Path) -> MemoryState:
    return with_verifications(MemoryState(tmp_path / "scratch"), 4)


def rewrite(state: MemoryState, line: int, field: str, value: object) -> None:
    """Change one field of one stored line, as a tamperer with the storage would."""
    storage = state.ledger.storage
    lines = storage.read().decode().splitlines()
    entry = json.loads(lines[line])
    entry[field] = value
    lines[line] = json.dumps(entry, sort_keys=True)
    storage.cut(0)
    storage.write("".join(f"{text}\n" for text in lines).encode())


def test_appends_chain_and_verify(state: MemoryState) -> None:
    check = state.verify()
    assert check.ok and check.entries == 4, check.problems
    entries = stored(state.entries())
    assert [e["seq"] for e in entries] == [0, 1, 2, 3]
    assert [e["prev"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert state.head() == (4, entries[-1]["hash"])


def test_an_edited_entry_does_not_verify(state: MemoryState) -> None:
    rewrite(state, 2, "status", "failed")
    check = state.verify()
    edited = "memory:ledger:3: hash does not match the content (the entry was edited)"
    assert not check.ok and check.problems == [edited], check.problems


def test_a_removed_last_entry_does_not_verify_against_the_head(state: MemoryState) -> None:
    storage = state.ledger.storage
    text = storage.read()
    storage.cut(text.rstrip(b"\n").rfind(b"\n") + 1)
    check = state.verify()
    assert not check.ok and "entries were removed from the end" in check.problems[0], check


def test_an_entry_read_from_the_ledger_is_not_appended_again(state: MemoryState) -> None:
    from pipeline.promote.entries import EntryError

    with pytest.raises(EntryError, match="in a ledger already"):
        state.append(state.entries()[-1])
    assert state.head()[0] == 4


def test_a_stage_record_names_the_entry_that_moved_the_stage(state: MemoryState) -> None:
    change = StageChange("dev", "aws", "r-1", {"api": "sha256:" + "a" * 64}, None, "p-1",
                         "forward", None)  # fmt: skip
    entry = state.append(to_append({"promotion": "p-1", "stage": "dev", "step": "up"}), change)
    record = state.stage_record("dev")
    assert record is not None and (record.release, record.stack) == ("r-1", "dev")
    assert record.to_json()["after"] == {"seq": entry.seq, "hash": entry.hash}
    assert state.stage_record("test") is None


def test_a_release_is_never_rewritten_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    state = MemoryState(tmp_path)
    release = make_release(PROJECT_DIR, images("m"))
    assert state.save_release(release) == (release, True)
    assert state.save_release(release) == (release, False)
    assert state.releases.all() == [release] and state.releases.get(release.id) == release
    with pytest.raises(ReleaseError, match=r"memory:releases/r-none\.json: no release 'r-none'"):
        state.releases.get("r-none")


def test_a_held_lock_is_held_and_the_lock_of_a_process_gone_is_taken_over(
    tmp_path: Path,
) -> None:
    state = MemoryState(tmp_path)
    first = state.lock("aws")
    first.acquire()
    with pytest.raises(LockHeldError, match="another promotion holds this pipeline"):
        state.lock("aws").acquire()
    state.lock("gcp").acquire()  # another pipeline's lock is its own
    first.release()
    gone = subprocess.Popen(["true"])
    gone.wait()
    state.locks["aws"] = replace(lock_owner(), pid=gone.pid)
    second = state.lock("aws")
    second.acquire()
    assert second.taken_over is not None and second.taken_over.pid == gone.pid
    second.release()
    assert "aws" not in state.locks and "gcp" in state.locks
