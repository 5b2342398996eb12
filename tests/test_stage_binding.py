"""Stages are who the pipeline file says: a stack file cannot relabel itself, and live's
protections are spec rules that name the file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.orchestrator import stage_policy
from pipeline.stages import StagesError, load_stages
from tests.conftest import PROJECT_DIR, edit_stack


def _errors(stacks_dir: Path, *stacks: str) -> list[str]:
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_dir, list(stacks))
    return str(caught.value).splitlines()


def _scale(path: str, value: Any) -> Any:
    def change(config: dict[str, Any]) -> None:
        node = config.setdefault("stageline:scale", {})
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return change


def test_live_stack_claiming_dev_is_refused(stacks_copy: Path) -> None:
    """The issue's case: azure-live says dev and switches its protections off."""

    def relabel(config: dict[str, Any]) -> None:
        config["stageline:stage"] = "dev"
        config["stageline:scale"]["database"].update(deletionProtection=False, multiAz=False)

    edit_stack(stacks_copy, "azure-live", relabel)
    [line] = _errors(stacks_copy, "azure-live")
    assert line.startswith(f"{stacks_copy / 'Pulumi.azure-live.yaml'}: stageline:stage:"), line
    assert "binds stack 'azure-live' to stage 'live', got 'dev'" in line


def test_every_shipped_stack_is_its_bound_stage() -> None:
    stages = load_stages(PROJECT_DIR / "stacks")
    for stack, spec in stages.specs.items():
        assert spec.identity.stage == stages.definition.stage_name(stack), stack
    assert stages.definition.stage_name("azure-live") == "live"
    assert stages.definition.stage_name("local") == "local"


def test_two_stacks_claiming_one_stage_are_refused(stacks_copy: Path) -> None:
    path = stacks_copy / "pipeline.yaml"
    text = path.read_text().replace(
        "- stack: test\n        stage: test\n", "- stack: test\n        stage: dev\n"
    )
    path.write_text(text)
    [line] = _errors(stacks_copy, "dev")
    assert line.startswith(f"{path}: pipelines.aws:"), line
    assert "stacks 'dev' and 'test' both claim stage 'dev'" in line


@pytest.mark.parametrize(
    ("stack", "key"),
    [
        ("live", "database.deletionProtection"),
        ("live", "database.multiAz"),
        ("live", "loadBalancerDeletionProtection"),
        ("azure-live", "database.deletionProtection"),
        ("azure-live", "database.multiAz"),
    ],
)
def test_live_protections_name_file_and_key(stacks_copy: Path, stack: str, key: str) -> None:
    edit_stack(stacks_copy, stack, _scale(key, False))
    lines = _errors(stacks_copy, stack)
    expected = (
        f"{stacks_copy / f'Pulumi.{stack}.yaml'}: stageline:scale.{key}: expected true in live"
    )
    assert expected in lines, lines


def test_policy_config_follows_the_bound_stage(tmp_path: Path) -> None:
    options = stage_policy(PROJECT_DIR, None, None, PROJECT_DIR / "stacks")
    chosen = options("azure-live").config
    assert chosen is not None and chosen.name == "live.json"
