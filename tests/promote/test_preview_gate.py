"""The preview gate's reading of a preview, table-driven: what a release may change.

Changes are given in the engine's terms, as a real ``pulumi preview`` reports them (a replacement
as its three steps, a value not known until ``up`` as the engine's unknown sentinel) and as the
offline deployer reports them (one ``replace``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.promote.deployer import Change, ReleaseConfig
from pipeline.promote.diff import UNKNOWN, gate_findings

OLD = ReleaseConfig("r-old", {"api": "ghcr.io/o/api@sha256:" + "a" * 64})
NEW = ReleaseConfig("r-new", {"api": "ghcr.io/o/api@sha256:" + "b" * 64})
TASK_URN = (
    "urn:pulumi:dev::p::stageline:aws:Environment$stageline:aws:Services"
    "$aws:ecs/taskDefinition:TaskDefinition::dev-services-api-task"
)
SERVICE_URN = (
    "urn:pulumi:dev::p::stageline:aws:Environment$stageline:aws:Services"
    "$aws:ecs/service:Service::dev-services-api-service"
)
DB_URN = (
    "urn:pulumi:dev::p::stageline:aws:Environment$stageline:aws:Database"
    "$aws:rds/instance:Instance::dev-database-db"
)
TASK, SERVICE, DB = (
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecs/service:Service",
    "aws:rds/instance:Instance",
)
ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/dev-api:7"


def _task(release: ReleaseConfig, cpu: str = "256") -> dict[str, object]:
    image = release.images["api"].replace("ghcr.io/o/api", "123.dkr.ecr/dev-api")
    definitions = f'[{{"image": "{image}", "environment": [{{"value": "{release.release}"}}]}}]'
    return {"inputs": {"containerDefinitions": definitions, "cpu": cpu, "family": "dev-api"}}


def _service(task_definition: str, desired: int = 1) -> dict[str, object]:
    return {"inputs": {"taskDefinition": task_definition, "desiredCount": desired}}


def task_replace(op: str = "replace", cpu: str = "256") -> Change:
    return Change(TASK_URN, TASK, op, _task(OLD), _task(NEW, cpu), ("containerDefinitions",))


SERVICE_FOLLOWS = Change(
    SERVICE_URN, SERVICE, "update", _service(ARN), _service(UNKNOWN), ("taskDefinition",)
)


@dataclass(frozen=True)
class Case:
    name: str
    changes: tuple[Change, ...]
    stops: bool
    why: str = ""


CASES = [
    Case("offline: each TaskDefinition replaced by the release", (task_replace(),), False),
    Case(
        "engine: the replacement's three steps, then the service's update",
        (
            task_replace("create-replacement"),
            task_replace("replace"),
            Change(TASK_URN, TASK, "delete-replaced", _task(OLD), None),
            SERVICE_FOLLOWS,
        ),
        False,
    ),
    Case(
        "a replacement that also changes cpu goes beyond the release",
        (task_replace(cpu="512"),),
        True,
        "beyond the release",
    ),
    Case(
        "an unknown value with no replacement by the release",
        (SERVICE_FOLLOWS,),
        True,
        "beyond the release",
    ),
    Case(
        "the service's update also changes its desired count",
        (
            task_replace(),
            Change(SERVICE_URN, SERVICE, "update", _service(ARN), _service(UNKNOWN, 3), ("x",)),
        ),
        True,
        "beyond the release",
    ),
    Case(
        "replacing the database stops even when the release explains it",
        (Change(DB_URN, DB, "replace", {"inputs": {"dbName": "a"}}, {"inputs": {"dbName": "a"}}),),
        True,
        "stateful",
    ),
    Case(
        "deleting a stateless resource is beyond the release",
        (Change(SERVICE_URN, SERVICE, "delete", _service(ARN), None),),
        True,
        "beyond the release",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_preview_gate(case: Case) -> None:
    findings = gate_findings(list(case.changes), OLD, NEW)
    if case.stops:
        assert findings and all(case.why in f for f in findings), (case.name, findings)
    else:
        assert findings == [], (case.name, findings)
