"""A new stage is configuration only: a stack file, its pipeline entry and a policy config for
its stage name. In a copy of the repository, a ``qa`` stage between test and staging plans clean
with the policy pack, shows in the stages CI reads, and a rehearsed promotion walks through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components import project
from tests.test_rename import commit_all, copy_project, run

DIGEST = "sha256:" + "cd" * 32


@pytest.fixture(scope="module")
def with_qa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("qa"))
    stacks = root / "stacks"
    text = (stacks / "Pulumi.test.yaml").read_text()
    for key, old, new in (
        ("stage", "test", "qa"),
        ("cidr", "10.20.0.0/16", "10.25.0.0/16"),
        ("domain", "test.", "qa."),
    ):
        line = f"  {project.key(key)}: {old}"
        assert line in text, line
        text = text.replace(line, f"  {project.key(key)}: {new}")
    (stacks / "Pulumi.qa.yaml").write_text(text)
    definition = yaml.safe_load((stacks / "pipeline.yaml").read_text())
    stages = definition["pipelines"]["aws"]["stages"]
    at = [s["stack"] for s in stages].index("test") + 1
    stages.insert(at, {"stack": "qa", "stage": "qa", "autoPromote": True})
    (stacks / "pipeline.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
    config = root / "policies" / "config"
    policy = json.loads((config / "test.json").read_text())
    stage_held = [rule for rule in policy.values() if isinstance(rule, dict) and "stage" in rule]
    assert stage_held, "the test stage's policy config names its stage"
    for rule in stage_held:
        rule["stage"] = "qa"
    (config / "qa.json").write_text(json.dumps(policy, indent=2))
    commit_all(root, "qa")
    return root


def test_the_new_stage_plans_clean_with_the_pack(with_qa: Path) -> None:
    result = run(with_qa, "plan", "--stack", "test", "--stack", "qa", "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    render = json.loads(result.stdout)["stacks"]["qa"]
    assert render["error"] is None and render["violations"] == []
    assert all(r["urn"].startswith("urn:pulumi:qa::") for r in render["resources"])


def test_ci_reads_the_new_stage_in_order(with_qa: Path) -> None:
    result = run(with_qa, "stages", "--json")
    assert result.returncode == 0, result.stderr
    stacks = json.loads(result.stdout)
    order = [s["stack"] for s in stacks["stacks"] if s["pipeline"] == "aws"]
    assert order == ["dev", "test", "qa", "staging", "live"], order


def test_a_rehearsal_walks_through_the_new_stage(with_qa: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    images = [f"--image={s}=ghcr.io/acme/{s}@{DIGEST}" for s in ("api", "web")]
    created = run(with_qa, "release", "create", *images, "--state-dir", str(state), "--json")
    assert created.returncode == 0, created.stderr
    release = json.loads(created.stdout.splitlines()[-1])["release"]
    result = run(
        with_qa, "promote", release, "--to", "qa", "--rehearse", "--state-dir", str(state),
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    walked = [e.get("stage") or e.get("stack") for e in events if e.get("event") == "step"]
    assert "qa" in walked and "staging" not in walked, walked
