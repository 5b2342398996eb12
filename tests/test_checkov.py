"""Checkov over every AWS stage's rendered graph: no finding outside the waivers, none stale.

Checkov (pinned in tools/checkov-requirements.txt) runs from its own virtualenv, made by
tools/checkov.sh from PyPI on first use, on the Terraform plan JSON that tools/checkov_plan.py
makes of each render (`checkov -f plan.json --framework terraform_plan`).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.spec import read_stack
from tests.conftest import PROJECT_DIR, STACKS_DIR, render

sys.path.insert(0, str(PROJECT_DIR / "tools"))
import checkov_plan
import checkov_waivers

WAIVERS = PROJECT_DIR / "policies" / "checkov-waivers.yaml"
AWS_STACKS = sorted(
    s
    for s in (p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))
    if read_stack(STACKS_DIR, s).values.get("stageline:cloud", "aws") == "aws"
)
# A copy of dev with enhanced monitoring off: proves the run reports a finding that is not waived.
BROKEN = "dev-without-monitoring"


def _checkov() -> str:
    done = subprocess.run(
        [str(PROJECT_DIR / "tools" / "checkov.sh")], capture_output=True, text=True, timeout=1500
    )
    if done.returncode != 0:
        pytest.fail(f"tools/checkov.sh could not install Checkov:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def _without_monitoring(plan: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(plan)
    for row in broken["planned_values"]["root_module"]["resources"]:
        if row["type"] == "aws_db_instance":
            row["values"]["monitoring_interval"] = 0
    return broken


Results = dict[str, dict[str, set[tuple[str, str]]]]
LIVE_MINIMUM = 0.97
"""Issue 24: at least 97% of live's resource checks pass (graph checks, CKV2_*, apart)."""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """failed/passed -> stack -> {(check id, resource address)} of every check that ran."""
    where = tmp_path_factory.mktemp("checkov")
    renders = render(STACKS_DIR, *AWS_STACKS)
    files = []
    for stack, result in renders.items():
        assert result.error is None, result.error
        region = read_stack(STACKS_DIR, stack).region
        plan = checkov_plan.plan(result.resources, stack, region)
        files.append(where / f"{stack}.json")
        files[-1].write_text(json.dumps(plan))
        if stack == "dev":
            files.append(where / f"{BROKEN}.json")
            files[-1].write_text(json.dumps(_without_monitoring(plan)))
    command = [_checkov(), "--framework", "terraform_plan", "--compact"]
    command += ["--skip-download", "--output", "json"]
    for f in files:
        command += ["-f", str(f)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=where)
    # Exit 1 means "some check failed", which the waivers decide about; anything else is an error.
    assert done.returncode in (0, 1), done.stderr[-3000:]
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    out: Results = {kind: {f.stem: set() for f in files} for kind in ("failed", "passed")}
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
        for kind in out:
            for check in report["results"][f"{kind}_checks"]:
                stack = Path(check["file_path"]).stem
                out[kind][stack].add((check["check_id"], check["resource"]))
    return out


@pytest.fixture(scope="module")
def findings(results: Results) -> dict[str, set[tuple[str, str]]]:
    """stack -> {(check id, resource address)} of every failed check."""
    return results["failed"]


def test_live_passes_at_least_97_percent_of_its_resource_checks(results: Results) -> None:
    """Resource checks (CKV_*) as Checkov counts them, one per check and resource; every failure
    left is waived with its reason (test_no_finding_outside_the_waivers)."""
    passed, failed = (
        {c for c in results[kind]["live"] if not c[0].startswith("CKV2_")}
        for kind in ("passed", "failed")
    )
    ratio = len(passed) / (len(passed) + len(failed))
    assert ratio >= LIVE_MINIMUM, f"live: {len(passed)} of {len(passed) + len(failed)}: {failed}"


def _unwaived(stack: str, found: set[tuple[str, str]]) -> list[tuple[str, str]]:
    waivers = checkov_waivers.load(WAIVERS)
    return sorted(f for f in found if not any(w.covers(stack, *f) for w in waivers))


