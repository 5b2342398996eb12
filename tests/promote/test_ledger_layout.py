"""The ledger's layout in the state branch (one file per entry): an append adds one entry file
and a handful of small trees, never rewriting an old entry; the check reads each commit once
and, on a clone that verified before, only the commits after; a ledger in the old one-file
layout still verifies, is migrated once by a recorded commit, and a forged migration fails."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.entries import read_entry
from pipeline.promote.history import Decisive, LedgerView
from pipeline.promote.ledger import chain_entry, entry_line
from pipeline.record import commits
from pipeline.record.git import Git
from pipeline.record.layout import (
    LEDGER_DIR,
    LEGACY_LEDGER,
    MIGRATION_TRAILER,
    SEAL_TRAILER,
    LedgerTree,
    block_of,
    entry_path,
    seal_changes,
    segment_path,
    seq_of,
)
from pipeline.record.state import ENTRY_TRAILER, STATE_REF, GitState
from tests.promote.gitrepos import clone, git
from tests.promote.typed_entries import stored, to_append, typed

Entries = list[dict[str, Any]]


def fields(n: int) -> dict[str, Any]:
    """Entry fields of a promotion's steps: dev/test verifications of releases r0, r1, ..."""
    stage, release = ("dev", "test")[n % 2], f"r{n // 4}"
    return {
        "stage": stage,
        "step": "verify",
        "status": "completed",
        "release": release,
        **{"promotion": "p-0", "pipeline": "aws", "kind": "forward", "promoting": release},
        **{"digests": {}, "approver": None},
    }


def chained(count: int, last: dict[str, Any] | None = None) -> Entries:
    out: Entries = []
    for n in range(count):
        out.append(chain_entry(fields(n), out[-1] if out else last))
    return out


def remote_with(base: Path, entries: Entries, legacy: bool) -> Path:
    """A bare remote whose state holds ``entries``, one commit per entry, in the old layout
    (``legacy``: as the code before the entry layout wrote it) or as entry files never sealed;
    written with ``git fast-import``."""
    remote = base / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    stream = b""
    for k, entry in enumerate(entries):
        message = f"stageline: entry\n\n{ENTRY_TRAILER}: {entry['seq']} {entry['hash']}\n"
        if legacy:
            path, content = LEGACY_LEDGER, b"".join(entry_line(e) for e in entries[: k + 1])
        else:
            path, content = entry_path(k), entry_line(entry)
        stream += b"commit %s\ncommitter t <t@t> %d +0000\n" % (STATE_REF.encode(), k)
        stream += b"data %d\n%s\n" % (len(message.encode()), message.encode())
        stream += b"M 100644 inline %s\ndata %d\n%s\n\n" % (path.encode(), len(content), content)
    subprocess.run(["git", "-C", str(remote), "fast-import", "--quiet"], input=stream, check=True)
    return remote


def legacy_remote(base: Path, entries: Entries) -> Path:
    return remote_with(base, entries, legacy=True)


def listing(remote: Path) -> list[str]:
    return git(remote, "ls-tree", "-r", "--name-only", STATE_REF, "--", LEDGER_DIR).splitlines()


def new_objects(remote: Path, commit: str) -> list[str]:
    return git(remote, "rev-list", "--objects", f"{commit}^..{commit}").splitlines()


def test_entry_paths_round_trip() -> None:
    for seq in (0, 1, 99, 100, 9999, 10000, 123456, 99_999_999, 100_000_000):
        assert seq_of(entry_path(seq)) == seq, seq
    assert entry_path(123456) == "ledger/0012/34/56.json"
    assert seq_of("ledger/0000/00/00.jsonl") is None and seq_of("releases/x.json") is None
    for block in (0, 1, 99, 100, 1234):
        assert block_of(segment_path(block)) == block, block
    assert segment_path(1234) == "ledger/0012/34.jsonl" and block_of(entry_path(5)) is None


def test_old_layout_verifies_is_migrated_once_and_appends_add_one_small_file(
    tmp_path: Path,
) -> None:
    old = chained(30)
    remote = legacy_remote(tmp_path, old)
    reader = GitState(clone(remote, tmp_path / "reader", checkout=False))
    check = reader.verify()
    assert check.ok and check.entries == 30, check.problems
    assert stored(reader.entries()) == old

    writer = GitState(clone(remote, tmp_path / "writer", checkout=False))
    first = writer.append(to_append({"step": "note", "detail": "after the upgrade"})).stored()
    second = writer.append(to_append({"step": "note", "detail": "and one more"})).stored()
    assert [first["seq"], second["seq"], first["prev"]] == [30, 31, old[-1]["hash"]]

    subjects = git(remote, "log", "--format=%s%n%b", STATE_REF).split("\n")
    assert sum(s.startswith(f"{MIGRATION_TRAILER}: 30 {old[-1]['hash']}") for s in subjects) == 1
    tip = git(remote, "rev-parse", STATE_REF)
    assert git(remote, "ls-tree", "--name-only", tip) == LEDGER_DIR, "ledger.jsonl is gone"
    # The last append: its commit, the state's root tree, three folders and one blob.
    assert len(new_objects(remote, tip)) == 6, new_objects(remote, tip)
    changed = git(remote, "diff-tree", "-r", "--name-status", f"{tip}^", tip).splitlines()
    assert changed == [f"A\t{entry_path(31)}"]

    fresh = GitState(clone(remote, tmp_path / "fresh", checkout=False))
    check = fresh.verify()
    assert check.ok and check.entries == 32, check.problems
    assert stored(fresh.entries()) == [*old, first, second]
    # The reader verified the old layout before: it checks the migration and what follows.
    check = reader.verify()
    assert check.ok and check.entries == 32, check.problems
    assert stored(reader.recent(2)) == [first, second]


