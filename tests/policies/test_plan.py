"""``plan`` runs the pack over every rendered stage: shipped stages pass, a broken live fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.plan import make_plan
from tests.conftest import PROJECT_DIR, STACKS_DIR, edit_stack


def test_shipped_stages_have_no_mandatory_violation() -> None:
    plan = make_plan(PROJECT_DIR, STACKS_DIR)
    assert plan.render_errors == {}
    assert plan.mandatory == [], "\n".join(
        f"{f['policy']}: {f['message']} [{f['urn']}]" for f in plan.mandatory
    )
    assert set(plan.compliance) == set(plan.renders)
    for stack, summary in plan.compliance.items():
        assert summary["mandatory"] == 0, f"{stack}: {summary}"
        assert summary["config"] == f"{summary['stage']}.json", f"{stack}: {summary}"
    assert plan.compliance["live"]["rules"] > plan.compliance["dev"]["rules"], (
        "live-only rules should run in live and be disabled in dev"
    )


def _scale(key: str, value: Any) -> Any:
    def change(config: dict[str, Any]) -> None:
        section, _, leaf = key.rpartition(".")
        target = config.setdefault("stageline:scale", {})
        for part in [p for p in section.split(".") if p]:
            target = target.setdefault(part, {})
        target[leaf] = value

    return change


@pytest.mark.parametrize(
    ("key", "value", "policy", "resource"),
    [
        ("logRetentionDays", 30, "aws-cloudwatch-loggroup-retention", "live-logs-api"),
        ("database.backupRetentionDays", 7, "aws-rds-instance-backup-retention",
         "live-database-postgres"),
    ],
)  # fmt: skip
def test_live_below_its_minimum_fails_plan(
    stacks_copy: Path, key: str, value: int, policy: str, resource: str
) -> None:
    edit_stack(stacks_copy, "live", _scale(key, value))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "plan",
            "--stacks-dir",
            str(stacks_copy),
            "--stack",
            "live",
            "--format",
            "json",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    violations = json.loads(run.stdout)["stacks"]["live"]["violations"]
    named = [v for v in violations if v["policy"] == policy and v["enforcement"] == "mandatory"]
    urns = [v["urn"] for v in named]
    assert any(u.endswith(f"::{resource}") for u in urns), f"{policy} on {resource}: {violations}"
