"""Parity between stages and the `plan` command's contract (exit codes, JSON shape, stderr)."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.parity import compare_resources, parity
from pipeline.render import StageRender
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, as_from_a_terminal, edit_stack, render

PIPELINE = ["dev", "test", "staging", "live"]


def plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def shipped() -> dict[str, StageRender]:
    return render(STACKS_DIR, *PIPELINE)


def test_shipped_stages_have_no_parity_violation(shipped: dict[str, StageRender]) -> None:
    stages = load_stages(STACKS_DIR)
    report = parity(shipped, stages.specs, stages.definition)
    assert report.violations == []
    verdicts = {(row.type, row.property): row.verdict for row in report.rows}
    assert verdicts[("aws:rds/instance:Instance", "instanceClass")] == "allowed"
    assert verdicts[("aws:ec2/vpc:Vpc", "cidrBlock")] == "identity"
    assert verdicts[("aws:ec2/natGateway:NatGateway", "exists")] == "allowed"


def test_missing_resource_in_one_stage_is_a_violation(shipped: dict[str, StageRender]) -> None:
    stages = load_stages(STACKS_DIR)
    renders = copy.deepcopy(dict(shipped))
    renders["test"].resources = [
        r for r in renders["test"].resources if r["type"] != "aws:ec2/flowLog:FlowLog"
    ]
    report = compare_resources("aws", PIPELINE, renders, stages.specs, stages.definition)
    (violation,) = report.violations
    assert violation.stack == "test" and violation.property == "exists"
    assert violation.urn.startswith("urn:pulumi:test::") and "FlowLog" in violation.urn
    assert "missing from this stage" in violation.message


def test_changed_shape_property_is_a_violation(shipped: dict[str, StageRender]) -> None:
    stages = load_stages(STACKS_DIR)
    renders = copy.deepcopy(dict(shipped))
    for resource in renders["staging"].resources:
        if resource["type"] == "aws:rds/instance:Instance":
            resource["inputs"]["publiclyAccessible"] = True
    report = compare_resources("aws", PIPELINE, renders, stages.specs, stages.definition)
    (violation,) = report.violations
    assert (violation.stack, violation.property) == ("staging", "publiclyAccessible")
    assert "not a scale key" in violation.message


def _shape_major(version: int) -> Any:
    def change(config: dict[str, Any]) -> None:
        config["stageline:shape"] = {"database": {"majorVersion": version}}

    return change


def test_plan_exits_0_and_json_contract() -> None:
    result = plan("--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(PIPELINE) <= set(doc["stacks"])
    for name in PIPELINE:
        stack = doc["stacks"][name]
        assert stack["resources"], name
        for resource in stack["resources"]:
            assert {"urn", "type", "name", "parent", "inputs"} <= set(resource)
        assert stack["violations"] == []
    assert doc["parity"]["violations"] == []
    row = doc["parity"]["matrix"][0]
    assert {"pipeline", "resource", "type", "property", "values", "verdict", "reason"} <= set(row)
    assert doc["exitCode"] == 0


def test_plan_table_and_markdown() -> None:
    table = plan("--stack", "dev", "--stack", "live")
    assert table.returncode == 0, table.stderr
    assert "Differences between stages" in table.stdout and "instanceClass" in table.stdout
    assert "Result: clean" in table.stdout
    markdown = plan("--stack", "dev", "--stack", "live", "--format", "markdown")
    assert markdown.stdout.startswith("## stageline plan")
    assert "| `live` | aws |" in markdown.stdout


def test_different_database_major_version_exits_1(stacks_copy: Path) -> None:
    edit_stack(stacks_copy, "test", _shape_major(15))
    result = plan("--stacks-dir", str(stacks_copy), "--format", "json")
    assert result.returncode == 1, result.stderr
    violations = json.loads(result.stdout)["parity"]["violations"]
    props = {(v["stack"], v["property"]) for v in violations}
    assert ("test", "shape.database.majorVersion") in props
    assert ("test", "engineVersion") in props
    assert all(v["stack"] == "test" for v in violations), violations


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (
            lambda c: c["stageline:scale"].__setitem__("logRetentionDay", 30),
            "stageline:scale.logRetentionDay",
        ),
        (
            lambda c: c["stageline:images"].__setitem__("api", "ghcr.io/stageline/api:latest"),
            "stageline:images.api",
        ),
        (lambda c: c.__setitem__("stageline:cidr", True), "stageline:cidr"),
    ],
)
def test_invalid_config_exits_2_naming_file_and_key(
    stacks_copy: Path, change: Any, key: str
) -> None:
    edit_stack(stacks_copy, "dev", change)
    result = plan("--stacks-dir", str(stacks_copy))
    assert result.returncode == 2
    assert result.stdout == "", "nothing is rendered for an invalid configuration"
    assert f"Pulumi.dev.yaml: {key}:" in result.stderr, result.stderr


def test_unknown_stack_exits_2() -> None:
    result = plan("--stack", "prod")
    assert result.returncode == 2
    assert "no stack 'prod'" in result.stderr


def test_ctrl_c_stops_plan_cleanly() -> None:
    """One line and exit 130: no traceback from the stage processes or the fork server."""
    process = subprocess.Popen(
        # --no-cache: a cached plan could finish before the signal lands
        [sys.executable, "-m", "pipeline", "plan", "--no-cache"],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    time.sleep(1.5)  # a full plan takes several seconds: the signal lands mid-run
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err == "plan: interrupted\n"
    assert out == ""
