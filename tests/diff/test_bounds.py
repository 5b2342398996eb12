"""``diff`` holds both revisions to the input bounds before rendering, and to one deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.diff.conftest import DiffRepo, git
from tests.test_bounds import alias_bomb


def _commit_with(repo: DiffRepo, parent: str, path: str, text: str) -> str:
    """A commit on top of ``parent`` with one file replaced, leaving the work tree alone."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo.path / ".git" / "bounds-index")}

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=repo.path,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    run("read-tree", parent)
    blob = run("hash-object", "-w", "--stdin", stdin=text)
    run("update-index", "--cacheinfo", f"100644,{blob},{path}")
    tree = run("write-tree")
    return run("commit-tree", tree, "-p", parent, "-m", f"{path}: hostile")


def _diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "diff", *args, "--stack", "dev"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_alias_bomb_in_the_base_revision_is_refused_before_rendering(diff_repo: DiffRepo) -> None:
    bomb = _commit_with(
        diff_repo, diff_repo.commits["base"], "stacks/Pulumi.dev.yaml", alias_bomb()
    )
    started = time.monotonic()
    done = _diff(diff_repo.path, "--base", bomb, "--head", diff_repo.commits["base"])
    assert time.monotonic() - started < 60
    assert done.returncode == 2, done.stderr
    assert "base revision" in done.stderr and "invalid configuration" in done.stderr, done.stderr
    assert "stacks/Pulumi.dev.yaml: config.stageline:tags.a1" in done.stderr, done.stderr
    assert "alias" in done.stderr and "Traceback" not in done.stderr


def test_duplicate_key_in_the_head_revision_is_refused(diff_repo: DiffRepo) -> None:
    text = git(diff_repo.path, "show", f"{diff_repo.commits['base']}:stacks/Pulumi.dev.yaml")
    head = _commit_with(
        diff_repo,
        diff_repo.commits["base"],
        "stacks/Pulumi.dev.yaml",
        text + "\n  stageline:owner: someone-else\n",
    )
    done = _diff(diff_repo.path, "--base", diff_repo.commits["base"], "--head", head)
    assert done.returncode == 2, done.stderr
    assert "head revision" in done.stderr, done.stderr
    assert "Pulumi.dev.yaml: config.stageline:owner: duplicate key" in done.stderr, done.stderr


def test_overall_time_limit_stops_both_renders_with_a_clear_message(diff_repo: DiffRepo) -> None:
    started = time.monotonic()
    done = _diff(
        diff_repo.path,
        "--base",
        diff_repo.commits["base"],
        "--head",
        diff_repo.commits["scale"],
        "--timeout",
        "0.5",
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 2, done.stderr
    assert "did not render within the 0.5 s limit" in done.stderr, done.stderr
    assert "--timeout" in done.stderr and "Traceback" not in done.stderr
