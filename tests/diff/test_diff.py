"""``diff`` between real revisions of a throw-away repository, each rendered with its own code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.diff import DiffResult
from pipeline.diff.compare import ResourceChange
from pipeline.diff.output import as_json, markdown, table
from tests.diff.conftest import AWS_STAGES, SECRET_CIPHERTEXT, DiffRepo

STAGES = AWS_STAGES


def _by_type(result: DiffResult, stack: str, action: str, type_token: str) -> list[ResourceChange]:
    diff = result.stages[stack]
    group = {"add": diff.added, "remove": diff.removed, "change": diff.changed}[action]
    return [r for r in group if r.type == type_token]


def _cli(
    repo: Path, *args: str, stages: list[str] = AWS_STAGES
) -> subprocess.CompletedProcess[str]:
    stacks = [arg for stack in stages for arg in ("--stack", stack)]
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "diff", *args, *stacks],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_scale_change_in_one_stage_shows_only_there(diff_repo: DiffRepo) -> None:
    result = diff_repo.diff("base", "scale")
    assert list(result.stages) == STAGES, "stages in pipeline order"
    for stack in ["test", "staging", "live"]:
        assert result.stages[stack].empty, [r.urn for r in result.stages[stack].resources()]
    dev = result.stages["dev"]
    nats = _by_type(result, "dev", "add", "aws:ec2/natGateway:NatGateway")
    assert [r.name for r in nats] == ["dev-network-nat-1"], [r.urn for r in dev.added]
    assert _by_type(result, "dev", "add", "aws:ec2/eip:Eip"), [r.urn for r in dev.added]
    assert not dev.removed, [r.urn for r in dev.removed]
    assert not dev.destroying, [r.urn for r in dev.destroying]
    routes = _by_type(result, "dev", "change", "aws:ec2/route:Route")
    assert routes, [r.urn for r in dev.changed]
    for route in routes:
        assert [c.path for c in route.changes] == ["natGatewayId"], route.urn
    assert result.exit_code() == 0, [f.message for f in result.new_findings]


def test_blueprint_change_shows_in_every_stage_and_replaces_the_database(
    diff_repo: DiffRepo,
) -> None:
    result = diff_repo.diff("scale", "blueprint")
    for stack in STAGES:
        databases = _by_type(result, stack, "change", "aws:rds/instance:Instance")
        assert len(databases) == 1, f"{stack}: {[r.urn for r in result.stages[stack].changed]}"
        database = databases[0]
        change = {c.path: (c.old, c.new) for c in database.changes}
        assert change.get("dbName") == ("app", "core"), f"{database.urn}: {change}"
        assert database.replaced_by == ("dbName",), database.urn
        assert database.destroys_data, database.urn
        assert result.stages[stack].destroying == [database], database.urn
    for fmt in (table, markdown):
        text = fmt(result)
        assert "REPLACE (stateful; forced by dbName)" in text, text[:2000]
    # Every stage changed together: shape still matches, nothing new to report.
    assert result.exit_code() == 0, [f.message for f in result.new_findings]


def test_new_parity_violation_exits_1_and_is_reported(diff_repo: DiffRepo) -> None:
    done = _cli(
        diff_repo.path,
        "--base",
        diff_repo.commits["blueprint"],
        "--head",
        diff_repo.commits["drift"],
        "--format",
        "json",
        stages=["dev", "test"],  # parity needs two stages, not four
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    new = [f for f in report["findings"] if f["new"]]
    assert new, report["findings"]
    assert {f["stack"] for f in new} == {"dev"}, new
    assert all(f["kind"] == "parity" for f in new), new
    assert any(f["rule"] == "shape.database.port" for f in new), new
    changed = report["stages"]["dev"]["changed"]
    ports = [r for r in changed if r["type"] == "aws:rds/instance:Instance"]
    assert ports and ports[0]["changes"] == [{"path": "port", "old": 5432, "new": 5433}], changed
    assert all(not s["changed"] for k, s in report["stages"].items() if k != "dev"), report


def test_secret_value_never_appears_in_any_format(diff_repo: DiffRepo, tmp_path: Path) -> None:
    result = diff_repo.diff("drift", None, ["dev", "test"])
    assert str(result.head) == "working tree"
    added = {r.type for r in result.stages["dev"].added}
    assert "aws:secretsmanager/secret:Secret" in added, added
    texts = {fmt.__name__: result.masker.text(fmt(result)) for fmt in (table, markdown, as_json)}
    for name, text in texts.items():
        assert SECRET_CIPHERTEXT[:20] not in text, name
        assert SECRET_CIPHERTEXT.split(":")[1] not in text, name
    versions = [
        r
        for r in result.stages["dev"].added
        if r.type == "aws:secretsmanager/secretVersion:SecretVersion"
    ]
    assert versions, added
    for version in versions:
        assert not version.changes, version.urn  # an added resource lists no values at all
    # Both revisions' secure values are known to the masker, so any stray copy would be hidden.
    assert result.masker.text(f"x {SECRET_CIPHERTEXT}dev x") == "x [secret] x"


def test_bad_revision_exits_2_naming_it(diff_repo: DiffRepo) -> None:
    done = _cli(diff_repo.path, "--base", "no-such-branch")
    assert done.returncode == 2, done.stdout
    assert "base revision 'no-such-branch' is not a commit" in done.stderr, done.stderr
    assert done.stdout == "", done.stdout


def test_base_without_pipeline_package_exits_2(diff_repo: DiffRepo) -> None:
    done = _cli(diff_repo.path, "--base", diff_repo.commits["bare"], "--head", "HEAD")
    assert done.returncode == 2, done.stdout
    assert "has no pipeline package" in done.stderr, done.stderr
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=diff_repo.path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert len(worktrees.splitlines()) == 1, f"temporary worktrees left behind:\n{worktrees}"


def test_invalid_configuration_exits_2_naming_file_and_key(
    diff_repo: DiffRepo, tmp_path: Path
) -> None:
    out = tmp_path / "comment.md"
    done = _cli(
        diff_repo.path,
        "--base",
        diff_repo.commits["base"],
        "--head",
        diff_repo.commits["broken"],
        "--format",
        "markdown",
        "--output",
        str(out),
    )
    assert done.returncode == 2, done.stdout
    assert "head revision" in done.stderr and "invalid configuration" in done.stderr, done.stderr
    assert "stacks/Pulumi.dev.yaml: stageline:cidr" in done.stderr, done.stderr
    assert not out.exists(), "nothing is written when the diff fails"
