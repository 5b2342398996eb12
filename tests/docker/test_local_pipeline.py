"""The local pipeline (``pipelines.docker`` in stacks/pipeline.yaml): four stages on one Docker
host from the same blueprint, differing only in identity and scale, held to each other's and to
the aws pipeline's shape, and never colliding on the host."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import project
from components.spec import SpecError
from pipeline.definition import load_pipeline
from pipeline.parity import compare_shapes, parity
from pipeline.render import StageRender
from pipeline.stages import StagesError, load_stages
from tests.conftest import STACKS_DIR, by_type, edit_stack, render

P = project.name()
LOCAL = ("local-dev", "local-test", "local-staging", "local-live")
NETWORK = "docker:index/network:Network"
CONTAINER = "docker:index/container:Container"
IDENTITY_KEYS = {"stage", "cidr", "domain", "costCenter"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, StageRender]:
    result = render(STACKS_DIR, "local", *LOCAL)
    for stack, stage in result.items():
        assert stage.error is None, f"{stack}: {stage.error}"
    return result


def _config(stack: str) -> dict[str, Any]:
    doc = yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())
    prefix = f"{P}:"
    return {k.removeprefix(prefix): v for k, v in doc["config"].items()}


def test_the_docker_pipeline_has_the_aws_pipelines_stages_gates_and_order() -> None:
    definition = load_pipeline(STACKS_DIR)
    docker, aws = definition.pipelines["docker"], definition.pipelines["aws"]
    assert [s.stack for s in docker.stages] == list(LOCAL)
    assert [s.stage for s in docker.stages] == [s.stage for s in aws.stages]
    assert [s.approval for s in docker.stages] == [s.approval for s in aws.stages]
    assert [s.auto_promote for s in docker.stages] == [s.auto_promote for s in aws.stages]
    assert [bool(s.soak_minutes) for s in docker.stages] == [False, False, True, False]
    assert docker.compares_with == "aws"
    assert definition.held_to("local-live") == ("aws", docker.substrate_differences)
    assert definition.held_to("live") is None


def test_the_four_stack_files_differ_only_in_identity_and_scale() -> None:
    configs = {stack: _config(stack) for stack in LOCAL}
    shared = {k: v for k, v in configs["local-dev"].items() if k not in {*IDENTITY_KEYS, "scale"}}
    for stack, config in configs.items():
        rest = {k: v for k, v in config.items() if k not in {*IDENTITY_KEYS, "scale"}}
        assert rest == shared, stack
        assert config["cloud"] == "docker" and config["stage"] == stack.removeprefix("local-")
        assert config["domain"] == f"{config['stage']}.local.{P}.localhost"


def test_no_two_docker_stacks_share_a_name_an_address_or_a_fixed_port(
    rendered: dict[str, StageRender],
) -> None:
    names: dict[str, str] = {}
    subnets: dict[str, ipaddress.IPv4Network] = {}
    for stack, stage in rendered.items():
        for resource in stage.resources:
            assert resource["name"] not in names, (resource["urn"], names.get(resource["name"]))
            names[resource["name"]] = stack
        for network in by_type(stage, NETWORK):
            subnet = ipaddress.IPv4Network(network["inputs"]["ipamConfigs"][0]["subnet"])
            clash = [s for s, other in subnets.items() if other.overlaps(subnet)]
            assert not clash, f"{network['urn']} overlaps {clash}"
            subnets[network["urn"]] = subnet
        for container in by_type(stage, CONTAINER):
            for port in container["inputs"].get("ports") or []:
                # Docker picks the host port: two stages' proxies cannot ask for the same one.
                assert "external" not in port and port.get("ip") == "127.0.0.1", container["urn"]
    assert len(subnets) == 2 * len(rendered)


def test_shipped_local_pipeline_has_parity_and_only_declared_substrate_differences(
    rendered: dict[str, StageRender],
) -> None:
    stages = load_stages(STACKS_DIR)
    aws = render(STACKS_DIR, "dev", "test", "staging", "live")
    report = parity({**rendered, **aws}, stages.specs, stages.definition)
    assert report.violations == []
    verdicts = {(r.pipeline, r.property): r.verdict for r in report.rows}
    assert verdicts[("aws", "shape.encryption.atRest")] == "substrate"
    assert verdicts[("aws", "shape.logging.flowLogs")] == "substrate"
    docker_rows = [r for r in report.rows if r.pipeline == "docker"]
    assert docker_rows and {r.verdict for r in docker_rows} <= {"allowed", "identity"}
    # Replicas and memory are the scale that differs among the four.
    assert any(r.property == "memory" and r.verdict == "allowed" for r in docker_rows)
    assert any(r.property == "exists" and r.verdict == "allowed" for r in docker_rows)


def test_an_undeclared_shape_difference_is_a_violation(stacks_copy: Path) -> None:
    doc = yaml.safe_load((stacks_copy / "pipeline.yaml").read_text())
    doc["pipelines"]["docker"]["substrateDifferences"] = ["logging.flowLogs"]
    (stacks_copy / "pipeline.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    stages = load_stages(stacks_copy)
    stacks = ["dev", "test", "staging", "live", *LOCAL]
    report = compare_shapes("aws", stacks, stages.specs, stages.definition)
    assert sorted(v.stack for v in report.violations) == sorted(LOCAL)
    assert {v.property for v in report.violations} == {"shape.encryption.atRest"}
    # Within the docker pipeline the four stages hold the same shape: nothing to declare.
    own = compare_shapes("docker", list(LOCAL), stages.specs, stages.definition)
    assert own.rows == [] and own.violations == []


@pytest.mark.parametrize(
    ("compares_with", "expected"),
    [
        ("gcp", "pipelines.docker.comparesWith: expected another pipeline of this file"),
        ("docker", "pipelines.docker.comparesWith: expected another pipeline of this file"),
    ],
)
def test_compares_with_must_name_another_pipeline(
    stacks_copy: Path, compares_with: str, expected: str
) -> None:
    doc = yaml.safe_load((stacks_copy / "pipeline.yaml").read_text())
    doc["pipelines"]["docker"]["comparesWith"] = compares_with
    (stacks_copy / "pipeline.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(SpecError) as caught:
        load_pipeline(stacks_copy)
    assert "pipeline.yaml" in str(caught.value) and expected in str(caught.value)


def test_a_chain_of_comparisons_is_refused(stacks_copy: Path) -> None:
    doc = yaml.safe_load((stacks_copy / "pipeline.yaml").read_text())
    doc["pipelines"]["azure"]["comparesWith"] = "docker"
    (stacks_copy / "pipeline.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(SpecError, match=r"pipelines.azure.comparesWith: 'docker' is itself held"):
        load_pipeline(stacks_copy)


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        (
            "10.81.0.0/16",
            "Pulumi.local-test.yaml: {p}:cidr: expected a range that does not overlap"
            " local-dev's 10.81.0.0/16 (pipeline docker), got 10.81.0.0/16",
        ),
        (
            "10.90.0.0/17",
            "Pulumi.local.yaml: {p}:cidr: expected a range that does not overlap"
            " local-test's 10.90.0.0/17 (one Docker host), got 10.90.0.0/16",
        ),
    ],
)
def test_overlapping_ranges_on_the_docker_host_are_refused(
    stacks_copy: Path, cidr: str, expected: str
) -> None:
    edit_stack(stacks_copy, "local-test", lambda c: c.update({f"{P}:cidr": cidr}))
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy)
    assert expected.format(p=P) in str(caught.value), str(caught.value)
