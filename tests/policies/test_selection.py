"""Which rules the pack runs, and how often it reads a resource's properties (policies/analyzer.py).

A stage runs only its substrate's rules: AWS resources slipped into an Azure stage are not looked
at by the AWS rules, while the same graph declared an AWS stage is. Properties are read once per
request, not once per rule: a pack whose rules report the identity of what they were given shows
one object per resource with the analyzer installed and one per rule without it.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.spec.loader import PROJECT
from pipeline.policy import PolicyHarness, StageGraph
from pipeline.policy.check import project_of
from pipeline.render import render_stages
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR
from tests.policies.conftest import Shipped
from tests.policies.mutate import resource, seen

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CLOUD = f"{PROJECT}:cloud"


@pytest.fixture(scope="module")
def azure_dev() -> Shipped:
    stages = load_stages(STACKS_DIR, ["azure-dev"])
    render = render_stages(PROJECT_DIR, stages.configs.values())["azure-dev"]
    assert not render.error, render.error
    config = dict(stages.configs["azure-dev"].values)
    assert config[CLOUD] == "azure"
    return Shipped("azure-dev", render.resources, render.outputs, config)


def _aws_intruders(dev: Shipped) -> list[dict[str, Any]]:
    """An open SSH ingress rule (a resource rule fires) and a bare bucket (stack rules fire)."""
    resources = copy.deepcopy(dev.resources)
    ingress = resource(resources, INGRESS, "lb-in-443")
    ingress["inputs"].update(fromPort=22, toPort=22)
    bucket = next(r for r in resources if r["urn"].endswith("::dev-storage-bucket"))
    return [ingress, bucket]


def _graph(azure: Shipped, intruders: list[dict[str, Any]], cloud: str | None) -> StageGraph:
    resources = copy.deepcopy(azure.resources) + copy.deepcopy(intruders)
    config = {k: v for k, v in azure.config.items() if k != CLOUD}
    if cloud is not None:
        config[CLOUD] = cloud
    return StageGraph(azure.stack, project_of(resources), resources, dict(azure.outputs), config)


def test_an_azure_stage_does_not_evaluate_aws_rules(
    pack: PolicyHarness, shipped: dict[str, Shipped], azure_dev: Shipped
) -> None:
    intruders = _aws_intruders(shipped["dev"])
    result = pack.analyze(_graph(azure_dev, intruders, "azure"))
    aws = [d for d in seen(result.diagnostics) if d[0].startswith("aws-")]
    assert aws == [], f"AWS rules ran on an Azure stage: {aws}"
    assert result.substrate == "azure"
    assert result.enabled, "an Azure stage runs the Azure rules"
    assert all(not name.startswith("aws-") for name in result.enabled), result.enabled


def test_the_same_graph_as_an_aws_stage_evaluates_them(
    pack: PolicyHarness, shipped: dict[str, Shipped], azure_dev: Shipped
) -> None:
    """The control: the intruders do break AWS rules (resource and stack rules alike), and a
    stage declared AWS runs no Azure rule."""
    result = pack.analyze(_graph(azure_dev, _aws_intruders(shipped["dev"]), "aws"))
    fired = {d.policy for d in result.diagnostics}
    assert "aws-ec2-securitygroup-disallow-public-admin-ingress" in fired, seen(result.diagnostics)
    assert "aws-s3-bucket-public-access-block" in fired, seen(result.diagnostics)
    assert not any(name.startswith("azure-") for name in fired), seen(result.diagnostics)
    assert result.substrate == "aws"


def test_compliance_counts_only_the_stage_substrate_rules(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    result = pack.analyze(shipped["dev"].graph())
    every = {p.name for p in pack.policies()}
    assert set(result.enabled) < every
    # dev declares no cloud: the pack runs the rules of its components' substrate, and the
    # rule that checks a declared substrate is known (it runs on every stage).
    assert {p.substrate for p in pack.policies() if p.name in result.enabled} == {"aws", None}


# A pack whose rules report the identity of the properties they were handed.
IDENTITY_PACK = """
    import sys
    sys.path.insert(0, {policies!r})
    from pulumi_policy import PolicyPack, ResourceValidationPolicy, StackValidationPolicy
    {install}
    KEPT = []  # alive, so no two objects share an id

    def resource_rule(args, report):
        KEPT.append(args.props)
        report(str(id(args.props)))

    def stack_rule(args, report):
        KEPT.append(args.resources[0].props)
        report(str(id(args.resources[0].props)))

    PolicyPack("identity", [
        *(ResourceValidationPolicy(f"r{{i}}", "r", validate=resource_rule) for i in range(3)),
        *(StackValidationPolicy(f"s{{i}}", "s", validate=stack_rule) for i in range(3)),
    ])
"""


def _identity_pack(tmp_path: Path, installed: bool) -> Path:
    install = "from analyzer import install; install()" if installed else ""
    main = IDENTITY_PACK.format(policies=str(PROJECT_DIR / "policies"), install=install)
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(main))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.json").write_text(json.dumps({"all": "advisory"}))
    return tmp_path


@pytest.fixture
def one_bucket() -> StageGraph:
    urn = f"urn:pulumi:dev::{PROJECT}::aws:s3/bucket:Bucket::dev-bucket"
    bucket = {
        "urn": urn,
        "type": "aws:s3/bucket:Bucket",
        "name": "dev-bucket",
        "parent": "",
        "custom": True,
        "inputs": {"tags": {"stage": "dev"}},
        "options": {},
    }
    return StageGraph("dev", PROJECT, [bucket], {"stage": "dev"})


def _identities(pack_dir: Path, graph: StageGraph) -> Iterator[tuple[str, set[str]]]:
    with PolicyHarness(pack_dir) as harness:
        result = harness.analyze(graph)
    for kind in ("r", "s"):
        yield kind, {d.message for d in result.diagnostics if d.policy.startswith(kind)}


@pytest.mark.parametrize("installed", [True, False], ids=["analyzer", "upstream"])
def test_properties_are_read_once_per_request(
    tmp_path: Path, one_bucket: StageGraph, installed: bool
) -> None:
    found = dict(_identities(_identity_pack(tmp_path, installed), one_bucket))
    # Three rules of each kind reported; with the analyzer they were all handed one object.
    expected = 1 if installed else 3
    assert len(found["r"]) == expected, found
    assert len(found["s"]) == expected, found
