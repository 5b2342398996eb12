"""Commits built tree by tree (pipeline.record.trees) have exactly the tree the index-based
``Git.commit_tree`` builds from the same changes, with and without the listings it keeps."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pipeline.record.git import Git
from pipeline.record.trees import Known, commit_paths


class CountingGit(Git):
    reads: list[int] = []  # noqa: RUF012 (one list per test, set below)

    def objects(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        self.reads.append(len(specs))
        return super().objects(specs)


def tree_of(repo: Git, commit: str) -> str:
    return repo.text("rev-parse", f"{commit}^{{tree}}")


def test_trees_match_the_index_built_ones(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "r.git")], check=True)
    repo = CountingGit(tmp_path / "r.git")
    CountingGit.reads = []
    rng = random.Random(28)
    paths = [
        f"ledger/000{a}/0{b}/{c:02d}.json" for a in range(2) for b in range(3) for c in range(5)
    ]
    paths += ["releases/r1.json", "locks/aws.json", "top.txt"]
    ours: str | None = None
    theirs: str | None = None
    known: Known = {}
    touched: list[str] = []
    for step in range(24):
        # Every third commit changes the same paths as the one before: its trees are known.
        touched = touched if step % 3 == 2 else rng.sample(paths, rng.randint(1, 6))
        changes: dict[str, bytes | None] = {
            path: None if rng.random() < 0.3 else f"{path} {step}\n".encode() for path in touched
        }
        parents = [ours] if ours else []
        cache = None if step % 3 == 0 else known  # every third without the kept listings
        reads = len(CountingGit.reads)
        ours = commit_paths(repo, ours, changes, parents, "m", cache)
        if step % 3 == 2:
            assert len(CountingGit.reads) == reads, f"step {step}: read trees it knew"
        theirs = repo.commit_tree(
            theirs, changes, [theirs] if theirs else [], "m", tmp_path / "index"
        )
        assert tree_of(repo, ours) == tree_of(repo, theirs), f"step {step}: {changes}"
    assert known and all(commit == ours for commit, _ in known), "kept: the last commit's"
    assert repo.run("fsck", "--strict", "--no-dangling").returncode == 0
