"""``adopt`` in a copy of the repository renamed as ``pulumi new`` renames it (Pulumi.yaml's
``name`` only): the stack files move to the new namespace with their comments, the template's
answers land in every stage, the result plans clean, and bad input writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_rename import copy_project

NEW = "acme-shop"
ANSWERS = [
    "--domain", "shop.example.org", "--owner", "shop-team", "--cost-center", "cc-42",
    "--region", "aws=us-east-1", "--region", "azure=westeurope",
]  # fmt: skip


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=root, capture_output=True, text=True
    )


def snapshot(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((root / "stacks").iterdir()) if p.is_file()}


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    """What pulumi new leaves: the files, with only Pulumi.yaml's name changed."""
    root = copy_project(tmp_path / "shop", venv=False)
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    project["name"] = NEW
    project.pop("template")
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    return root


def test_adopt_moves_the_keys_and_answers_the_template(generated: Path) -> None:
    before = run(generated, "plan", "--stack", "dev")
    assert before.returncode == 2, "the template's namespace is refused until adopt runs"
    result = run(generated, "adopt", *ANSWERS)
    assert result.returncode == 0, result.stderr
    assert "Pulumi.dev.yaml: 8 keys moved to acme-shop:" in result.stdout
    for name, text in snapshot(generated).items():
        if name.startswith("Pulumi."):
            assert "stageline:" not in text, name
    dev = (generated / "stacks" / "Pulumi.dev.yaml").read_text()
    assert "# destroy may delete repositories that hold images" in dev, "comments survive"
    config = yaml.safe_load(dev)["config"]
    assert config[f"{NEW}:domain"] == "dev.shop.example.org"
    assert config[f"{NEW}:owner"] == "shop-team" and config[f"{NEW}:costCenter"] == "cc-42"
    assert config["aws:region"] == "us-east-1"
    assert yaml.safe_load(dev)["secretsprovider"].endswith("region=us-east-1")
    live = yaml.safe_load((generated / "stacks" / "Pulumi.live.yaml").read_text())["config"]
    assert live[f"{NEW}:domain"] == "shop.example.org", "live answers at the domain itself"
    azure = yaml.safe_load((generated / "stacks" / "Pulumi.azure-dev.yaml").read_text())
    assert azure["config"]["azure-native:location"] == "westeurope"
    local = yaml.safe_load((generated / "stacks" / "Pulumi.local.yaml").read_text())["config"]
    assert local[f"{NEW}:domain"].endswith(".localhost"), "the local stage stays on loopback"
    assert f'"{NEW}:stage"' in (generated / "stacks" / "stageline.schema.json").read_text()

    plan = run(generated, "plan", "--stack", "dev", "--stack", "azure-dev", "--stack", "local")
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr
    again = snapshot(generated)
    second = run(generated, "adopt")
    assert second.returncode == 0 and "nothing to change" in second.stdout
    assert snapshot(generated) == again, "a second adopt changes nothing"


@pytest.mark.parametrize(
    ("args", "edit", "message"),
    [
        (["--region", "gcp=europe-west1"], None, "--region gcp=...: unknown substrate"),
        (["--region", "aws"], None, "expected SUBSTRATE=REGION"),
        ([], ("Pulumi.test.yaml", "  stageline:stage: test\n", ""), "Pulumi.test.yaml: config:"),
    ],
)
def test_bad_input_names_the_problem_and_writes_nothing(
    generated: Path, args: list[str], edit: tuple[str, str, str] | None, message: str
) -> None:
    if edit:
        path = generated / "stacks" / edit[0]
        path.write_text(path.read_text().replace(edit[1], edit[2]))
    before = snapshot(generated)
    result = run(generated, "adopt", "--owner", "x", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert snapshot(generated) == before, "nothing written"
