"""Rename the project in a copy of the repository (Pulumi.yaml ``name`` and the stack files'
namespace, nothing in Python) and run it end to end: schema, plan with the policy pack, diff and
a rehearsed promotion all speak the new name, and keys under the old namespace are refused.
The old name shows up nowhere the program writes it: reports, help texts, the diff's marker, the
cache and scratch directories the copy creates."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR

OLD, NEW = "stageline", "acme-shop"
COPY = [
    ".gitignore",
    "Pulumi.yaml",
    "blueprint.yaml",
    "__main__.py",
    "components",
    "pipeline",
    "policies",
    "stacks",
    "pyproject.toml",
]
SKIP = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache")
DIGEST = "sha256:" + "ab" * 32
# Help may name these: the schema's file name is the one the stack files' editor header names
# (stacks/ keeps it), and the example is the template's domain as its stack files hold it.
KEPT = (f"stacks/{OLD}.schema.json", f"dev.{OLD}.example.com")
# Every command's --help in one process. The command people type is pyproject.toml's console
# script (pipeline.usage.command_name), not Pulumi.yaml's name: set apart as COMMAND.
HELP = """
from pipeline import usage
usage.command_name = lambda: "COMMAND"
from pipeline.cli import parser
from pipeline.reference import _subcommands
root = parser()
print(root.format_help())
for command, _ in _subcommands(root):
    print(command.format_help())
