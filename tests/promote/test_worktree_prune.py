"""Worktrees of old release commits under .git/stageline/worktrees do not accumulate: ``prune``
keeps the most recently used (and those in use), removes the rest and runs ``git worktree
prune``; ``promote`` prunes after every run."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from pipeline.record.checkout import checkout, prune
from pipeline.record.git import Git
from tests.promote.gitrepos import clone, commit_change, git, seed_remote


def worktrees(repo: Path) -> set[str]:
    """The commits git lists a worktree for under .git/stageline/worktrees."""
    out = git(repo, "worktree", "list", "--porcelain")
    paths = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]
    return {Path(p).name for p in paths if "/stageline/worktrees/" in p}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return clone(seed_remote(tmp_path / "origin"), tmp_path / "a")


def test_prune_keeps_the_most_recently_used_and_those_in_use(repo: Path) -> None:
    commits = [commit_change(repo, "NOTES.md", f"change {n}\n", f"change {n}") for n in range(6)]
    paths = []
    for n, commit in enumerate(commits):
        paths.append(checkout(Git(repo), repo / ".git", commit))
        os.utime(paths[-1], (time.time() - 600 + n * 60,) * 2)  # used one minute apart
    checkout(Git(repo), repo / ".git", commits[0])  # reusing one counts as using it now
    assert worktrees(repo) == set(commits)

    removed = prune(Git(repo), repo / ".git", keep=[paths[1]], limit=2)
    kept = {commits[0], commits[5], commits[1]}  # the two most recent, and the one in use
    assert set(removed) == set(commits) - kept
    assert worktrees(repo) == kept
    assert {p.name for p in (repo / ".git/stageline/worktrees").iterdir()} == kept

    # A worktree directory removed by other means is forgotten by git too.
    shutil.rmtree(paths[1])
    prune(Git(repo), repo / ".git", limit=2)
    assert worktrees(repo) == {commits[0], commits[5]}
    assert "prunable" not in git(repo, "worktree", "list", "--porcelain")


def test_promote_prunes_old_worktrees(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.cli import main
    from tests.promote.conftest import images

    commits = [commit_change(repo, "NOTES.md", f"change {n}\n", f"change {n}") for n in range(10)]
    for commit in commits:
        os.utime(checkout(Git(repo), repo / ".git", commit), (time.time() - 3600,) * 2)
    assert len(worktrees(repo)) == 10
    monkeypatch.setenv("STAGELINE_FAKE_CLOUD", str(tmp_path / "cloud"))
    pairs = [f"--image={s}={i}" for s, i in images("f").items()]
    assert main(["release", "create", *pairs, "--repo", str(repo)]) == 0
    release = git(repo, "ls-tree", "--name-only", "origin/stageline/state", "releases/")
    rid = Path(release.splitlines()[0]).stem
    deployer = ["--deployer", "tests.promote.fakes:file_deployer"]
    # Refused (live needs the stages before it), but the run still tidies the worktrees.
    assert main(["promote", rid, "--to", "live", *deployer, "--repo", str(repo)]) == 2
    assert len(worktrees(repo)) == 8, "all but the most recently used were removed"
