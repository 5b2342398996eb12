"""A service gets only the data roles blueprint.yaml says it uses: their endpoints, credentials
and grants, on every substrate (least privilege), and an unknown role is refused by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.spec import SpecError
from components.spec.blueprint import BLUEPRINT_FILE, load_blueprint
from tests.conftest import PROJECT_DIR, by_type, render


def _env_names(definition: dict[str, Any]) -> set[str]:
    return {e["name"] for e in definition.get("environment", [])} | {
        s["name"] for s in definition.get("secrets", [])
    }


@pytest.fixture(scope="module")
def stages() -> dict:
    return render(PROJECT_DIR / "stacks", "dev", "azure-dev", "local")


def test_aws_tasks_carry_only_their_data_roles(stages: dict) -> None:
    tasks = {
        r["name"]: json.loads(r["inputs"]["containerDefinitions"])[0]
        for r in by_type(stages["dev"], "aws:ecs/taskDefinition:TaskDefinition")
    }
    api, web = (
        _env_names(tasks["dev-services-api-task"]),
        _env_names(tasks["dev-services-web-task"]),
    )
    assert {"DATABASE_ENDPOINT", "DATABASE_SECRET", "BUCKET_NAME"} <= api
    assert "BUCKET_NAME" in web and not {"DATABASE_ENDPOINT", "DATABASE_SECRET"} & web


def test_aws_each_service_has_its_own_role_and_storage_grant(stages: dict) -> None:
    roles = {r["name"] for r in by_type(stages["dev"], "aws:iam/role:Role")}
    assert {"dev-services-api-task-role", "dev-services-web-task-role"} <= roles
    grants = {
        r["name"]: json.loads(r["inputs"]["policy"])
        for r in by_type(stages["dev"], "aws:iam/rolePolicy:RolePolicy")
        if r["name"].endswith("-storage")
    }
    assert set(grants) == {"dev-services-api-storage", "dev-services-web-storage"}
    actions = {a for s in grants["dev-services-web-storage"]["Statement"] for a in s["Action"]}
    assert {"s3:GetObject", "s3:PutObject", "kms:GenerateDataKey"} <= actions
    assert not any(a.startswith(("rds", "secretsmanager")) for a in actions)


def test_azure_and_docker_hand_the_database_only_to_its_users(stages: dict) -> None:
    apps = {
        r["name"].rsplit("-", 1)[1]: r["inputs"]["template"]["containers"][0]
        for r in by_type(stages["azure-dev"], "azure-native:app:ContainerApp")
    }
    web = {e["name"] for e in apps["web"]["env"]}
    assert "BUCKET_NAME" in web and "DATABASE_ENDPOINT" not in web
    assert "DATABASE_ENDPOINT" in {e["name"] for e in apps["api"]["env"]}
    containers = {
        r["name"]: r["inputs"]
        for r in by_type(stages["local"], "docker:index/container:Container")
        if r["name"].startswith(("local-services-api", "local-services-web"))
    }
    assert containers, "the local stage runs its services as containers"
    for name, inputs in containers.items():
        if name.endswith("-files-writer"):
            continue
        names = {e.split("=", 1)[0] for e in inputs.get("envs", [])}
        # A service's files come from the one-shot writer of its files volume.
        files = {u["file"] for u in containers[f"{name}-files-writer"]["uploads"]}
        assert files, name
        if "-web-" in name:
            assert "DATABASE_ENDPOINT" not in names, name
            assert not any(f.endswith("database-password") for f in files), name
        else:
            assert "DATABASE_ENDPOINT" in names, name


def test_an_unknown_data_role_is_refused_by_name(tmp_path: Path) -> None:
    text = (PROJECT_DIR / BLUEPRINT_FILE).read_text()
    old = "    uses: [storage]"
    assert old in text
    (tmp_path / BLUEPRINT_FILE).write_text(text.replace(old, "    uses: [cache]"))
    with pytest.raises(SpecError) as caught:
        load_blueprint(tmp_path)
    assert "services.web.uses" in str(caught.value), caught.value