def test_a_forged_migration_fails(tmp_path: Path) -> None:
    old = chained(12)
    remote = legacy_remote(tmp_path, old)
    repo = Git(remote)
    tip = repo.text("rev-parse", STATE_REF)
    changes: dict[str, bytes | None] = {LEGACY_LEDGER: None}
    changes.update({entry_path(k): entry_line(e) for k, e in enumerate(old) if k != 5})
    message = f"migrate\n\n{MIGRATION_TRAILER}: 12 {old[-1]['hash']}\n"
    repo.run(
        "update-ref", STATE_REF, repo.commit_tree(tip, changes, [tip], message, tmp_path / "i")
    )
    check = GitState(clone(remote, tmp_path / "fresh", checkout=False)).verify()
    assert not check.ok
    assert "is not a migration of ledger.jsonl that moves exactly its 12 entries" in (
        " ".join(check.problems)
    ), check.problems


def test_a_clone_that_verified_checks_only_the_commits_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = legacy_remote(tmp_path, chained(3))
    a = clone(remote, tmp_path / "a", checkout=False)
    writer = GitState(clone(remote, tmp_path / "w", checkout=False))
    for n in range(5):
        writer.append(to_append(fields(n)))
    assert GitState(a).verify().ok
    verified = git(a, "rev-parse", "refs/stageline/seen")
    for n in range(3):
        writer.append(to_append(fields(n)))

    asked: list[str | None] = []
    real = commits.read_history

    def spy(repo: Git, tip: str, since: str | None = None) -> list[commits.Commit]:
        asked.append(since)
        return real(repo, tip, since)

    monkeypatch.setattr("pipeline.record.checks.read_history", spy)
    state = GitState(a)  # a new process: starts from the index it saved
    check = state.verify()
    assert check.ok and check.entries == 11, check.problems
    assert asked == [verified]
    assert len(real(Git(a), state.tip or "", verified)) == 3


def test_decisive_entries_answer_the_gates_as_the_whole_ledger_does() -> None:
    rows = [
        ("p1", "start", None, None, None),
        ("p1", "verify", "dev", "r1", "completed"),
        ("p1", "verify", "test", "r1", "failed"),
        ("p1", "finish", None, None, None),
        ("p2", "start", None, None, None),
        ("p2", "up", "dev", "r2", "completed"),
        ("p2", "verify", "dev", "r2", "completed"),
        ("p2", "finish", None, None, None),
        ("p3", "start", None, None, None),
        ("p3", "verify", "dev", "r3", "started"),
        ("p3", "verify", "dev", "r3", "failed"),
        ("p4", "start", None, None, None),  # another pipeline's, unfinished too
        ("p3", "up", "test", "r3", "started"),
    ]
    entries: Entries = []
    for promotion, step, stage, release, status in rows:
        pipeline = "azure" if promotion == "p4" else "aws"
        row: dict[str, Any] = {"promotion": promotion, "step": step, "pipeline": pipeline}
        row["target"] = "test"
        row |= {
            "stage": stage,
            "release": release or promotion.replace("p", "r"),
            "kind": "forward",
        }
        entries.append(chain_entry(row | ({"status": status} if status else {}), None))
        entries[-1]["seq"] = len(entries) - 1
    ledger = [typed(e) for e in entries]  # the fields each kind has besides, filled in
    kept = Decisive(ledger).entries()
    assert len(kept) < len(ledger)
    whole, part = LedgerView(ledger), LedgerView(kept)
    for stage in ("dev", "test"):
        assert part.last_verified(stage) == whole.last_verified(stage), stage
        for release in ("r1", "r2", "r3"):
            assert part.verified_at(stage, release) == whole.verified_at(stage, release)
            assert part.ever_verified(stage, release) == whole.ever_verified(stage, release)
            assert part.last_verified(stage, release) == whole.last_verified(stage, release)
    for pipeline in ("aws", "azure", "gcp"):
        assert part.unfinished(pipeline) == whole.unfinished(pipeline), pipeline
    unfinished = whole.unfinished("aws")
    assert unfinished is not None and unfinished.promotion == "p3"
    assert [e.stored()["step"] for e in unfinished.entries] == ["start", "verify", "verify", "up"]


