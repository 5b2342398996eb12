"""The pack fails closed (issue 24): a stage whose substrate it cannot establish runs every
substrate's rules, and a substrate it does not know is a mandatory finding.

Over gRPC, for one stage of each substrate (dev on AWS, azure-dev, local on Docker), one
security change that a mandatory rule of that substrate catches is sent four ways: with the
stack's own config, with a ConfigureStack that carries no config, with no ConfigureStack at all
(a fresh pack: an engine older than the call, or another driver of the protocol), and with an
unknown ``<project>:cloud``. The rule fires every time. Before, the last three ran only the AWS
rules, and the Azure and Docker changes went unreported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.spec.loader import PROJECT
from pipeline.policy import PolicyHarness, StageCompliance, StageGraph
from pipeline.policy.check import project_of
from pipeline.render import render_stages
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR
from tests.policies.mutate import resource

SUBSTRATE_RULE = "pulumi-stack-config-substrate-known"
CLOUD = f"{PROJECT}:cloud"
Inputs = dict[str, Any]


@dataclass(frozen=True)
class Probe:
    """A stage of one substrate and one change its own mandatory rule must catch."""

    stack: str
    type: str
    name: str
    change: Callable[[Inputs], None]
    rule: str


PROBES = {
    "aws": Probe(
        "dev",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "lb-in-443",
        lambda inputs: inputs.update(fromPort=22, toPort=22),
        "aws-ec2-securitygroup-disallow-public-admin-ingress",
    ),
    "azure": Probe(
        "azure-dev",
        "azure-native:storage:StorageAccount",
        "storage-account",
        lambda inputs: inputs.update(allowBlobPublicAccess=True),
        "azure-storage-account-disallow-public-access",
    ),
    "docker": Probe(
        "local",
        "docker:index/container:Container",
        "services-api-0",
        lambda inputs: inputs.update(privileged=True),
        "docker-container-disallow-privileged",
    ),
}
MODES = ("own", "no-config", "no-configure-stack", "unknown-cloud")


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]]:
    stacks = [p.stack for p in PROBES.values()]
    stages = load_stages(STACKS_DIR, stacks)
    renders = render_stages(PROJECT_DIR, stages.configs.values())
    out = {}
    for stack, render in renders.items():
        assert not render.error, f"{stack}: {render.error}"
        out[stack] = (render.resources, render.outputs, dict(stages.configs[stack].values))
    return out


@pytest.fixture(scope="module")
def fresh() -> Iterator[PolicyHarness]:
    """A pack that is never sent ConfigureStack (used by the no-configure-stack mode only)."""
    with PolicyHarness(PROJECT_DIR / "policies") as harness:
        yield harness


def _graph(rendered: dict[str, Any], probe: Probe, mode: str, mutated: bool = True) -> StageGraph:
    resources, outputs, config = copy.deepcopy(rendered[probe.stack])
    if mutated:
        probe.change(resource(resources, probe.type, probe.name)["inputs"])
    if mode == "no-config":
        config = {}
    elif mode == "unknown-cloud":
        config = {**config, CLOUD: "gcp"}
    return StageGraph(probe.stack, project_of(resources), resources, outputs, config)


def _analyze(
    pack: PolicyHarness, fresh: PolicyHarness, graph: StageGraph, mode: str
) -> StageCompliance:
    if mode == "no-configure-stack":
        return fresh.analyze(graph, configure_stack=False)
    return pack.analyze(graph)


def _mandatory(result: StageCompliance) -> set[tuple[str, str]]:
    return {(d.policy, d.urn) for d in result.diagnostics if d.enforcement == "mandatory"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("substrate", sorted(PROBES))
def test_a_substrate_rule_fires_however_the_stage_is_configured(
    pack: PolicyHarness, fresh: PolicyHarness, rendered: dict[str, Any], substrate: str, mode: str
) -> None:
    probe = PROBES[substrate]
    result = _analyze(pack, fresh, _graph(rendered, probe, mode), mode)
    fired = [
        d
        for d in result.diagnostics
        if d.policy == probe.rule and d.urn.rsplit("::", 1)[1].endswith(probe.name)
    ]
    assert fired, f"{probe.rule} did not fire ({mode}): {sorted(_mandatory(result))}"
    assert {d.enforcement for d in fired} == {"mandatory"}
    unknown = [d for d in result.diagnostics if d.policy == SUBSTRATE_RULE]
    if mode == "unknown-cloud":
        assert len(unknown) == 1, unknown
        assert unknown[0].enforcement == "mandatory"
        assert "'gcp'" in unknown[0].message and "aws, azure, docker" in unknown[0].message
    else:
        assert unknown == [], unknown


@pytest.mark.parametrize("mode", ["no-config", "no-configure-stack"])
@pytest.mark.parametrize("substrate", sorted(PROBES))
def test_failing_closed_adds_no_finding_to_a_compliant_stage(
    pack: PolicyHarness, fresh: PolicyHarness, rendered: dict[str, Any], substrate: str, mode: str
) -> None:
    """Every substrate's rules run, yet the shipped graph has exactly the findings it has with
    its own config: a rule of another substrate has nothing of its kind to look at."""
    probe = PROBES[substrate]
    own = pack.analyze(_graph(rendered, probe, "own", mutated=False))
    closed = _analyze(pack, fresh, _graph(rendered, probe, mode, mutated=False), mode)
    assert _mandatory(closed) == _mandatory(own)


def test_an_unknown_cloud_runs_every_substrate_rule_on_a_mixed_graph(
    pack: PolicyHarness, rendered: dict[str, Any]
) -> None:
    """An Azure change and a Docker change in one graph that says ``gcp``: both caught."""
    azure, docker = PROBES["azure"], PROBES["docker"]
    resources = copy.deepcopy(rendered[azure.stack][0])
    extra = copy.deepcopy(rendered[docker.stack][0])
    azure.change(resource(resources, azure.type, azure.name)["inputs"])
    docker.change(resource(extra, docker.type, docker.name)["inputs"])
    config = {**rendered[azure.stack][2], CLOUD: "gcp"}
    graph = StageGraph(
        azure.stack, project_of(resources), resources + extra, rendered[azure.stack][1], config
    )
    fired = {d.policy for d in pack.analyze(graph).diagnostics}
    assert {azure.rule, docker.rule, SUBSTRATE_RULE} <= fired, sorted(fired)
