"""The Automation API deployer sets a release, previews it with the pack and applies it."""

from __future__ import annotations

import pytest

from pipeline.promote.automation import AutomationDeployer
from pipeline.promote.deployer import PolicyOptions, ReleaseConfig
from tests.engine.conftest import Sandbox
from tests.engine.test_deploy import NEW_API, NEW_WEB

pytestmark = pytest.mark.engine


def test_automation_deployer_sets_release_previews_with_policy_and_ups(
    fresh: Sandbox, automation: AutomationDeployer
) -> None:
    policy = PolicyOptions(
        fresh.project / "policies", fresh.project / "policies" / "config" / "dev.json"
    )
    first = automation.preview("dev", policy)
    assert first.policy.status == "passed", first.policy
    assert {c.op for c in first.changes} == {"create"}
    automation.up("dev", first)
    assert automation.outputs("dev")["release"] == "bootstrap"

    previous = automation.set_images("dev", ReleaseConfig("r2", {"api": NEW_API, "web": NEW_WEB}))
    assert previous.release == "bootstrap"
    second = automation.preview("dev", policy)
    changed = {c.urn.rsplit("::", 1)[1]: c.op for c in second.changes if c.op != "same"}
    # The release changes the task definitions (and what follows from them), nothing stateful.
    assert any(name.endswith("-task") for name in changed), changed
    assert not any("database" in name or "bucket" in name for name in changed), changed
    automation.up("dev", second)
    outputs = automation.outputs("dev")
    assert outputs["release"] == "r2"
    assert outputs["digests"] == {"api": "sha256:" + "a" * 64, "web": "sha256:" + "b" * 64}
    assert automation.pending_operations("dev") == []


def test_a_torn_checkpoint_sidecar_is_repaired_and_recorded(
    fresh: Sandbox, automation: AutomationDeployer
) -> None:
    """What a promotion killed inside its update left in the docker lane: the checkpoint's
    metadata sidecar truncated (gocloud fileblob writes it in place), so the real CLI cannot
    load the stack. The deployer removes it, selects the stack and says so in ``up``'s notes."""
    policy = PolicyOptions(None, None)
    automation.up("dev", automation.preview("dev", policy))
    sidecars = list(fresh.state.glob(".pulumi/stacks/*/dev.json.attrs"))
    assert len(sidecars) == 1, sorted(fresh.state.rglob("*"))
    sidecars[0].write_bytes(b"")  # what a kill between setAttrs' create and encode leaves
    refused = fresh.pulumi("stack", "select", "dev", check=False)
    assert refused.returncode != 0 and "failed to load checkpoint: EOF" in refused.stderr, refused

    resumed = AutomationDeployer(fresh.project, fresh.project.parent / "plans")
    previous = resumed.set_images("dev", ReleaseConfig("r2", {"api": NEW_API, "web": NEW_WEB}))
    assert previous.release == "bootstrap"
    notes = resumed.up("dev", resumed.preview("dev", policy))
    assert len(notes) == 1 and "dev.json.attrs" in notes[0], notes
    assert resumed.outputs("dev")["release"] == "r2"
    assert fresh.pulumi("stack", "select", "dev", check=False).returncode == 0
