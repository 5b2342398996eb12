"""What a first ``pulumi up`` on a real AWS account needs from the blueprint.

Certificate validation before the HTTPS listener, each ECS service after its listener rule,
listener-rule priorities that never move, DNS records when the stage has a hosted zone (and
outputs to publish by hand when it has none), repositories a destroy can delete in dev and test
only, and the shape fields for CPU architecture and the container health check. Each test
renders the real program from a copy of the stack files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from components.spec.model import DEFAULT_HEALTH_COMMAND, listener_priority
from pipeline.render import StageRender
from pipeline.stages import StagesError, load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, by_type, edit_stack, render

RULE = "aws:lb/listenerRule:ListenerRule"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
RECORD = "aws:route53/record:Record"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
ZONE = "Z0123456789ABCDEFGHIJ"


def _services(*names: str, private: tuple[str, ...] = ()) -> dict[str, Any]:
    return {n: {"port": 8080, "healthPath": "/healthz", "public": n not in private} for n in names}


def _one(stage: StageRender, type_token: str, name_part: str = "") -> dict[str, Any]:
    found = [r for r in by_type(stage, type_token) if name_part in r["name"]]
    assert len(found) == 1, f"{type_token} {name_part!r}: {[r['urn'] for r in found]}"
    return found[0]


def _rendered(stacks_dir: Path, stack: str = "dev") -> StageRender:
    stage = render(stacks_dir, stack)[stack]
    assert stage.error is None, stage.error
    return stage


_DEPENDENCIES = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import pipeline.render as render
    from pipeline.stages import StagesError, load_stages

    made = render._capturing_monitor
    deps = {}

    def recording(mocks):
        monitor = made(mocks)
        register = monitor.RegisterResource

        def record(request):
            response = register(request)
            deps[response.urn] = sorted(request.dependencies)
            return response

        monitor.RegisterResource = record
        return monitor

    render._capturing_monitor = recording
    config = load_stages(Path(sys.argv[1]), [sys.argv[2]]).configs[sys.argv[2]]
    result = render.render_stage(sys.argv[3], config)
    assert result.error is None, result.error
    print(json.dumps(deps))
    """
)


