"""The stage spec: shipped stacks validate; bad ones fail early, naming file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.spec import SpecError, read_stack
from components.spec.loader import UNKNOWN
from pipeline.stages import StagesError, load_stages
from tests.conftest import STACKS_DIR, edit_stack

SHIPPED = ["dev", "test", "staging", "live"]
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("stack", SHIPPED)
def test_shipped_stacks_validate(stack: str) -> None:
    spec = read_stack(STACKS_DIR, stack).spec()
    assert spec.identity.stage == stack
    assert spec.shape.database.engine == "postgres"
    assert set(spec.release.images) == set(spec.shape.services)
    assert len(spec.shape.services) >= 2


def test_shipped_stacks_differ_only_in_scale_and_identity() -> None:
    specs = {s: read_stack(STACKS_DIR, s).spec() for s in SHIPPED}
    shapes = {s: spec.shape for s, spec in specs.items()}
    assert len({shape.model_dump_json() for shape in shapes.values()}) == 1
    assert (
        specs["live"].scale.database.multi_az and specs["live"].scale.database.deletion_protection
    )
    assert specs["dev"].scale != specs["live"].scale


def _problems(stacks_dir: Path, stack: str) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        read_stack(stacks_dir, stack).spec()
    assert caught.value.source.endswith(f"Pulumi.{stack}.yaml")
    return [(p.key, p.message) for p in caught.value.problems]


def _set(path: str, value: Any) -> Any:
    def change(config: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return change


@pytest.mark.parametrize(
    ("stack", "path", "value", "key", "expected"),
    [
        (
            "dev",
            "stageline:scale.logRetentionDay",
            30,
            "stageline:scale.logRetentionDay",
            "unknown key",
        ),
        (
            "dev",
            "stageline:scale.database.storageGb",
            "lots",
            "stageline:scale.database.storageGb",
            "valid integer",
        ),
        (
            "dev",
            "stageline:images.api",
            "ghcr.io/stageline/api:latest",
            "stageline:images.api",
            "pinned by digest",
        ),
        (
            "dev",
            "stageline:images.api",
            "ghcr.io/stageline/api:v1",
            "stageline:images.api",
            "pinned by digest",
        ),
        (
            "dev",
            "stageline:images.worker",
            f"ghcr.io/x/worker@{DIGEST}",
            "stageline:images.worker",
            "a service of the shape",
        ),
        ("dev", "stageline:cidr", "10.10.0.0/33", "stageline:cidr", "IPv4 network"),
        ("dev", "stageline:cidr", "8.8.0.0/16", "stageline:cidr", "private"),
        (
            "dev",
            "stageline:scale.logRetentionDays",
            31,
            "stageline:scale.logRetentionDays",
            "expected one of",
        ),
        (
            "dev",
            "stageline:scale.services.api.cpu",
            300,
            "stageline:scale.services.api.cpu",
            "expected one of",
        ),
        (
            "dev",
            "stageline:scale.services.api.maxReplicas",
            0,
            "stageline:scale.services.api.maxReplicas",
            "greater than or equal to 1",
        ),
        (
            "dev",
            "stageline:shape.database.majorVersion",
            9,
            "stageline:shape.database.majorVersion",
            "greater than or equal to 13",
        ),
        ("dev", "stageline:colour", "blue", "stageline:colour", "unknown key"),
        ("dev", "aws:region", None, "aws:region", "at least 1 character"),
        (
            "live",
            "stageline:scale.database.multiAz",
            False,
            "stageline:scale.database.multiAz",
            "true in live",
        ),
        (
            "live",
            "stageline:scale.database.deletionProtection",
            False,
            "stageline:scale.database.deletionProtection",
            "true in live",
        ),
    ],
)
def test_bad_config_names_file_and_key(
    stacks_copy: Path, stack: str, path: str, value: Any, key: str, expected: str
) -> None:
    edit_stack(
        stacks_copy,
        stack,
        _set(path, value) if "." in path.split(":")[1] else lambda c: c.__setitem__(path, value),
    )
    problems = _problems(stacks_copy, stack)
    assert any(k == key and expected in m for k, m in problems), problems


def test_missing_required_key(stacks_copy: Path) -> None:
    edit_stack(stacks_copy, "test", lambda c: c.pop("stageline:owner"))
    assert ("stageline:owner", "required, but not set") in _problems(stacks_copy, "test")


def test_secure_values_become_unknown_secrets(stacks_copy: Path) -> None:
    edit_stack(
        stacks_copy,
        "dev",
        lambda c: c.__setitem__(
            "stageline:secrets", {"apiToken": {"secure": "v1:c2VjcmV0LWNpcGhlcnRleHQ="}}
        ),
    )
    config = read_stack(stacks_copy, "dev")
    assert "stageline:secrets" in config.secret_keys
    assert UNKNOWN in config.values["stageline:secrets"]
    assert "c2VjcmV0LWNpcGhlcnRleHQ" not in config.values["stageline:secrets"]
    assert config.spec().secret_keys == ("apiToken",)


def test_plain_text_secrets_are_refused(stacks_copy: Path) -> None:
    edit_stack(
        stacks_copy, "dev", lambda c: c.__setitem__("stageline:secrets", {"apiToken": "hunter2"})
    )
    assert ("stageline:secrets", "expected secure: values, got plain text") in _problems(
        stacks_copy, "dev"
    )


def test_overlapping_cidrs_between_stages(stacks_copy: Path) -> None:
    edit_stack(stacks_copy, "test", lambda c: c.__setitem__("stageline:cidr", "10.10.128.0/17"))
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy)
    message = str(caught.value)
    assert "Pulumi.test.yaml: stageline:cidr" in message and "overlap dev" in message


def test_scale_key_the_pipeline_does_not_allow(stacks_copy: Path) -> None:
    pipeline = stacks_copy / "pipeline.yaml"
    pipeline.write_text(
        pipeline.read_text().replace(
            "      - stack: dev\n", "      - stack: dev\n        scaleKeys: []\n"
        )
    )
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy, ["dev"])
    assert "Pulumi.dev.yaml: stageline:scale.logRetentionDays" in str(caught.value)


def test_invalid_yaml_names_the_file(stacks_copy: Path) -> None:
    (stacks_copy / "Pulumi.dev.yaml").write_text("config: [unclosed\n")
    problems = _problems(stacks_copy, "dev")
    assert problems[0][0] == "config" and "not valid YAML" in problems[0][1]


def test_schema_file_is_current() -> None:
    from components.spec.schema import SCHEMA_FILE, render_schema

    assert (STACKS_DIR / SCHEMA_FILE).read_text() == render_schema(), (
        "stacks/stageline.schema.json is stale: run python -m pipeline schema"
    )


def test_pipeline_schema_file_is_current_and_types_promotion() -> None:
    import json

    from pipeline.definition import SCHEMA_FILE, render_pipeline_schema

    text = (STACKS_DIR / SCHEMA_FILE).read_text()
    assert text == render_pipeline_schema(), (
        "stacks/pipeline.schema.json is stale: run python -m pipeline schema"
    )
    promotion = json.loads(text)["$defs"]["Promotion"]
    assert promotion["enum"] == ["direct", "pullRequest"]


def test_an_unknown_promotion_names_the_key(stacks_copy: Path) -> None:
    from pipeline.definition import load_pipeline

    path = stacks_copy / "pipeline.yaml"
    path.write_text(
        path.read_text().replace(
            "        approval: required\n", "        approval: required\n        promotion: pr\n", 1
        )
    )
    with pytest.raises(SpecError) as caught:
        load_pipeline(stacks_copy)
    assert "pipelines.aws.stages.3.promotion" in str(caught.value)
