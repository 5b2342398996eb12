"""Real git for the shared-state tests: a bare repository plays the remote, clones play the CI
runners and the engineers' laptops. The project (program, components, pipeline, policies,
stacks) is committed to the remote's main, so a release pins a commit every clone has."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import PROJECT_DIR

SEEDED = (
    ".gitignore",
    "Pulumi.yaml",
    "__main__.py",
    "blueprint.yaml",
    "blueprint.schema.json",
    "components/",
    "pipeline/",
    "policies/",
    "stacks/",
)
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **IDENTITY},
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def seed_remote(base: Path) -> Path:
    """``base/remote.git``: a bare repository whose main holds this project's files."""
    seed = base / "seed"
    seed.mkdir(parents=True)
    listed = git(PROJECT_DIR, "ls-files", "-co", "--exclude-standard").splitlines()
    for name in listed:
        if name.startswith(SEEDED) or name in SEEDED:
            source = PROJECT_DIR / name
            if source.is_file():
                target = seed / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "the project")
    remote = base / "remote.git"
    git(base, "clone", "-q", "--bare", str(seed), str(remote))
    shutil.rmtree(seed)
    return remote


def clone(remote: Path, where: Path, checkout: bool = True) -> Path:
    """A clone of ``remote``; without ``checkout`` only its git directory (enough to read the
    promotion state)."""
    git(remote.parent, "clone", "-q", *([] if checkout else ["--bare"]), str(remote), str(where))
    return where


def commit_change(repo: Path, path: str, text: str, message: str) -> str:
    """Commit a change to ``path`` in ``repo`` and push it to main; returns the commit."""
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    git(repo, "push", "-q", "origin", "HEAD:main")
    return git(repo, "rev-parse", "HEAD")
