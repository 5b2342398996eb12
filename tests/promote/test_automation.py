"""The Automation API deployer, as far as it can be tested without the Pulumi CLI: the config
it writes, the preview/up arguments, the engine events it reads, the pending operations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pulumi.automation import EngineEvent

from pipeline.promote.automation import (
    AutomationDeployer,
    PreviewRecorder,
    image_config,
    pending_from_deployment,
    preview_arguments,
    stale_holders,
    up_arguments,
)
from pipeline.promote.deployer import (
    DeployError,
    PolicyOptions,
    PolicyResult,
    Preview,
    ReleaseConfig,
)
from pipeline.promote.diff import gate_findings

DIGEST = "sha256:" + "d" * 64
URN = "urn:pulumi:dev::stageline::stageline:aws:Database$aws:rds/instance:Instance::dev-db"


def test_config_and_arguments():
    config = ReleaseConfig("r-1", {"web": f"w@{DIGEST}", "api": f"a@{DIGEST}"})
    assert image_config(config) == {
        "stageline:release": "r-1",
        "stageline:images.api": f"a@{DIGEST}",
        "stageline:images.web": f"w@{DIGEST}",
    }
    policy = PolicyOptions(Path("policies"), Path("policies/config/dev.json"))
    args = preview_arguments(policy, "/tmp/dev.plan.json")
    assert args["plan"] == "/tmp/dev.plan.json"
    assert args["policy_packs"] == ["policies"]
    assert args["policy_pack_configs"] == ["policies/config/dev.json"]
    assert "policy_packs" not in preview_arguments(PolicyOptions(None, None), "p")
    held = up_arguments(Preview([], PolicyResult("passed"), "/tmp/dev.plan.json"))
    assert held["plan"] == "/tmp/dev.plan.json"
    with pytest.raises(DeployError, match="preview first"):
        up_arguments(Preview([], PolicyResult("passed"), None))


def test_preview_events_become_changes_and_policy_results():
    recorder = PreviewRecorder()
    step = {
        "op": "replace",
        "urn": URN,
        "type": "aws:rds/instance:Instance",
        "provider": "",
        "old": {
            "type": "aws:rds/instance:Instance",
            "urn": URN,
            "custom": True,
            "delete": False,
            "id": "x",
            "parent": "",
            "inputs": {"engineVersion": "16"},
            "outputs": {},
            "provider": "",
        },
        "new": {
            "type": "aws:rds/instance:Instance",
            "urn": URN,
            "custom": True,
            "delete": False,
            "id": "",
            "parent": "",
            "inputs": {"engineVersion": "17"},
            "outputs": {},
            "provider": "",
        },
        "diffs": ["engineVersion"],
    }
    recorder(
        EngineEvent.from_json(
            {"sequence": 1, "timestamp": 1, "resourcePreEvent": {"metadata": step}}
        )
    )
    recorder(
        EngineEvent.from_json(
            {
                "sequence": 2,
                "timestamp": 1,
                "policyEvent": {
                    "message": "no public buckets",
                    "color": "never",
                    "policyName": "aws-s3-bucket-private",
                    "policyPackName": "stageline",
                    "policyPackVersion": "0.1.0",
                    "policyPackVersionTag": "0.1.0",
                    "enforcementLevel": "mandatory",
                    "resourceUrn": URN,
                },
            }
        )
    )
    [change] = recorder.changes
    assert (change.op, change.paths) == ("replace", ("engineVersion",)), change
    findings = gate_findings(recorder.changes, ReleaseConfig("a", {}), ReleaseConfig("b", {}))
    assert findings == [f"{URN}: would replace a stateful resource (Database)"]
    result = recorder.policy_result(PolicyOptions(Path("policies"), None))
    assert result.status == "failed" and result.mandatory[0]["urn"] == URN


def test_pending_operations_from_an_export():
    deployment = {"pending_operations": [{"resource": {"urn": URN}, "type": "updating"}]}
    assert pending_from_deployment(deployment) == [f"{URN}: updating"]
    assert pending_from_deployment({}) == []


def test_without_the_cli_every_call_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` on PATH
    deployer = AutomationDeployer(Path(__file__).resolve().parents[2], tmp_path)
    with pytest.raises(DeployError):
        deployer.outputs("dev")


def _refusal(*holders: tuple[str, int]) -> str:
    """The DIY backend's lock refusal (pkg/backend/diy/lock.go, checkForLock), as seen in the
    docker lane after a promotion was killed during its update."""
    lines = [
        "error: the stack is currently locked by 1 lock(s). Either wait for the other"
        " process(es) to end or delete the lock file with `pulumi cancel`."
    ]
    for host, pid in holders:
        lines.append(
            f"  file:///state/.pulumi/locks/organization/p/dev/x.json: created by root@{host}"
            f" (pid {pid}) at 2026-12-06T18:49:43Z"
        )
    return "\n".join(lines)


def test_a_lock_is_stale_only_when_every_holder_is_a_dead_process_of_this_host():
    import socket
    import subprocess

    here = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()  # exited and reaped: its pid names no process
    assert stale_holders(_refusal((here, dead.pid))) == [f"root@{here} (pid {dead.pid})"]
    assert stale_holders(_refusal((here, os.getpid()))) == []  # alive: never broken
    assert stale_holders(_refusal(("another-host", dead.pid))) == []  # cannot be known here
    assert stale_holders(_refusal((here, dead.pid), (here, os.getpid()))) == []
    assert stale_holders("error: the stack is currently locked") == []  # no holder named
