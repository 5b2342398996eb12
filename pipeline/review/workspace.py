"""A review stage's own worktree (``.git/stageline/review/<stack>``) with its stack file."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.naming import scratch_dir
from pipeline.record.git import Git, GitError
from pipeline.review.stage import ReviewError


def worktree(repo: Path, stack: str, commit: str) -> Path:
    """A detached worktree of ``commit`` for ``stack`` (made again when it is at another
    commit), with the checkout's .venv linked in, as Pulumi.yaml's runtime names it."""
    git = Git(repo)
    try:
        git_dir = Path(git.text("rev-parse", "--absolute-git-dir"))
        path = scratch_dir(git_dir) / "review" / stack
        if path.is_dir():
            at = git.run("-C", str(path), "rev-parse", "HEAD", check=False)
            if at.stdout.decode().strip() == commit:
                return path
            remove(repo, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        git.run("worktree", "add", "--detach", "--force", str(path), commit)
    except GitError as exc:
        raise ReviewError(f"cannot check out {commit[:12]} for {stack}: {exc}") from None
    venv = repo / ".venv"
    if venv.exists() and not (path / ".venv").exists():
        (path / ".venv").symlink_to(venv.resolve())
    return path


def existing_worktree(repo: Path, stack: str) -> Path | None:
    """The review stage's worktree on this machine, if it has one (with its stack file)."""
    try:
        git_dir = Path(Git(repo).text("rev-parse", "--absolute-git-dir"))
    except GitError:
        return None
    path = scratch_dir(git_dir) / "review" / stack
    return path if (path / "stacks" / f"Pulumi.{stack}.yaml").exists() else None


def remove(repo: Path, path: Path) -> None:
    git = Git(repo)
    git.run("worktree", "remove", "--force", str(path), check=False)
    shutil.rmtree(path, ignore_errors=True)
    git.run("worktree", "prune", check=False)


def read_stack_yaml(source: Path, stack: str) -> Mapping[str, Any]:
    path = source / "stacks" / f"Pulumi.{stack}.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReviewError(f"{path}: cannot read it ({exc})") from None
    if not isinstance(doc, dict):
        raise ReviewError(f"{path}: expected a mapping at the top level")
    return doc


def write_stack_file(source: Path, stack: str, text: str, salt: str | None = None) -> Path:
    path = source / "stacks" / f"Pulumi.{stack}.yaml"
    if salt:
        text += f"encryptionsalt: {salt}\n"
    path.write_text(text, encoding="utf-8")
    return path


def review_cidrs(repo: Path) -> dict[str, str]:
    """stack -> CIDR of every review stage with a worktree on this machine."""
    git = Git(repo)
    try:
        root = scratch_dir(Path(git.text("rev-parse", "--absolute-git-dir"))) / "review"
    except GitError:
        return {}
    found: dict[str, str] = {}
    for path in sorted(root.glob("*/stacks/Pulumi.*.yaml")) if root.is_dir() else []:
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if path.parent.parent.name != stack:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cidr = next((v for k, v in (doc.get("config") or {}).items() if k.endswith(":cidr")), None)
        if cidr:
            found[stack] = str(cidr)
    return found
