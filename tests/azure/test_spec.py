"""Azure limits on the shared scale keys, checked before anything renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.spec import SpecError, read_stack
from tests.azure.conftest import AZURE_STACKS
from tests.conftest import STACKS_DIR, edit_stack


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_shipped_azure_stacks_validate(stack: str) -> None:
    spec = read_stack(STACKS_DIR, stack).spec()
    assert spec.identity.cloud == "azure"
    assert spec.identity.region == "westeurope"
    assert spec.identity.stage == stack.removeprefix("azure-")


def test_azure_stacks_differ_only_in_scale_and_identity() -> None:
    specs = [read_stack(STACKS_DIR, s).spec() for s in AZURE_STACKS]
    assert len({s.shape.model_dump_json() for s in specs}) == 1
    assert len({s.identity.cidr for s in specs}) == 4


def _scale(path: str, value: Any) -> Any:
    def change(config: dict[str, Any]) -> None:
        node = config.setdefault("stageline:scale", {})
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return change


@pytest.mark.parametrize(
    ("stack", "path", "value", "key", "expected"),
    [
        ("azure-dev", "logRetentionDays", 14, "stageline:scale.logRetentionDays", "30 and 730"),
        ("azure-dev", "database.storageGb", 20, "stageline:scale.database.storageGb", "32"),
        (
            "azure-dev",
            "database.backupRetentionDays",
            1,
            "stageline:scale.database.backupRetentionDays",
            "between 7 and 35",
        ),
        (
            "azure-dev",
            "database.instanceClass",
            "db.t4g.micro",
            "stageline:scale.database.instanceClass",
            "Standard_B1ms",
        ),
        (
            "azure-live",
            "database.instanceClass",
            "Standard_B2s",
            "stageline:scale.database.instanceClass",
            "zone-redundant",
        ),
        (
            "azure-test",
            "services.api.memory",
            1024,
            "stageline:scale.services.api.memory",
            "twice the cpu units (512)",
        ),
    ],
)
def test_values_azure_refuses_name_file_and_key(
    stacks_copy: Path, stack: str, path: str, value: Any, key: str, expected: str
) -> None:
    edit_stack(stacks_copy, stack, _scale(path, value))
    with pytest.raises(SpecError) as caught:
        read_stack(stacks_copy, stack).spec()
    assert caught.value.source.endswith(f"Pulumi.{stack}.yaml")
    problems = {p.key: p.message for p in caught.value.problems}
    assert key in problems, problems
    assert expected in problems[key], problems[key]


def test_aws_stacks_keep_their_own_ranges(stacks_copy: Path) -> None:
    # 14-day retention and 20 GB are fine on AWS; the Azure limits apply to Azure stages only.
    edit_stack(stacks_copy, "dev", _scale("database.storageGb", 20))
    spec = read_stack(stacks_copy, "dev").spec()
    assert spec.scale.log_retention_days == 14
