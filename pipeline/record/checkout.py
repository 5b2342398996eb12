"""Worktrees at exact commits: the release's infrastructure commit a promotion deploys, and a
stage branch's tip an offline render reads. Each lives under ``.git/stageline/worktrees/<commit>``
and is reused; a half-made one (a process killed mid-``worktree add``) is made again."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.record.git import Git, GitError


class CheckoutError(Exception):
    """A commit cannot be checked out (unknown here, or git failed)."""


def checkout(git: Git, git_dir: Path, commit: str) -> Path:
    """A detached worktree at ``commit`` (its files exactly as committed); returns its path."""
    root = git_dir / "stageline" / "worktrees"
    path = root / commit
    if path.is_dir():
        done = git.run("-C", str(path), "rev-parse", "HEAD", check=False)
        status = git.run(
            "-C", str(path), "status", "--porcelain", "--untracked-files=no", check=False
        )
        if done.stdout.decode().strip() == commit and not status.stdout.strip():
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
