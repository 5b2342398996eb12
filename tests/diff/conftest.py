"""A throw-away git repository of the project with a few commits to diff between.

History (branch main):  bare (no pipeline) -> base -> scale (dev natGateways: perAz) ->
blueprint (database name app -> core) -> drift (dev overrides the database port: a parity
violation). Branch ``broken`` adds an invalid CIDR to dev. The working tree is ``drift`` plus a
``secure:`` app secret in every stage, uncommitted. Diffs are computed once per session and shared.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from pipeline.diff import DiffResult, diff_revisions

PROJECT_DIR = Path(__file__).resolve().parents[2]
SKIP = {".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__", "out"}
# What a stage render needs: the program, the blueprint, the pipeline, the stacks.
PROJECT_FILES = {
    "Pulumi.yaml",
    "blueprint.yaml",
    "__main__.py",
    "components",
    "pipeline",
    "policies",
    "stacks",
    "pyproject.toml",
    "requirements.txt",
}
# The AWS pipeline only: four stages per revision keeps each diff to a few seconds.
AWS_STAGES = ["dev", "test", "staging", "live"]
SECRET_CIPHERTEXT = "v1:Zm9vYmFyc2VjcmV0Y2lwaGVydGV4dA==:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@dataclass
class DiffRepo:
    path: Path
    commits: dict[str, str]
    _cache: dict[tuple[str, str | None, tuple[str, ...]], DiffResult] = field(default_factory=dict)

    def diff(self, base: str, head: str | None, stacks: list[str] = AWS_STAGES) -> DiffResult:
        """The diff between two named commits (head None: the working tree), computed once."""
        key = (base, head, tuple(stacks))
        if key not in self._cache:
            self._cache[key] = diff_revisions(
                self.path, self.commits[base], self.commits[head] if head else None, stacks
            )
        return self._cache[key]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def edit_config(repo: Path, stack: str, change: Callable[[dict[str, object]], None]) -> None:
    path = repo / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(path: Path) -> Path:
    """An empty repository on ``main`` with a test identity, unsigned commits."""
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "tests@stageline.example.com")
    git(path, "config", "user.name", "stageline tests")
    git(path, "config", "commit.gpgsign", "false")
    return path


def _copy_project(target: Path) -> None:
    for entry in PROJECT_DIR.iterdir():
        if entry.name not in PROJECT_FILES:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, ignore=shutil.ignore_patterns(*SKIP))
        else:
            shutil.copy2(entry, target / entry.name)


def _scale(config: dict[str, object]) -> dict[str, object]:
    scale = config.setdefault("stageline:scale", {})
    assert isinstance(scale, dict)
    return scale


@pytest.fixture(scope="session")
def diff_repo(tmp_path_factory: pytest.TempPathFactory) -> DiffRepo:
    repo = init_repo(tmp_path_factory.mktemp("diff-repo"))
    commits: dict[str, str] = {}
    (repo / "README.md").write_text("stageline, before it had a pipeline\n")
    commits["bare"] = commit(repo, "bare")
    _copy_project(repo)
    commits["base"] = commit(repo, "base")

    edit_config(repo, "dev", lambda c: _scale(c).update(natGateways="perAz"))
    commits["scale"] = commit(repo, "dev: one NAT gateway per AZ")

    blueprint = repo / "blueprint.yaml"
    source = blueprint.read_text()
    old = "  port: 5432\n  name: app\n"
    assert old in source, "the blueprint's database name moved; update this fixture"
    blueprint.write_text(source.replace(old, old.replace("app", "core")))
    commits["blueprint"] = commit(repo, "blueprint: database name core")

    edit_config(repo, "dev", lambda c: c.update({"stageline:shape": {"database": {"port": 5433}}}))
    commits["drift"] = commit(repo, "dev: own database port (a parity violation)")

    git(repo, "checkout", "-q", "-b", "broken")
    edit_config(repo, "dev", lambda c: c.update({"stageline:cidr": "10.10.0.0/33"}))
    commits["broken"] = commit(repo, "dev: invalid CIDR")
    git(repo, "checkout", "-q", "main")

    # Every stage gets the app secret (one stage alone would be a parity violation).
    for stack in AWS_STAGES:
        secret = {"api-token": {"secure": f"{SECRET_CIPHERTEXT}{stack}"}}
        edit_config(repo, stack, lambda c, s=secret: c.update({"stageline:secrets": s}))
    return DiffRepo(repo, commits)
