"""``pulumi new`` from this repository, by the real CLI, then ``adopt``: the generated project
plans clean offline and the engine previews it under its own name.

The template directory holds the repository's tracked files, what ``pulumi new <URL>`` clones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import usage
from tests.engine.conftest import ROOT, Sandbox, offline_plan

pytestmark = pytest.mark.engine

NEW = "acme-shop"


def _template(where: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    return where


def test_pulumi_new_then_adopt_previews_under_the_new_name(fresh: Sandbox, tmp_path: Path) -> None:
    template = _template(tmp_path / "template")
    generated = tmp_path / "shop"
    new = subprocess.run(
        [
            str(fresh.bin / "pulumi"), "new", str(template), "--dir", str(generated),
            "--name", NEW, "--generate-only", "--yes", "--non-interactive",
        ],
        env=fresh.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert new.returncode == 0, new.stdout + new.stderr
    assert f"{usage.command_name()} adopt" in new.stdout, "the template's quickstart is shown"
    project = yaml.safe_load((generated / "Pulumi.yaml").read_text())
    assert project["name"] == NEW and "template" not in project

    (generated / ".venv").symlink_to((ROOT / ".venv").resolve())
    adopt = subprocess.run(
        [sys.executable, "-m", "pipeline", "adopt", "--domain", "shop.example.org",
         "--owner", "shop-team", "--cost-center", "cc-42", "--region", "aws=us-east-1"],
        cwd=generated, capture_output=True, text=True,
    )  # fmt: skip
    assert adopt.returncode == 0, adopt.stderr

    sandbox = Sandbox.create(generated, tmp_path / "engine", fresh.bin)
    sandbox.init("dev")
    steps = json.loads(sandbox.pulumi("preview", "--json", stack="dev").stdout)["steps"]
    engine = sorted(s["urn"] for s in steps if s["newState"]["type"] != "pulumi:pulumi:Stack")
    assert engine and all(f"::{NEW}::" in urn for urn in engine)
    offline = offline_plan(sandbox.project, "dev")["stacks"]["dev"]["resources"]
    assert engine == sorted(r["urn"] for r in offline)
