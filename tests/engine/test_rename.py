"""Renaming the project: what the real engine says, and that the offline tools say the same.

Renaming `name` in Pulumi.yaml alone leaves the stack keys under the old namespace; the engine
then refuses the stack for the config Pulumi.yaml declares without a default, and `plan` must
refuse it too (it used to stay green with `::stageline::` URNs). Renaming the keys as well is the
whole change an adopting team makes: the engine previews it under the new name, and the offline
plan agrees on every URN.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.engine.conftest import Sandbox, offline_plan

pytestmark = pytest.mark.engine

NEW = "acme-shop"


def _rename_project(sandbox: Sandbox) -> str:
    path = sandbox.project / "Pulumi.yaml"
    project = yaml.safe_load(path.read_text())
    old = project["name"]
    project["name"] = NEW
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    return str(old)


def test_name_alone_fails_in_the_engine_and_in_plan(fresh: Sandbox) -> None:
    _rename_project(fresh)
    fresh.init("dev")
    engine = fresh.pulumi("preview", stack="dev", check=False)
    assert engine.returncode != 0
    assert "missing configuration values" in engine.stdout + engine.stderr
    plan = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", "--stack", "dev"],
        cwd=fresh.project,
        capture_output=True,
        text=True,
    )
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "Traceback" not in plan.stderr


def test_name_and_namespace_preview_under_the_new_name(fresh: Sandbox) -> None:
    old = _rename_project(fresh)
    for stack in (fresh.project / "stacks").glob("Pulumi.*.yaml"):
        stack.write_text(stack.read_text().replace(f"\n  {old}:", f"\n  {NEW}:"))
    fresh.init("dev")
    steps = json.loads(fresh.pulumi("preview", "--json", stack="dev").stdout)["steps"]
    engine = sorted(s["urn"] for s in steps if s["newState"]["type"] != "pulumi:pulumi:Stack")
    assert all(f"::{NEW}::" in urn for urn in engine)
    offline = offline_plan(fresh.project, "dev")["stacks"]["dev"]["resources"]
    assert engine == sorted(r["urn"] for r in offline)
