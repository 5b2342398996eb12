"""`pulumi preview` by the real engine agrees with the offline plan, and enforces the pack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine.conftest import STACKS, Sandbox, offline_plan

STACK_TYPE = "pulumi:pulumi:Stack"
# How the engine's `preview --json` shows a secret, and the offline plan's markers.
ENGINE_SECRET = "[secret]"

pytestmark = pytest.mark.engine


def _engine_graph(sandbox: Sandbox, stack: str, *extra: str) -> dict[str, dict[str, Any]]:
    out = sandbox.pulumi("preview", "--json", *extra, stack=stack)
    steps = json.loads(out.stdout)["steps"]
    return {s["urn"]: s["newState"] for s in steps if s["newState"]["type"] != STACK_TYPE}


def _normal(value: Any) -> Any:
    """Inputs as both sides can show them: secrets and unknowns are markers, not values."""
    if isinstance(value, dict):
        if "4dabf18193072939515e22adb298388d" in value:  # a serialized secret
            return "[secret]"
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if value == "04da6b54-80e4-46f7-96ec-b56ff0331ba9":
        return "[unknown]"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.fixture(scope="module")
def plans(shared: Sandbox) -> dict[str, Any]:
    return offline_plan(shared.project)["stacks"]


@pytest.mark.parametrize("stack", STACKS)
def test_real_preview_with_policy_pack_matches_offline_graph(
    shared: Sandbox, plans: dict[str, Any], stack: str, tmp_path
) -> None:
    stage = plans[stack]["stage"]
    plan_file = tmp_path / "plan.json"
    engine = _engine_graph(
        shared,
        stack,
        "--policy-pack",
        "policies",
        "--policy-pack-config",
        f"policies/config/{stage}.json",
        "--save-plan",
        str(plan_file),
    )
    assert json.loads(plan_file.read_text())["resourcePlans"], "no update plan was saved"
    offline = {r["urn"]: r for r in plans[stack]["resources"]}
    assert sorted(engine) == sorted(offline)
    stack_urn = next(iter(engine.values()))["urn"].split("::")[0] + "::"
    for urn, state in engine.items():
        mine = offline[urn]
        assert state["type"] == mine["type"], urn
        parent = state.get("parent", "")
        if STACK_TYPE in parent:
            parent = ""  # the offline plan leaves the root stack out of parents
        assert parent == mine["parent"], urn
        assert _normal(state.get("inputs", {})) == _normal(mine["inputs"]), urn
    assert stack_urn.startswith("urn:pulumi:")


def test_mandatory_violation_fails_the_real_preview(fresh: Sandbox) -> None:
    """A copy whose bucket allows public ACLs: the pack, run by the engine, stops the preview."""
    storage = fresh.project / "components" / "aws" / "storage.py"
    source = storage.read_text()
    assert "block_public_acls=True" in source
    storage.write_text(source.replace("block_public_acls=True", "block_public_acls=False"))
    fresh.init("dev")
    out = fresh.pulumi(
        "preview",
        "--policy-pack",
        "policies",
        "--policy-pack-config",
        "policies/config/dev.json",
        stack="dev",
        check=False,
    )
    assert out.returncode != 0
    assert "mandatory" in out.stdout + out.stderr