def test_every_aws_stage_is_checked(findings: dict[str, set[tuple[str, str]]]) -> None:
    assert {"dev", "test", "staging", "live"} <= set(AWS_STACKS)
    assert set(AWS_STACKS) <= set(findings)


def test_no_finding_outside_the_waivers(findings: dict[str, set[tuple[str, str]]]) -> None:
    unwaived = {s: _unwaived(s, f) for s, f in findings.items() if s != BROKEN}
    assert not any(unwaived.values()), "fix these or waive them with a reason:\n" + "\n".join(
        f"{s}: {c} {r}" for s, items in unwaived.items() for c, r in items
    )


def test_no_stale_waiver(findings: dict[str, set[tuple[str, str]]]) -> None:
    stale = []
    for waiver in checkov_waivers.load(WAIVERS):
        for stack in AWS_STACKS:
            hit = any(waiver.covers(stack, *f) for f in findings[stack])
            if waiver.applies(stack) and not hit:
                stale.append(f"{waiver.check} in {stack}: passes now, drop it from the waiver")
            if not waiver.applies(stack) and any(
                c == waiver.check and any(r.format(stack=stack) == a for r in waiver.resources)
                for c, a in findings[stack]
            ):
                stale.append(f"{waiver.check} fails in {stack} too")
    assert not stale, "\n".join(stale)


def test_a_real_finding_is_reported(findings: dict[str, set[tuple[str, str]]]) -> None:
    assert ("CKV_AWS_118", "aws_db_instance.dev-database-postgres") in _unwaived(
        BROKEN, findings[BROKEN]
    )


@pytest.mark.parametrize(
    "check", ["CKV_AWS_118", "CKV_AWS_300", "CKV_AWS_18", "CKV2_AWS_61", "CKV2_AWS_5"]
)
def test_fixed_findings_stay_fixed(findings: dict[str, set[tuple[str, str]]], check: str) -> None:
    for stack in AWS_STACKS:
        assert not [r for c, r in findings[stack] if c == check], (stack, check)
    assert not [w for w in checkov_waivers.load(WAIVERS) if w.check == check]


def test_every_emitted_aws_type_has_a_terraform_type() -> None:
    assert checkov_plan.terraform_type("aws:ec2/vpc:Vpc") == "aws_vpc"
    assert checkov_plan.terraform_type("aws:rds/instance:Instance") == "aws_db_instance"
    assert checkov_plan.terraform_type("aws:lb/loadBalancer:LoadBalancer") == "aws_lb"
    assert (
        checkov_plan.terraform_type(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        == "aws_s3_bucket_lifecycle_configuration"
    )
    assert checkov_plan.terraform_type("stageline:aws:Storage") is None
    values = checkov_plan.terraform_values(
        {
            "rules": [{"abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}],
            "tags": {"A": "b"},
        }
    )
    assert values == {
        "rule": [{"abort_incomplete_multipart_upload": [{"days_after_initiation": 7}]}],
        "tags": {"A": "b"},
    }


def _pins(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line (names compared as pip normalizes)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned to one version"
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_checkovs_virtualenv_is_exactly_the_lock() -> None:
    """Every distribution in Checkov's virtualenv is pinned in tools/checkov-constraints.txt at
    the version installed, and Checkov itself is the version checkov-requirements.txt names."""
    tools = PROJECT_DIR / "tools"
    constraints = _pins(tools / "checkov-constraints.txt")
    wanted = _pins(tools / "checkov-requirements.txt")
    python = Path(_checkov()).parent / "python"
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--exclude", "pip", "--exclude",
         "setuptools", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    installed = {_normal(d["name"]): d["version"] for d in json.loads(listed.stdout)}
    unpinned = sorted(set(installed) - set(constraints))
    moved = sorted(n for n in installed if n in constraints and installed[n] != constraints[n])
    assert not unpinned and not moved, f"not in the lock: {unpinned}; other versions: {moved}"
    for name, version in wanted.items():
        assert installed.get(name) == version == constraints[name], name