"""


def rename(root: Path) -> None:
    """What an adopting team edits: the project's name and the namespace of its stack keys."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    project["name"] = NEW
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    for stack in (root / "stacks").glob("Pulumi.*.yaml"):
        text = stack.read_text().replace(f"\n  {OLD}:", f"\n  {NEW}:")
        stack.write_text(text)


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def commit_all(root: Path, message: str) -> None:
    """Make ``root`` a repository on ``main`` whose one commit holds everything in it."""
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def copy_project(root: Path, venv: bool = True) -> Path:
    """The files a stage render, the pack and a promotion need, copied into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=SKIP)
        else:
            shutil.copy(source, root / name)
    if venv:
        (root / ".venv").symlink_to(PROJECT_DIR / ".venv")
    return root


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("renamed"))
    rename(root)
    assert run(root, "schema").returncode == 0
    commit_all(root, "renamed")
    return root


def test_plan_speaks_the_new_name_and_the_pack_passes(renamed: Path) -> None:
    result = run(renamed, "plan", "--stack", "dev", "--stack", "azure-dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    for stack, render in plan["stacks"].items():
        assert render["error"] is None and render["violations"] == [], stack
        urns = [r["urn"] for r in render["resources"]]
        assert all(urn.startswith(f"urn:pulumi:{stack}::{NEW}::") for urn in urns), stack
        types = {r["type"] for r in render["resources"]}
        assert f"{NEW}:{render['cloud']}:Environment" in types
        assert not any(t.startswith(f"{OLD}:") for t in types)
        assert render["roles"].keys() >= {"Database", "Services"}, "roles read from new tokens"


def test_plan_s_report_and_cache_carry_the_new_name(renamed: Path) -> None:
    result = run(renamed, "plan", "--stack", "dev", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"## {NEW} plan\n"), result.stdout[:200]
    assert OLD not in result.stdout
    assert (renamed / f".{NEW}" / "cache").is_dir()  # the default --cache-dir
    assert not (renamed / f".{OLD}").exists()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=renamed, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f".{NEW}/" not in status, status  # .gitignore keeps the scratch out, whatever its name


def test_help_texts_speak_the_new_name(renamed: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", HELP], cwd=renamed, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert f"{NEW}: render, compare and promote" in text
    assert f".{NEW}/cache" in text  # --cache-dir's default and --no-cache's help
    leftover = re.sub("|".join(map(re.escape, KEPT)), "", text)
    assert OLD not in leftover, [line for line in leftover.splitlines() if OLD in line]


def test_schema_uses_the_new_namespace(renamed: Path) -> None:
    schema = json.loads((renamed / "stacks" / "stageline.schema.json").read_text())
    keys = schema["properties"]["config"]["properties"]
    assert f"{NEW}:stage" in keys and f"{OLD}:stage" not in keys
    assert run(renamed, "schema", "--check").returncode == 0


def test_keys_under_the_old_namespace_are_refused(renamed: Path, tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(renamed / "stacks", stacks)
    dev = stacks / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace(f"  {NEW}:owner:", f"  {OLD}:owner:"))
    result = run(renamed, "plan", "--stack", "dev", "--stacks-dir", str(stacks))
    assert result.returncode == 2
    assert f"Pulumi.dev.yaml: {OLD}:owner: config namespace '{OLD}'" in result.stderr
    assert f"write {NEW}:owner" in result.stderr


def test_diff_renders_both_revisions_under_the_new_name(renamed: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(renamed, work, symlinks=True)
    dev = work / "stacks" / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("logRetentionDays: 14", "logRetentionDays: 30"))
    out = tmp_path / "diff.json"
    args = ["--stack", "dev", "--format", "markdown", "--json-output", str(out)]
    result = run(work, "diff", "--base", "HEAD", *args)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert f"::{NEW}::" in text and f"::{OLD}::" not in text
    assert "retentionInDays" in text
    # The pull-request comment: its marker (the workflow finds its comment by it) and heading.
    assert result.stdout.startswith(f"<!-- {NEW}-diff -->\n## {NEW} diff\n"), result.stdout[:200]
    assert OLD not in result.stdout
    assert (work / f".{NEW}" / "cache").is_dir() and not (work / f".{OLD}").exists()


def test_rehearsal_under_the_new_name(renamed: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    images = [f"--image={s}=ghcr.io/acme/{s}@{DIGEST}" for s in ("api", "web")]
    created = run(renamed, "release", "create", *images, "--state-dir", str(state), "--json")
    assert created.returncode == 0, created.stderr
    release = json.loads(created.stdout.splitlines()[-1])["release"]  # the result event
    result = run(
        renamed, "promote", release, "--to", "dev", "--rehearse", "--state-dir", str(state)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The release is the record's one commit under the new name; a rehearsal adds none.
    log = subprocess.run(
        ["git", "-C", str(state / "record.git"), "log", "--all", "--format=%s"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert log == [f"{NEW}: {release}"], log


@pytest.fixture(scope="module")
def promoted(renamed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The whole promotion, record included: a bare remote, a clone, ``--deployer offline``.
    Returns the clone, the remote and the release."""
    tmp_path = tmp_path_factory.mktemp("promoted")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(renamed), str(remote)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    if not (work / ".venv").exists():  # .gitignore keeps the .venv link out of the copy
        (work / ".venv").symlink_to(PROJECT_DIR / ".venv")
    for key, value in (("user.name", "t"), ("user.email", "t@example.com")):
        git(work, "config", key, value)
    images = [f"--image={s}=ghcr.io/acme/{s}@{DIGEST}" for s in ("api", "web")]
    created = run(work, "release", "create", *images, "--json")
    assert created.returncode == 0, created.stderr
    release = json.loads(created.stdout.splitlines()[-1])["release"]
    result = run(work, "promote", release, "--to", "dev", "--deployer", "offline")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return work, remote, release


def test_an_offline_promotion_records_under_the_new_name(promoted: tuple[Path, Path, str]) -> None:
    """The stage's record pins the release in the new namespace."""
    _, remote, release = promoted
    pinned = subprocess.run(
        ["git", "show", "stages/dev:stacks/Pulumi.dev.yaml"],
        cwd=remote, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"  {NEW}:release: {release}" in pinned and f"{OLD}:" not in pinned
    # The record's commits: subjects, authors and committers.
    log = subprocess.run(
        ["git", "log", "--all", "--format=%an <%ae> %cn <%ce> %s"],
        cwd=remote, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert any(line.endswith(f" {NEW}: {release} start") for line in log), log
    assert not [line for line in log if OLD in line]


def test_the_clone_keeps_its_scratch_under_the_new_name(promoted: tuple[Path, Path, str]) -> None:
    work, _, _ = promoted
    assert (work / ".git" / NEW / "governance").is_dir()  # the governing files, by commit


def test_nothing_of_the_clone_s_scratch_is_under_the_old_name(
    promoted: tuple[Path, Path, str],
) -> None:
    work, _, _ = promoted
    old = work / ".git" / OLD
    assert not old.exists(), sorted(p.name for p in old.iterdir())
