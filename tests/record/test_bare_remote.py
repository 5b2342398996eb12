"""The directory's record writes its bare repository in place (pipeline.record.bare): a write
is a compare-and-swap of the bare repository's ref, a read fetches and checks only when the ref
moved, and neither hides a move made by another process or by hand."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from pipeline.record import git as git_module
from pipeline.record.git import blob_id
from pipeline.record.local import BARE, LocalGitState
from pipeline.record.refs import ENTRY_TRAILER, STATE_REF
from tests.promote.typed_entries import to_append


def bare_git(state_dir: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(state_dir / BARE), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_two_states_on_one_directory_interleave_without_losing_an_entry(tmp_path: Path) -> None:
    first, second = LocalGitState(tmp_path), LocalGitState(tmp_path)
    first.append(to_append({"step": "start", "release": "r1"}))
    first.append(to_append({"step": "note", "by": "first"}))
    # ``second`` read the record before ``first`` wrote: its write is refused, it re-reads
    # and chains onto the entries of ``first``.
    second.ensure()
    first.append(to_append({"step": "note", "by": "first again"}))
    entry = second.append(to_append({"step": "note", "by": "second"}))
    assert entry.seq == 3, entry
    # ``first`` last verified its own write: the ref moved since, so it reads the new entry.
    first.sync()
    assert first.head() == (4, entry.hash)
    last = first.append(to_append({"step": "finish", "outcome": "promoted"}))
    assert last.seq == 4 and last.stored()["prev"] == entry.hash
    check = LocalGitState(tmp_path).verify()
    assert check.ok and check.entries == 5, check
    trailers = bare_git(tmp_path, "log", f"--format=%(trailers:key={ENTRY_TRAILER})", STATE_REF)
    assert len([t for t in trailers.splitlines() if t]) == 5, trailers  # a commit per entry


def test_a_write_is_refused_when_the_ref_moved_and_lands_nothing(tmp_path: Path) -> None:
    first, second = LocalGitState(tmp_path), LocalGitState(tmp_path)
    first.append(to_append({"step": "start", "release": "r1"}))
    second.ensure()
    first.append(to_append({"step": "note"}))
    before = bare_git(tmp_path, "rev-parse", STATE_REF)
    assert not second.write({"notes/x.json": b"{}\n"}, "a note\n")
    assert bare_git(tmp_path, "rev-parse", STATE_REF) == before
    assert second.read("notes/x.json") is None


def test_a_truncation_by_hand_is_seen_by_the_process_that_wrote(tmp_path: Path) -> None:
    state = LocalGitState(tmp_path)
    for k in range(3):
        state.append(to_append({"step": "note", "k": k}))
    bare_git(tmp_path, "update-ref", STATE_REF, f"{STATE_REF}~1")
    check = state.verify()
    assert not check.ok and any("rewritten" in p for p in check.problems), check.problems


def test_a_read_of_an_unmoved_record_runs_one_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = LocalGitState(tmp_path)
    state.append(to_append({"step": "start", "release": "r1"}))
    ran: list[tuple[str, ...]] = []
    real = git_module.Git.run

    def counted(self: git_module.Git, *args: str, **kw: object) -> object:
        ran.append(args)
        return real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(git_module.Git, "run", counted)
    state.sync()
    assert [a[0] for a in ran] == ["for-each-ref"], ran
    ran.clear()
    state.append(to_append({"step": "note"}))
    assert not [a for a in ran if a[0] in ("push", "fetch")], ran


def loose_objects(state_dir: Path) -> dict[str, int]:
    lines = bare_git(state_dir, "count-objects", "-v").splitlines()
    return {key: int(value) for key, value in (line.split(": ") for line in lines)}


def test_the_bare_repository_is_packed_when_its_loose_objects_pile_up(tmp_path: Path) -> None:
    state = LocalGitState(tmp_path)
    for k in range(10):
        state.append(to_append({"step": "note", "k": k}))
    # git estimates the loose objects from the folder objects/17 alone: put three there, so
    # that with gc.auto at 256 the estimate (more than one there) is over it whatever the ids.
    planted = (str(n).encode() for n in itertools.count())
    seventeen = []
    for content in planted:
        if blob_id(content).startswith("17"):
            seventeen.append(content)
            if len(seventeen) == 3:
                break
    for content in seventeen:
        subprocess.run(
            ["git", "-C", str(tmp_path / BARE), "hash-object", "-w", "--stdin"],
            input=content,
            capture_output=True,
            check=True,
        )
    bare_git(tmp_path, "config", "gc.auto", "256")
    before = loose_objects(tmp_path)
    assert before["packs"] == 0 and before["count"] > 40, before
    LocalGitState(tmp_path).ensure()  # a new process's first read
    after = loose_objects(tmp_path)
    assert after["packs"] >= 1 and after["count"] < before["count"] - 40, after
    assert LocalGitState(tmp_path).verify().ok
