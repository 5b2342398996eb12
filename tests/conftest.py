"""Shared fixtures: the project's real stack files, copied so a test can change one key."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.render import StageRender, render_stages
from pipeline.stages import load_stages

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_DIR / "stacks"

# State commits are authored by git's identity (pipeline.record.identity), which a fresh CI
# container may not have: $EMAIL is git's last fallback, below any user.email a test configures.
os.environ.setdefault("EMAIL", "tests@example.com")


def as_from_a_terminal() -> None:
    """``preexec_fn`` of a command a test interrupts with SIGINT: SIGINT's default disposition,
    not blocked, as a terminal starts a command. An ignored or blocked SIGINT is inherited
    across exec: a runner started in the background of a shell without job control (``cmd &``
    in a script) ignores it, so Python installs no KeyboardInterrupt handler, and a worker
    thread that blocked it passes the mask on. Either way the Ctrl-C such a test sends would
    never arrive (fresh-clone `make test` runs, 2026-12-07: plan exited 0, diff 1)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.fixture
def stacks_copy(tmp_path: Path) -> Path:
    """A private copy of stacks/ (and Pulumi.yaml beside it) for tests that edit stack files."""
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    target = tmp_path / "stacks"
    shutil.copytree(STACKS_DIR, target)
    return target


def edit_stack(stacks_dir: Path, stack: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """Load stacks_dir/Pulumi.<stack>.yaml, let ``change`` edit its config mapping, save it."""
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def render(stacks_dir: Path, *stacks: str) -> dict[str, StageRender]:
    """Render the given stacks (validated first) in fresh processes, as `plan` does."""
    stages = load_stages(stacks_dir, list(stacks))
    return render_stages(PROJECT_DIR, stages.configs.values())


def by_type(render: StageRender, type_token: str) -> list[dict[str, Any]]:
    return [r for r in render.resources if r["type"] == type_token]
