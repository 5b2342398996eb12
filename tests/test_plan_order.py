"""``plan --format json`` is the same bytes on every run: resources in URN order, whatever order
the SDK's tasks registered them in (it varies between runs and with the hash seed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import PROJECT_DIR

# Two stages of a pipeline (a parity matrix), another cloud, and the local substrate.
STACKS = ["dev", "live", "azure-dev", "local"]


def _plan_json(seed: str) -> str:
    args = [a for s in STACKS for a in ("--stack", s)]
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", "--format", "json", "--no-cache", *args],
        cwd=PROJECT_DIR,
        env=dict(os.environ, PYTHONHASHSEED=seed),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_plan_json_is_the_same_bytes_in_two_processes() -> None:
    first, second = _plan_json("1"), _plan_json("2")
    doc = json.loads(first)
    for stack in STACKS:
        urns = [r["urn"] for r in doc["stacks"][stack]["resources"]]
        assert urns == sorted(urns), f"{stack}: resources not in URN order"
    assert first == second, "plan --format json differs between two runs"
