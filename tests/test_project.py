"""The Pulumi project file against Pulumi's own schema, and the program's thinness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR

SCHEMA = PROJECT_DIR.parent / "shared" / "reference" / "pulumi-project.schema.json"


def test_pulumi_yaml_validates_against_pulumis_schema() -> None:
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} is absent: the Pulumi project schema check needs ../shared")
    result = subprocess.run(
        [
            str(PROJECT_DIR / ".venv" / "bin" / "check-jsonschema"),
            "--schemafile",
            str(SCHEMA),
            str(PROJECT_DIR / "Pulumi.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_settings() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "stageline"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["stackConfigDir"] == "stacks"
    for key, declaration in project["config"].items():
        assert declaration["description"], key
        assert declaration["type"] in {"string", "integer", "boolean", "array"}, key


def test_main_stays_thin() -> None:
    source = Path(PROJECT_DIR / "__main__.py").read_text()
    code = [
        line
        for line in source.splitlines()
        if line.strip() and not line.startswith(("#", '"""', "import", "from"))
    ]
    assert len(code) <= 5, code
    assert "Environment(" in source and "current_spec()" in source
