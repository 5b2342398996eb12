"""``diff``'s pure parts: replacement table, stage diff, masking, and the comment size limit."""

from __future__ import annotations

import json

from components.replacement import forcing_paths
from pipeline.diff.compare import (
    DiffResult,
    Finding,
    PropertyChange,
    ResourceChange,
    StageDiff,
    stage_diff,
)
from pipeline.diff.masking import MASK, Masker
from pipeline.diff.output import COMMENT_LIMIT, MARKER, as_json, markdown, table
from pipeline.diff.revisions import Revision


def test_forcing_paths_read_the_root_of_nested_paths() -> None:
    found = forcing_paths(
        "aws:ecr/repository:Repository",
        ["encryptionConfigurations[0].kmsKey", "imageTagMutability", "tags.Name"],
    )
    assert found == ("encryptionConfigurations[0].kmsKey",)
    assert forcing_paths("aws:ecs/service:Service", ["desiredCount"]) == ()


def _resource(urn: str, type_token: str, **inputs: object) -> dict[str, object]:
    return {
        "urn": urn,
        "type": type_token,
        "name": urn.split("::")[-1],
        "custom": True,
        "inputs": inputs,
        "options": {"retainOnDelete": False},
    }


def _plan(*resources: dict[str, object]) -> dict[str, object]:
    return {"stacks": {"dev": {"resources": list(resources)}}}


DB = "urn:pulumi:dev::stageline::stageline:aws:Database$aws:rds/instance:Instance::dev-db"
BUCKET = "urn:pulumi:dev::stageline::aws:s3/bucket:Bucket::dev-bucket"


def test_stage_diff_sees_added_removed_changed_and_replaced() -> None:
    base = _plan(
        _resource(DB, "aws:rds/instance:Instance", dbName="app", port=5432),
        _resource(BUCKET, "aws:s3/bucket:Bucket"),
    )
    head = _plan(
        _resource(DB, "aws:rds/instance:Instance", dbName="core", port=5432, policy='{"a": 1}'),
        _resource(BUCKET.replace("dev-bucket", "dev-logs"), "aws:s3/bucket:Bucket"),
    )
    diff = stage_diff("dev", base, head)
    assert [r.urn for r in diff.added] == [BUCKET.replace("dev-bucket", "dev-logs")]
    assert [r.urn for r in diff.removed] == [BUCKET]
    assert diff.removed[0].destroys_data, BUCKET
    (database,) = diff.changed
    assert database.changes == (
        PropertyChange("dbName", "app", "core"),
        PropertyChange("policy.a", None, 1),
    ), DB
    assert database.replaced_by == ("dbName",), DB
    assert diff.destroying == [diff.removed[0], database]


def test_masker_hides_secret_values_in_text_and_data() -> None:
    masker = Masker(["s3cr3t-value", 'quo"te-secret', "abc"])
    data = {"inputs": {"x": "prefix s3cr3t-value suffix"}, "s3cr3t-value": ['quo"te-secret']}
    masked = masker.data(data)
    text = json.dumps(masked)
    assert "s3cr3t" not in text and "quo" not in text, text
    assert masked["inputs"]["x"] == f"prefix {MASK} suffix"
    assert masker.text(json.dumps(data)).count(MASK) == 3
    assert masker.text("abc stays: too short to be a credential").startswith("abc")


def _huge_result(stages: int = 4, resources: int = 400, properties: int = 20) -> DiffResult:
    diffs = {}
    for index in range(stages):
        stack = f"stage{index}"
        changed = [
            ResourceChange(
                f"urn:pulumi:{stack}::stageline::aws:ecs/taskDefinition:TaskDefinition::{stack}-{n}",
                "aws:ecs/taskDefinition:TaskDefinition",
                f"{stack}-task-{n}",
                "change",
                tuple(
                    PropertyChange(f"containerDefinitions[0].env[{p}]", "x" * 50, "y" * 50)
                    for p in range(properties)
                ),
            )
            for n in range(resources)
        ]
        diffs[stack] = StageDiff(stack, changed=changed)
    findings = [
        Finding("parity", "stage0", f"urn:{n}", f"prop{n}", "differs " * 10, n % 2 == 0)
        for n in range(300)
    ]
    return DiffResult(Revision("main", "a" * 40), Revision("working tree"), diffs, findings)


def test_markdown_stays_under_the_comment_limit_and_says_what_was_cut() -> None:
    result = _huge_result()
    assert len(table(result)) > 10 * COMMENT_LIMIT, "the case must really be huge"
    text = markdown(result)
    assert len(text) <= COMMENT_LIMIT, len(text)
    assert text.startswith(MARKER)
    assert "Cut to stay under GitHub's 65,536-character comment limit" in text
    assert text.count("<details>") == text.count("</details>")
    new = [f for f in result.findings if f.new]
    assert all(f"`{f.rule}`" in text for f in new), "new findings are never cut"
    for stack in result.stages:
        assert f"| `{stack}` | 0 | 0 | 400 |" in text, stack
    # The JSON output is never cut.
    assert len(json.loads(as_json(result))["stages"]["stage3"]["changed"]) == 400


def test_small_markdown_is_not_cut() -> None:
    text = markdown(_huge_result(stages=2, resources=2, properties=2))
    assert "Cut to stay" not in text
    assert text.count("<details>") == 2
