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


CONTAINER_URN = (
    "urn:pulumi:local-dev::p::stageline:docker:Environment$stageline:docker:Services"
    "$docker:index/container:Container::local-dev-services-api-0"
)
CONTAINER = "docker:index/container:Container"


def _container(release: ReleaseConfig, name: str, memory: int = 256) -> dict[str, object]:
    """A service container as the real docker provider's preview shows it: Pulumi names it
    ``<logical name>-<7 hex>``, and a replacement gets a new name."""
    envs = [f"STAGELINE_RELEASE={release.release}", "PORT=8080"]
    image = release.images["api"]
    return {"inputs": {"name": name, "image": image, "envs": envs, "memory": memory}}


def container_replace(op: str, new_name: str = "local-dev-services-api-0-2117c25") -> Change:
    return Change(
        CONTAINER_URN,
        CONTAINER,
        op,
        _container(OLD, "local-dev-services-api-0-baa0aeb"),
        _container(NEW, new_name),
        ("envs",),
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
        "engine: a container replaced by the release gets a new auto-name",
        (
            container_replace("create-replacement"),
            container_replace("replace"),
            Change(CONTAINER_URN, CONTAINER, "delete-replaced", container_replace("x").old, None),
        ),
        False,
    ),
    Case(
        "a physical name that is not the engine's auto-name is no release change",
        (container_replace("replace", new_name="hand-picked-name"),),
        True,
        "beyond the release",
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


def test_a_release_may_name_another_repository_for_an_image() -> None:
    """On Docker the container runs the release's own reference: 2.0.0 of the app lives in
    another repository than 1.0.0 (the lane's app and app-v2), and that is the release too."""
    old = ReleaseConfig("r-old", {"api": "127.0.0.1:5055/o/app@sha256:" + "a" * 64})
    new = ReleaseConfig("r-new", {"api": "127.0.0.1:5055/o/app-v2@sha256:" + "b" * 64})
    # What the running stage's outputs say: the release and each digest (no repository).
    running = ReleaseConfig("r-old", {"api": "@sha256:" + "a" * 64})

    def replace(op: str, memory: int = 256) -> Change:
        before = _container(old, "local-dev-services-api-0-baa0aeb")
        after = _container(new, "local-dev-services-api-0-2117c25", memory)
        return Change(CONTAINER_URN, CONTAINER, op, before, after, ("envs", "image"))

    steps = [replace("create-replacement"), replace("replace")]
    assert gate_findings(steps, running, new) == []
    grown = gate_findings([replace("replace", memory=512)], running, new)
    assert grown and "beyond the release" in grown[0], grown


def test_a_container_whose_image_the_release_replaces_follows_that_replacement() -> None:
    """A real preview of a new release on Docker: the RemoteImage is replaced (its name is the
    release's reference), and each container replaced with it shows the image as the engine's
    unknown value (the value a real preview sent; the constant once had a typo and let nothing
    through)."""
    assert UNKNOWN == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    old = ReleaseConfig("r-old", {"api": "127.0.0.1:5055/o/app@sha256:" + "a" * 64})
    new = ReleaseConfig("r-new", {"api": "127.0.0.1:5055/o/app-v2@sha256:" + "b" * 64})
    image_urn = CONTAINER_URN.replace(
        "$docker:index/container:Container::local-dev-services-api-0",
        "$docker:index/remoteImage:RemoteImage::local-dev-services-api-image",
    )
    image = Change(
        image_urn,
        "docker:index/remoteImage:RemoteImage",
        "replace",
        {"inputs": {"name": old.images["api"], "keepLocally": True}},
        {"inputs": {"name": new.images["api"], "keepLocally": True}},
        ("name",),
    )
    before = _container(old, "local-dev-services-api-0-baa0aeb")
    after = _container(new, "local-dev-services-api-0-2117c25")
    after["inputs"]["image"] = UNKNOWN  # type: ignore[index]
    container = Change(CONTAINER_URN, CONTAINER, "replace", before, after, ("envs", "image"))
    assert gate_findings([image, container], old, new) == []
    # Without the image's replacement nothing explains the unknown image.
    alone = gate_findings([container], old, new)
    assert alone and "beyond the release" in alone[0], alone


def test_resuming_an_interrupted_update_finishes_what_its_gated_preview_showed() -> None:
    """Seen in the docker lane: a promotion killed inside ``up`` had replaced the RemoteImage
    but not the container, so the resumed preview shows the container with a known new image id
    and no image replacement. It passes only as the rest of the preview the gate passed before
    the kill (same URN, no other path); a stateful resource never does."""
    before = _container(OLD, "local-dev-services-api-0-baa0aeb")
    after = _container(NEW, "local-dev-services-api-0-2117c25")
    before["inputs"]["image"] = "sha256:" + "1" * 64  # type: ignore[index]
    after["inputs"]["image"] = "sha256:" + "2" * 64  # type: ignore[index]
    rest = Change(CONTAINER_URN, CONTAINER, "replace", before, after, ("envs", "image", "name"))
    stopped = gate_findings([rest], OLD, NEW)
    assert stopped and "beyond the release" in stopped[0], stopped
    gated = {CONTAINER_URN: ("envs", "image", "name")}
    assert gate_findings([rest], OLD, NEW, gated) == []
    narrower = {CONTAINER_URN: ("envs", "image")}  # the interrupted preview did not touch name
    beyond = gate_findings([rest], OLD, NEW, narrower)
    assert beyond and "beyond the interrupted update's preview" in beyond[0], beyond
    db = Change(DB_URN, DB, "replace", {"inputs": {"a": 1}}, {"inputs": {"a": 2}}, ("a",))
    found = gate_findings([db], OLD, NEW, {DB_URN: ("a",)})
    assert found and "stateful" in found[0], found
