"""Worktrees at exact commits: the release's infrastructure commit a promotion deploys, and a
stage branch's tip an offline render reads. Each lives under ``.git/stageline/worktrees/<commit>``
and is reused; a half-made one (a process killed mid-``worktree add``) is made again. ``prune``
removes all but the most recently used ones, so old releases' worktrees do not accumulate."""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from pathlib import Path

from pipeline.naming import scratch_dir
from pipeline.record.git import Git, GitError


class CheckoutError(Exception):
    """A commit cannot be checked out (unknown here, or git failed)."""


def checkout(git: Git, git_dir: Path, commit: str) -> Path:
    """A detached worktree at ``commit`` (its files exactly as committed); returns its path."""
    root = scratch_dir(git_dir) / "worktrees"
    path = root / commit
    if path.is_dir():
        done = git.run("-C", str(path), "rev-parse", "HEAD", check=False)
        status = git.run(
            "-C", str(path), "status", "--porcelain", "--untracked-files=no", check=False
        )
        if done.stdout.decode().strip() == commit and not status.stdout.strip():
            os.utime(path)  # last used now: prune keeps the most recently used
            return path
        shutil.rmtree(path, ignore_errors=True)
    git.run("worktree", "prune", check=False)
    root.mkdir(parents=True, exist_ok=True)
    try:
        git.run("worktree", "add", "--detach", "--force", str(path), commit)
    except GitError as exc:
        raise CheckoutError(f"cannot check out {commit[:12]}: {exc}") from None
    # Pulumi.yaml's runtime names .venv relative to the program: share the checkout's venv.
    venv = git.repo / ".venv"
    if venv.exists() and not (path / ".venv").exists():
        (path / ".venv").symlink_to(venv.resolve())
    return path


KEEP = 8  # worktrees kept by prune: a promotion uses one per release plus the stages' records


def prune(git: Git, git_dir: Path, keep: Collection[Path] = (), limit: int = KEEP) -> list[str]:
    """Remove the worktrees under ``.git/stageline/worktrees`` except the ``limit`` most
    recently used and those in ``keep``, then ``git worktree prune`` (so git forgets any
    removed by other means). Returns the commits whose worktrees were removed."""
    root = scratch_dir(git_dir) / "worktrees"
    found = sorted(
        (p for p in (root.iterdir() if root.is_dir() else ()) if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    kept = {p.resolve() for p in keep}
    removed = []
    for path in found[limit:]:
        if path.resolve() in kept:
            continue
        git.run("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    git.run("worktree", "prune", check=False)
    return removed
