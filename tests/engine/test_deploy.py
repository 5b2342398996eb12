"""`pulumi up --plan`, stack outputs and the Automation API deployer, on the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.promote.automation import AutomationDeployer
from pipeline.promote.deployer import PolicyOptions, StackBusyError
from tests.engine.conftest import Sandbox, offline_plan

NEW_API = "ghcr.io/stageline/api@sha256:" + "a" * 64
NEW_WEB = "ghcr.io/stageline/web@sha256:" + "b" * 64

pytestmark = pytest.mark.engine


def test_up_with_saved_plan_then_outputs_match_offline(fresh: Sandbox, tmp_path: Path) -> None:
    fresh.init("dev")
    plan = tmp_path / "dev.plan.json"
    fresh.pulumi("preview", "--save-plan", str(plan), stack="dev")
    fresh.pulumi("up", "--plan", str(plan), "--yes", stack="dev")
    outputs = json.loads(fresh.pulumi("stack", "output", "--json", stack="dev").stdout)
    offline = offline_plan(fresh.project, "dev")["stacks"]["dev"]["outputs"]
    assert outputs == offline
    # A second preview of the unchanged program: the engine finds nothing to do.
    again = json.loads(fresh.pulumi("preview", "--json", stack="dev").stdout)
    assert {s["op"] for s in again["steps"]} == {"same"}


def test_concurrent_update_is_reported_as_busy(
    fresh: Sandbox, automation: AutomationDeployer
) -> None:
    """While another `pulumi up` holds the stack's lock, the deployer says the stack is busy."""
    policy = PolicyOptions(None, None)
    preview = automation.preview("dev", policy)
    # A first `up` in another process; the file backend takes the stack lock at its start.
    other = subprocess.Popen(
        [str(fresh.bin / "pulumi"), "up", "--yes", "--non-interactive", "--stack", "dev"],
        cwd=fresh.project,
        env=fresh.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock_dir = fresh.state / ".pulumi" / "locks"
        deadline = time.monotonic() + 120
        while not any(lock_dir.rglob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(lock_dir.rglob("*.json")), "the other update never took the lock"
        with pytest.raises(StackBusyError, match="lock"):
            automation.up("dev", preview)
    finally:
        other.wait(timeout=300)
    assert os.environ["PULUMI_BACKEND_URL"].startswith("file://")
