"""The pack's Docker rules over gRPC: the rendered local stage is the compliant baseline, and
each case changes one property of it and expects exactly that rule to fire."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.policy import PolicyHarness, StageGraph
from pipeline.policy.check import project_of
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, render
from tests.policies.mutate import Case, Change, set_input

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
DOCKER_RULES = {
    "docker-remoteimage-pinned-by-digest",
    "docker-container-image-pinned-by-digest",
    "docker-container-disallow-privileged",
    "docker-container-disallow-host-network",
    "docker-container-secrets-not-in-plain-env",
    "docker-container-database-port-not-published",
}


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyHarness]:
    with PolicyHarness(PROJECT_DIR / "policies") as harness:
        yield harness


@pytest.fixture(scope="module")
def baseline() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]:
    stages = load_stages(STACKS_DIR, ["local"])
    stage = render(STACKS_DIR, "local")["local"]
    assert stage.error is None, stage.error
    return stage.resources, stage.outputs, dict(stages.configs["local"].values)


def graph(
    baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]],
    change: Change | None = None,
) -> StageGraph:
    resources, outputs, config = copy.deepcopy(baseline)
    if change is not None:
        change(resources)
    return StageGraph("local", project_of(resources), resources, outputs, config)


CASES = [
    Case("image-by-tag", "docker-remoteimage-pinned-by-digest",
         set_input(IMAGE, "local-services-proxy-image", "name", "caddy:2"),
         "image caddy:2 is not pinned by digest", "local-services-proxy-image"),
    Case("container-from-tag", "docker-container-image-pinned-by-digest",
         set_input(CONTAINER, "local-services-api-0", "image", "ghcr.io/stageline/api:latest"),
         "ghcr.io/stageline/api:latest is not pinned by digest", "local-services-api-0"),
    Case("privileged", "docker-container-disallow-privileged",
         set_input(CONTAINER, "local-storage-minio", "privileged", True),
         "privileged is true", "local-storage-minio"),
    Case("sys-admin", "docker-container-disallow-privileged",
         set_input(CONTAINER, "local-services-web-0", "capabilities",
                   {"drops": ["ALL"], "adds": ["SYS_ADMIN"]}),
         "capabilities.adds grants SYS_ADMIN", "local-services-web-0"),
    Case("host-network", "docker-container-disallow-host-network",
         set_input(CONTAINER, "local-services-proxy", "networkMode", "host"),
         "networkMode is host", "local-services-proxy"),
    Case("host-pid", "docker-container-disallow-host-network",
         set_input(CONTAINER, "local-services-api-0", "pidMode", "host"),
         "pidMode is host", "local-services-api-0"),
    Case("password-in-env", "docker-container-secrets-not-in-plain-env",
         set_input(CONTAINER, "local-database-postgres", "envs",
                   lambda envs: [*envs, "POSTGRES_PASSWORD=hunter2"]),
         "POSTGRES_PASSWORD is a plain environment value", "local-database-postgres"),
    Case("file-var-not-a-path", "docker-container-secrets-not-in-plain-env",
         set_input(CONTAINER, "local-services-api-0", "envs",
                   lambda envs: [*envs, "APP_SECRET_TOKEN_FILE=hunter2"]),
         "APP_SECRET_TOKEN_FILE is not a path", "local-services-api-0"),
    Case("published-database", "docker-container-database-port-not-published",
         set_input(CONTAINER, "local-database-postgres", "ports",
                   [{"internal": 5432, "external": 5432, "ip": "0.0.0.0", "protocol": "tcp"}]),
         "port 5432 (PostgreSQL) is published on the host", "local-database-postgres"),
]  # fmt: skip


def seen(diagnostics: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(d.policy, d.enforcement, d.urn, d.message) for d in diagnostics]


def test_local_stage_is_the_compliant_baseline(
    pack: PolicyHarness, baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]
) -> None:
    result = pack.analyze(graph(baseline))
    assert result.diagnostics == [], seen(result.diagnostics)
    assert set(result.enabled) >= DOCKER_RULES, sorted(DOCKER_RULES - set(result.enabled))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_changing_one_property_fires_exactly_that_rule(
    pack: PolicyHarness,
    baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]],
    case: Case,
) -> None:
    result = pack.analyze(graph(baseline, case.change))
    found = seen(result.diagnostics)
    assert {d.policy for d in result.diagnostics} == {case.policy}, f"{case.urn}: {found}"
    match = [
        d
        for d in result.diagnostics
        if d.urn.endswith(f"::{case.urn}") and case.message in d.message
    ]
    assert match, f"no finding on {case.urn} saying {case.message!r}: {found}"
    assert all(d.enforcement == "mandatory" for d in match), f"{case.urn}: {found}"


def test_every_docker_rule_has_a_failing_case(pack: PolicyHarness) -> None:
    docker_rules = {p.name for p in pack.policies() if p.name.startswith("docker-")}
    assert docker_rules == DOCKER_RULES
    assert docker_rules - {c.policy for c in CASES} == set()
