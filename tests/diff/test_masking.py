"""Masking by value, not by substring: only secrets are masked, and every format stays valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from pipeline.diff.masking import MASK, Masker, secret_values
from pipeline.diff.output import MARKER
from tests.diff.conftest import SECRET_CIPHERTEXT, DiffRepo, git
from tests.diff.test_bounds import _commit_with

TOKEN = f"{SECRET_CIPHERTEXT}tag"


def test_only_secure_values_and_app_secrets_are_secret(tmp_path: Path) -> None:
    config = {
        "stageline:tags": {"team": "stageline", "cost": "1024", "token": {"secure": TOKEN}},
        "stageline:secrets": {"api-token": {"secure": "v1:abcdef"}, "plain": "hunter22"},
        "stageline:owner": "platform-team",
    }
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    assert secret_values(tmp_path) == {TOKEN, "v1:abcdef", "hunter22"}


def test_masker_keeps_structure_and_other_values() -> None:
    masker = Masker([TOKEN, "1024"])
    data = {
        "urn": "urn:pulumi:dev::stageline::aws:s3/bucket:Bucket::dev-bucket",
        "cpu": 1024,
        "tags": {"token": TOKEN, "url": f"https://x:{TOKEN}@host", "team": "stageline"},
        TOKEN: [True, None, 2.5],
    }
    masked = masker.data(data)
    assert masked["cpu"] == 1024, "numbers are never masked"
    assert masked["urn"] == data["urn"]
    assert masked["tags"] == {"token": MASK, "url": f"https://x:{MASK}@host", "team": "stageline"}
    assert masked[MASK] == [True, None, 2.5]
    json.loads(json.dumps(masked))


def test_every_format_stays_valid_with_a_secure_tag_and_a_tag_equal_to_the_project(
    diff_repo: DiffRepo,
) -> None:
    base = diff_repo.commits["base"]
    doc = yaml.safe_load(git(diff_repo.path, "show", f"{base}:stacks/Pulumi.dev.yaml"))
    doc["config"]["stageline:tags"] = {
        "team": "stageline",
        "replicas": "1024",
        "token": {"secure": TOKEN},
    }
    head = _commit_with(diff_repo, base, "stacks/Pulumi.dev.yaml", yaml.safe_dump(doc))
    outputs = {}
    for fmt in ("json", "markdown", "table"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "diff",
                "--base",
                base,
                "--head",
                head,
                "--stack",
                "dev",
                "--format",
                fmt,
            ],
            cwd=diff_repo.path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        assert TOKEN not in done.stdout and SECRET_CIPHERTEXT[:20] not in done.stdout, fmt
        outputs[fmt] = done.stdout
    plan = json.loads(outputs["json"])  # valid JSON, whatever the values
    assert "urn:pulumi:dev::stageline::" in outputs["json"], "URNs are not masked"
    assert outputs["markdown"].splitlines()[0] == MARKER
    assert "stageline" in json.dumps(plan)
    assert "1024" in outputs["json"]
