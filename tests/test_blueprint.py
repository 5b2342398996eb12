"""The blueprint file: one declaration of the shape, validated with file and key named, with a
current JSON Schema, and every copy of its facts (policy config pins, the release's services)
derived from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.spec import SpecError, read_stack
from components.spec.blueprint import (
    BLUEPRINT_FILE,
    SCHEMA_FILE,
    load_blueprint,
    render_blueprint_schema,
)
from pipeline.policy.pins import drift, write_pins
from tests.conftest import PROJECT_DIR, STACKS_DIR

CONFIGS = sorted((PROJECT_DIR / "policies" / "config").glob("*.json"))


def blueprint_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = (PROJECT_DIR / BLUEPRINT_FILE).read_text()
    assert old in text
    (tmp_path / BLUEPRINT_FILE).write_text(text.replace(old, new, 1))  # the first: api
    return tmp_path


def test_every_stage_takes_its_shape_from_the_blueprint() -> None:
    shape = load_blueprint()
    for stack in ("dev", "live"):  # local declares substrate differences
        assert read_stack(STACKS_DIR, stack).spec().shape == shape, stack
    # Azure states the one thing it cannot run: Container Apps take linux/amd64 images only.
    amd64 = {
        n: s.model_copy(update={"cpu_architecture": "X86_64"}) for n, s in shape.services.items()
    }
    azure = read_stack(STACKS_DIR, "azure-dev").spec().shape
    assert azure == shape.model_copy(update={"services": amd64})


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "    port: 8080\n    healthPath: /healthz\n",
            "    port: 80800\n    healthPath: /healthz\n",
            "services.api.port",
        ),
        ("majorVersion: 16", "majorVersion: 9", "database.majorVersion"),
        ("  engine: postgres\n", "  engine: mysql\n", "database.engine"),
        ("  azCount: 2\n", "  azCount: 2\n  zones: 3\n", "network.zones"),
        (
            "    healthPath: /healthz\n    public: true\n    cpuArchitecture: ARM64\n    uses:",
            "    public: true\n    cpuArchitecture: ARM64\n    uses:",
            "services.api.healthPath",
        ),
    ],
)
def test_a_bad_blueprint_names_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_blueprint(blueprint_copy(tmp_path, old, new))
    assert str(caught.value).startswith(f"{BLUEPRINT_FILE}: {key}: "), str(caught.value)


def test_a_service_added_in_the_blueprint_reaches_every_stage(tmp_path: Path) -> None:
    directory = blueprint_copy(
        tmp_path,
        "database:",
        "  jobs:\n    port: 9000\n    healthPath: /ready\n    public: false\ndatabase:",
    )
    shape = load_blueprint(directory)
    assert shape.services["jobs"].port == 9000 and not shape.services["jobs"].public


def test_blueprint_schema_is_current() -> None:
    assert (PROJECT_DIR / SCHEMA_FILE).read_text() == render_blueprint_schema(), (
        f"{SCHEMA_FILE} is stale: run python -m pipeline schema"
    )
    schema = json.loads(render_blueprint_schema())
    assert set(schema["required"]) == {"services", "database"}


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_policy_config_pins_match_the_blueprint(config: Path) -> None:
    assert drift(config, load_blueprint()) == []


def test_a_changed_major_version_is_drift_until_the_pins_are_rewritten(tmp_path: Path) -> None:
    shape = load_blueprint(blueprint_copy(tmp_path, "majorVersion: 16", "majorVersion: 17"))
    config = tmp_path / "dev.json"
    shutil.copy(CONFIGS[0], config)
    assert drift(config, shape) == [
        ("aws-rds-instance-engine-pinned.majorVersion", "17 from blueprint.yaml, got 16")
    ]
    write_pins(config, shape)
    assert drift(config, shape) == []
    assert json.loads(config.read_text())["all"] == json.loads(CONFIGS[0].read_text())["all"]