def test_a_full_block_is_sealed_into_one_segment(tmp_path: Path) -> None:
    old = chained(195)
    remote = legacy_remote(tmp_path, old)
    reader = GitState(clone(remote, tmp_path / "reader", checkout=False))
    assert reader.verify().ok
    writer = GitState(clone(remote, tmp_path / "writer", checkout=False))
    new = [
        writer.append(to_append(fields(n))).stored() for n in range(5)
    ]  # migrates, fills block 1
    assert listing(remote) == [segment_path(0), segment_path(1)]
    subjects = git(remote, "log", "--format=%B", STATE_REF)
    assert f"{SEAL_TRAILER}: 1" in subjects and f"{SEAL_TRAILER}: 0" not in subjects

    for state in (GitState(clone(remote, tmp_path / "fresh", checkout=False)), reader):
        check = state.verify()
        assert check.ok and check.entries == 200, check.problems
        assert stored(state.entries()) == [*old, *new]
        assert stored(state.recent(3)) == new[-3:]
        assert stored(state.recent(1, "test")) == [new[-2]]
    read = LedgerTree(reader.git, reader.tip, 200).read([0, 150, 199, 200])
    assert [e and e.stored() for e in read] == [
        old[0], old[150], new[-1], None
    ]  # fmt: skip
    after = reader.append(to_append(fields(9))).stored()
    assert listing(remote)[-1] == entry_path(200) and after["prev"] == new[-1]["hash"]
    assert GitState(clone(remote, tmp_path / "fresh2", checkout=False)).verify().ok


@pytest.mark.parametrize("forged", [False, True])
def test_a_seal_must_hold_exactly_the_block(tmp_path: Path, forged: bool) -> None:
    entries = chained(104)
    remote = remote_with(tmp_path, entries, legacy=False)
    before = GitState(clone(remote, tmp_path / "before", checkout=False))
    assert before.verify().ok  # then checks the seal alone, from the entries it had not sealed
    lines = [entry_line(e) for e in entries[:100]]
    if forged:  # the segment drops entry 7 and holds entry 8 twice
        lines[7] = lines[8]
    repo = Git(remote)
    tip = repo.text("rev-parse", STATE_REF)
    message = f"seal\n\n{SEAL_TRAILER}: 0\n"
    sealed = repo.commit_tree(tip, seal_changes(0, lines), [tip], message, tmp_path / "i")
    repo.run("update-ref", STATE_REF, sealed)
    for state in (GitState(clone(remote, tmp_path / "after", checkout=False)), before):
        check = state.verify()
        assert check.ok is not forged, check.problems
        if forged:
            assert (
                "is not a seal of entries 0 to 99 into ledger/0000/00.jsonl" in (check.problems[0])
            )
        else:
            assert check.entries == 104 and stored(state.entries()) == entries


def test_reads_in_a_clone_that_verified_do_not_read_every_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = chained(250)
    remote = remote_with(tmp_path, entries, legacy=False)
    repo = clone(remote, tmp_path / "a", checkout=False)
    assert GitState(repo).verify().ok  # saves what it learnt

    def everything(self: LedgerTree) -> Entries:
        raise AssertionError("read every entry")

    asked: list[list[str]] = []
    real = Git.objects

    def objects(self: Git, specs: Sequence[str]) -> dict[str, bytes | None]:
        asked.append(list(specs))
        return real(self, specs)

    monkeypatch.setattr(LedgerTree, "all", everything)
    monkeypatch.setattr(Git, "objects", objects)
    state = GitState(repo)  # a new process: reads the saved index, checks nothing new
    assert stored(state.decisive()) == stored(Decisive(map(read_entry, entries)).entries())
    assert state.head() == (250, entries[-1]["hash"])
    assert state.ledger_stages() == {"dev", "test"}
    assert asked == [], "the gates' entries come from the index"
    assert stored(state.recent(5)) == entries[-5:]
    assert stored(state.recent(2, "dev")) == [entries[246], entries[248]]
    assert sum(len(specs) for specs in asked) <= 2 * 100, asked


def test_a_state_never_sealed_catches_up_one_block_per_append(tmp_path: Path) -> None:
    entries = chained(250)
    remote = remote_with(tmp_path, entries, legacy=False)
    writer = GitState(clone(remote, tmp_path / "w", checkout=False))
    new = [writer.append(to_append(fields(n))).stored() for n in range(3)]
    files = listing(remote)
    assert files[:2] == [segment_path(0), segment_path(1)], files[:3]
    assert files[2:] == [entry_path(s) for s in range(200, 253)]
    check = GitState(clone(remote, tmp_path / "fresh", checkout=False)).verify()
    assert check.ok and check.entries == 253, check.problems
    assert stored(writer.entries()) == [*entries, *new]
