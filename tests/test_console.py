"""The command people type: the console script ``pyproject.toml`` declares, installed the way
``make`` installs it; one line (no traceback) from a Python without the dependencies; exact
option names only."""

from __future__ import annotations

import importlib.util
import json
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import usage
from pipeline.cli import main

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What an editable install and the CLI read from a checkout (plan: the program and the pack).
CHECKOUT = (
    "pyproject.toml", "Pulumi.yaml", "blueprint.yaml", "__main__.py",
    "pipeline", "components", "stacks", "policies",
)  # fmt: skip


def test_the_command_is_the_console_script_pyproject_declares():
    assert usage.command_name() != usage.MODULE_COMMAND
    assert f'{usage.command_name()} = "{usage.ENTRY_POINT}"' in (
        (PROJECT_DIR / "pyproject.toml").read_text()
    )


def test_without_the_dependencies_it_says_how_to_get_them_in_one_line():
    # -S: no site-packages, so neither .venv's packages nor the system's are importable.
    done = subprocess.run(
        [sys.executable, "-S", "-m", "pipeline", "plan"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "make plan" in lines[0]
    assert f".venv/bin/{usage.command_name()}" in lines[0]


@pytest.mark.parametrize(
    "words, wrong",
    [
        (["plan", "--stacks", "stacks"], "--stacks"),  # once taken for --stacks-dir
        (["plan", "--form", "json"], "--form"),
        (["history", "--lim", "3"], "--lim"),
    ],
)
def test_only_exact_option_names(words, wrong, capsys):
    assert main(words) == 2
    err = capsys.readouterr().err
    assert f"unrecognized arguments: {wrong}" in err
    assert err.startswith(f"{usage.command_name()}")


def _checkout(into: Path) -> Path:
    into.mkdir()
    for name in CHECKOUT:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh environment with the project installed as ``make`` does (editable, no deps) from
    a copy whose CLI describes itself differently, so a test can tell which code ran. The
    dependencies come from this environment (a .pth), not from PyPI."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("no setuptools in this environment to build the editable install offline")
    base = tmp_path_factory.mktemp("console")
    copy = _checkout(base / "copy")
    cli = copy / "pipeline" / "cli.py"
    cli.write_text(cli.read_text().replace("render, compare and promote", "COPY-OF-THE-CHECKOUT"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    purelib = next(venv.glob("lib/python*/site-packages"))
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "--quiet"]
    quiet = ["--disable-pip-version-check", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "install", *quiet, "--editable", copy],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv / "bin" / usage.command_name(), copy, base


def test_the_console_script_runs_the_cli(installed):
    script, _, base = installed
    done = subprocess.run([script, "stages"], cwd=base, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "aws" in done.stdout and "azure" in done.stdout
    helped = subprocess.run(
        [script, "--help"], cwd=base, capture_output=True, text=True, timeout=120
    )
    assert helped.stdout.startswith(f"usage: {usage.command_name()} ")
    assert "COPY-OF-THE-CHECKOUT" in helped.stdout  # outside a checkout: the installed one


def test_the_console_script_runs_the_checkout_it_is_run_in(installed):
    """A worktree of a stage's branch that shares another checkout's .venv renders with its
    own code (docs/promotion.md, reproducing a stage)."""
    script, copy, _ = installed
    inside = subprocess.run(
        [script, "--help"], cwd=copy / "stacks", capture_output=True, text=True, timeout=120
    )
    assert "COPY-OF-THE-CHECKOUT" in inside.stdout
    elsewhere = subprocess.run(
        [script, "--help"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "COPY-OF-THE-CHECKOUT" not in elsewhere.stdout
    assert "render, compare and promote" in elsewhere.stdout


def test_the_reproduce_a_stage_recipe_from_a_fresh_worktree(installed, tmp_path):
    """docs/promotion.md, "Reproducing a stage by hand": a new worktree has no .venv; linked
    to an existing one, its stageline renders the stage with the worktree's own code."""
    script, copy, _ = installed
    environment = script.parent.parent
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stage"]):
        subprocess.run([*git, *args], cwd=copy, check=True, capture_output=True)
    worktree = tmp_path / "live"
    subprocess.run([*git, "worktree", "add", "-q", worktree, "HEAD"], cwd=copy, check=True)
    assert not (worktree / ".venv").exists()
    (worktree / ".venv").symlink_to(environment)  # ln -s "$OLDPWD/.venv" .venv
    done = subprocess.run(
        [".venv/bin/" + usage.command_name(), "plan", "--stack", "live", "--format", "json"],
        cwd=worktree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stack = json.loads(done.stdout)["stacks"]["live"]
    assert stack["resources"] and stack["source"].endswith("Pulumi.live.yaml")
    assert "COPY-OF-THE-CHECKOUT" in subprocess.run(
        [".venv/bin/" + usage.command_name(), "--help"],
        cwd=worktree, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
