"""Checkov over azure-live as an ARM template (tools/checkov_arm.py): no finding outside the
waivers, none stale, and a weakened copy reported, so the checks are known to run."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_DIR, STACKS_DIR, render
from tests.test_checkov import WAIVERS, _checkov

sys.path.insert(0, str(PROJECT_DIR / "tools"))
import checkov_arm
import checkov_waivers

STACK = "azure-live"
BROKEN = "azure-live-weakened"
ACCOUNT = "Microsoft.Storage/storageAccounts"


def _weakened(template: dict[str, Any]) -> dict[str, Any]:
    """The storage account on TLS 1.0 (CKV_AZURE_44) and open to every network (CKV_AZURE_35)."""
    broken = copy.deepcopy(template)
    for resource in broken["resources"]:
        if resource["type"] == ACCOUNT:
            resource["properties"]["minimumTlsVersion"] = "TLS1_0"
            resource["properties"]["networkAcls"]["defaultAction"] = "Allow"
    return broken


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, str]]]:
    where = tmp_path_factory.mktemp("checkov-arm")
    result = render(STACKS_DIR, STACK)[STACK]
    assert result.error is None, result.error
    template = checkov_arm.template(result.resources)
    (where / f"{STACK}.json").write_text(json.dumps(template))
    (where / f"{BROKEN}.json").write_text(json.dumps(_weakened(template)))
    command = [_checkov(), "--framework", "arm", "--compact", "--skip-download"]
    command += ["--output", "json", "-f", str(where / f"{STACK}.json")]
    command += ["-f", str(where / f"{BROKEN}.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=where)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    out: dict[str, set[tuple[str, str]]] = {STACK: set(), BROKEN: set()}
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
        # Every azure-native resource of the stage is in the template Checkov read.
        assert report["summary"]["resource_count"] >= 30, report["summary"]
        assert len(report["results"]["passed_checks"]) >= 20, report["summary"]
        for failed in report["results"]["failed_checks"]:
            out[Path(failed["file_path"]).stem].add((failed["check_id"], failed["resource"]))
    return out


def test_azure_live_has_no_finding_outside_the_waivers(
    findings: dict[str, set[tuple[str, str]]],
) -> None:
    waivers = checkov_waivers.load(WAIVERS)
    unwaived = sorted(f for f in findings[STACK] if not any(w.covers(STACK, *f) for w in waivers))
    assert not unwaived, f"fix these or waive them with a reason: {unwaived}"


def test_no_stale_azure_waiver(findings: dict[str, set[tuple[str, str]]]) -> None:
    for waiver in checkov_waivers.load(WAIVERS):
        if waiver.stacks and STACK in waiver.stacks:
            hit = any(waiver.covers(STACK, *f) for f in findings[STACK])
            assert hit, f"{waiver.check} passes on {STACK} now: drop its waiver"


def test_a_weakened_account_is_reported(findings: dict[str, set[tuple[str, str]]]) -> None:
    checks = {check for check, _ in findings[BROKEN] - findings[STACK]}
    assert {"CKV_AZURE_44", "CKV_AZURE_35"} <= checks, findings[BROKEN]


def test_inputs_go_back_to_the_arm_body() -> None:
    resource = {
        "type": "azure-native:storage:StorageAccount",
        "name": "s-storage-account",
        "custom": True,
        "inputs": {
            "accountName": "sa1",
            "resourceGroupName": "rg",
            "location": "westeurope",
            "sku": {"name": "Standard_ZRS"},
            "minimumTlsVersion": "TLS1_2",
            "networkRuleSet": {"defaultAction": "Deny"},
        },
    }
    assert checkov_arm.arm_resource(resource) == {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": checkov_arm.API_VERSION,
        "name": "sa1",
        "location": "westeurope",
        "sku": {"name": "Standard_ZRS"},
        "properties": {"minimumTlsVersion": "TLS1_2", "networkAcls": {"defaultAction": "Deny"}},
    }
    nsg = {
        "type": "azure-native:network:NetworkSecurityGroup",
        "name": "s-nsg",
        "custom": True,
        "inputs": {"securityRules": [{"name": "r", "access": "Allow"}]},
    }
    arm = checkov_arm.arm_resource(nsg)
    assert arm is not None
    assert arm["properties"]["securityRules"] == [{"name": "r", "properties": {"access": "Allow"}}]
    assert checkov_arm.arm_resource({**nsg, "type": "docker:index/network:Network"}) is None
