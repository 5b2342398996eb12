"""The ledger's layout in the state branch (one file per entry): an append adds one entry file
and a handful of small trees, never rewriting an old entry; the check reads each commit once
and, on a clone that verified before, only the commits after; a ledger in the old one-file
layout still verifies, is migrated once by a recorded commit, and a forged migration fails."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.history import Decisive, LedgerView
from pipeline.promote.ledger import chain_entry, entry_line
from pipeline.record import audit
from pipeline.record.git import Git
from pipeline.record.layout import (
    LEDGER_DIR,
    LEGACY_LEDGER,
    MIGRATION_TRAILER,
    entry_path,
    seq_of,
)
from pipeline.record.state import ENTRY_TRAILER, STATE_REF, GitState
from tests.promote.gitrepos import clone, git

Entries = list[dict[str, Any]]


def fields(n: int) -> dict[str, Any]:
    """Entry fields of a promotion's steps: dev/test verifications of releases r0, r1, ..."""
    stage = ("dev", "test")[n % 2]
    return {"stage": stage, "step": "verify", "status": "completed", "release": f"r{n // 4}"}


def chained(count: int, last: dict[str, Any] | None = None) -> Entries:
    out: Entries = []
    for n in range(count):
        out.append(chain_entry(fields(n), out[-1] if out else last))
    return out


def legacy_remote(base: Path, entries: Entries) -> Path:
    """A bare remote whose state holds ``entries`` in the old layout, one commit per entry
    (as the code before this layout wrote it)."""
    remote = base / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = Git(remote)
    parent: str | None = None
    for k, entry in enumerate(entries):
        text = b"".join(entry_line(e) for e in entries[: k + 1])
        message = f"stageline: entry\n\n{ENTRY_TRAILER}: {entry['seq']} {entry['hash']}\n"
        parents = [parent] if parent else []
        parent = repo.commit_tree(parent, {LEGACY_LEDGER: text}, parents, message, base / "i")
    assert parent is not None
    repo.run("update-ref", STATE_REF, parent)
    return remote


def new_objects(remote: Path, commit: str) -> list[str]:
    return git(remote, "rev-list", "--objects", f"{commit}^..{commit}").splitlines()


def test_entry_paths_round_trip() -> None:
    for seq in (0, 1, 99, 100, 9999, 10000, 123456, 99_999_999, 100_000_000):
        assert seq_of(entry_path(seq)) == seq, seq
    assert entry_path(123456) == "ledger/0012/34/56.json"
    assert seq_of("ledger/0000/00/00.jsonl") is None and seq_of("releases/x.json") is None


def test_old_layout_verifies_is_migrated_once_and_appends_add_one_small_file(
    tmp_path: Path,
) -> None:
    old = chained(30)
    remote = legacy_remote(tmp_path, old)
    reader = GitState(clone(remote, tmp_path / "reader", checkout=False))
    check = reader.verify()
    assert check.ok and check.entries == 30, check.problems
    assert reader.entries() == old

    writer = GitState(clone(remote, tmp_path / "writer", checkout=False))
    first = writer.append({"step": "note", "detail": "after the upgrade"})
    second = writer.append({"step": "note", "detail": "and one more"})
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
    assert fresh.entries() == [*old, first, second]
    # The reader verified the old layout before: it checks the migration and what follows.
    check = reader.verify()
    assert check.ok and check.entries == 32, check.problems
    assert reader.recent(2) == [first, second]


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
        writer.append(fields(n))
    assert GitState(a).verify().ok
    verified = git(a, "rev-parse", "refs/stageline/seen")
    for n in range(3):
        writer.append(fields(n))

    asked: list[str | None] = []
    real = audit.read_history

    def spy(repo: Git, tip: str, since: str | None = None) -> list[audit.Commit]:
        asked.append(since)
        return real(repo, tip, since)

    monkeypatch.setattr("pipeline.record.state.read_history", spy)
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
        row |= {"stage": stage, "release": release or promotion.replace("p", "r"), "kind": "f"}
        entries.append(chain_entry(row | ({"status": status} if status else {}), None))
        entries[-1]["seq"] = len(entries) - 1
    kept = Decisive(entries).entries()
    assert len(kept) < len(entries)
    whole, part = LedgerView(entries), LedgerView(kept)
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
    assert [e["step"] for e in unfinished.entries] == ["start", "verify", "verify", "up"]