def dependencies(stacks_dir: Path, stack: str) -> dict[str, list[str]]:
    """URN -> the URNs each resource was registered as depending on (a fresh process)."""
    done = subprocess.run(
        [sys.executable, "-c", _DEPENDENCIES, str(stacks_dir), stack, str(PROJECT_DIR)],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def dev_dependencies() -> dict[str, list[str]]:
    return dependencies(STACKS_DIR, "dev")


def _urn(deps: dict[str, list[str]], type_token: str, name_part: str) -> str:
    found = [u for u in deps if f"${type_token}::" in u and name_part in u.rsplit("::", 1)[1]]
    assert len(found) == 1, (type_token, name_part, found)
    return found[0]


def test_the_https_listener_waits_for_the_certificate_validation(
    dev_dependencies: dict[str, list[str]],
) -> None:
    listener = _urn(dev_dependencies, "aws:lb/listener:Listener", "https")
    validation = _urn(dev_dependencies, VALIDATION, "certificate-validation")
    assert validation in dev_dependencies[listener], dev_dependencies[listener]


def test_each_ecs_service_waits_for_its_listener_rule(
    dev_dependencies: dict[str, list[str]],
) -> None:
    for service in ("api", "web"):
        urn = _urn(dev_dependencies, SERVICE, f"-{service}-service")
        rule = _urn(dev_dependencies, RULE, f"-{service}-route")
        assert rule in dev_dependencies[urn], (urn, dev_dependencies[urn])


def test_removing_a_service_moves_no_other_rule_priority(stacks_copy: Path) -> None:
    def priorities(*names: str) -> dict[str, int]:
        def shape(config: dict[str, Any]) -> None:
            image = config["stageline:images"]["api"]
            config["stageline:shape"] = {"services": _services(*names)}
            config["stageline:images"] = {n: image for n in names}

        edit_stack(stacks_copy, "dev", shape)
        stage = _rendered(stacks_copy)
        return {
            r["name"].split("-services-")[1].removesuffix("-route"): r["inputs"]["priority"]
            for r in by_type(stage, RULE)
        }

    three = priorities("api", "web", "worker")
    two = priorities("api", "web")
    assert set(three) == {"api", "web", "worker"} and set(two) == {"api", "web"}
    assert {k: three[k] for k in two} == two, (three, two)
    assert all(p == listener_priority(n) for n, p in three.items()), three
    assert all(1 <= p <= 50_000 for p in three.values())


def test_without_a_hosted_zone_the_records_to_publish_are_outputs() -> None:
    stage = _rendered(STACKS_DIR)
    assert not by_type(stage, RECORD), "no zone: no Route 53 records"
    assert "validationRecordFqdns" not in _one(stage, VALIDATION)["inputs"]
    records = stage.outputs["dnsRecords"]
    validation = [r for r in records if "acm-validations" in r["value"]]
    assert len(validation) == 1 and validation[0]["type"] == "CNAME", records  # domain + wildcard
    services = {r["name"]: r["value"] for r in records if r not in validation}
    assert set(services) == {"api.dev.stageline.example.com", "web.dev.stageline.example.com"}
    assert all(v.endswith(".elb.amazonaws.com") for v in services.values()), services
    assert set(stage.outputs["repositoryUrls"]) == {"api", "web"}


def test_with_a_hosted_zone_the_stage_writes_validation_and_service_records(
    stacks_copy: Path,
) -> None:
    edit_stack(stacks_copy, "dev", lambda c: c.update({"stageline:hostedZoneId": ZONE}))
    stage = _rendered(stacks_copy)
    records = by_type(stage, RECORD)
    assert all(r["inputs"]["zoneId"] == ZONE for r in records)
    assert stage.outputs["dnsRecords"] == [], "the zone holds every record"
    validation_record = _one(stage, RECORD, "certificate-validation")
    assert validation_record["inputs"]["type"] == "CNAME"
    validation = _one(stage, VALIDATION)
    assert validation["inputs"]["validationRecordFqdns"], validation
    for service in ("api", "web"):
        alias = _one(stage, RECORD, f"-{service}-dns")
        assert alias["inputs"]["name"] == f"{service}.dev.stageline.example.com"
        assert alias["inputs"]["aliases"][0]["name"].endswith(".elb.amazonaws.com")


def test_a_private_service_gets_no_public_route_on_aws(stacks_copy: Path) -> None:
    edit_stack(
        stacks_copy,
        "dev",
        lambda c: c.update(
            {
                "stageline:shape": {"services": _services("api", "web", private=("web",))},
                "stageline:hostedZoneId": ZONE,
            }
        ),
    )
    stage = _rendered(stacks_copy)
    assert not [r for r in by_type(stage, RULE) if "-web-" in r["name"]]
    assert not [r for r in by_type(stage, "aws:lb/targetGroup:TargetGroup") if "-web-" in r["name"]]
    assert not [r for r in by_type(stage, RECORD) if "-web-" in r["name"]]
    web = _one(stage, SERVICE, "-web-")
    assert not web["inputs"].get("loadBalancers"), web["inputs"]
    assert set(stage.outputs["serviceUrls"]) == {"api"}


def test_services_wait_for_steady_state() -> None:
    stage = _rendered(STACKS_DIR)
    for service in by_type(stage, SERVICE):
        assert service["inputs"]["waitForSteadyState"] is True, service["urn"]


def test_repositories_are_force_deleted_in_dev_and_test_only() -> None:
    stages = render(STACKS_DIR, "dev", "test", "staging", "live")
    for stack, stage in stages.items():
        forced = {
            r["inputs"].get("forceDelete", False)
            for r in by_type(stage, "aws:ecr/repository:Repository")
        }
        assert forced == {stack in ("dev", "test")}, (stack, forced)


def test_live_may_not_force_delete_its_repositories(stacks_copy: Path) -> None:
    edit_stack(
        stacks_copy, "live", lambda c: c["stageline:scale"].update({"registryForceDelete": True})
    )
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy, ["live"])
    assert "stageline:scale.registryForceDelete" in str(caught.value)


def test_cpu_architecture_and_health_check_are_shape_fields(stacks_copy: Path) -> None:
    stage = _rendered(STACKS_DIR)
    task = _one(stage, TASK, "-api-")
    assert task["inputs"]["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    command = json.loads(task["inputs"]["containerDefinitions"])[0]["healthCheck"]["command"]
    assert command[0] == DEFAULT_HEALTH_COMMAND[0] and "127.0.0.1:8080/healthz" in command[1]

    services = _services("api", "web")
    services["api"] |= {"cpuArchitecture": "X86_64", "healthCheckCommand": ["CMD", "/app/check"]}
    services["web"] |= {"healthCheckCommand": []}
    edit_stack(stacks_copy, "dev", lambda c: c.update({"stageline:shape": {"services": services}}))
    stage = _rendered(stacks_copy)
    api, web = _one(stage, TASK, "-api-"), _one(stage, TASK, "-web-")
    assert api["inputs"]["runtimePlatform"]["cpuArchitecture"] == "X86_64"
    assert json.loads(api["inputs"]["containerDefinitions"])[0]["healthCheck"]["command"] == [
        "CMD",
        "/app/check",
    ]
    assert "healthCheck" not in json.loads(web["inputs"]["containerDefinitions"])[0]
