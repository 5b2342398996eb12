"""The CI/CD workflows validate against GitHub's workflow schema and pass zizmor offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_four_workflows_exist() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"preview.yml", "preview-comment.yml", "deploy.yml", "drift.yml"} <= names, names


def test_workflows_match_the_github_workflow_schema() -> None:
    done = _run(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, WORKFLOWS),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing_at_medium_or_above() -> None:
    done = _run(
        str(BIN / "zizmor"),
        "--offline",
        "--min-severity",
        "medium",
        "--format",
        "plain",
        str(PROJECT_DIR / ".github" / "workflows"),
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_pinned_actions(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert doc.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    assert "pull_request_target" not in doc[True], f"{path.name}: pull_request_target is unsafe"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses:
                assert PINNED.match(uses), f"{path.name}: {name} uses {uses} (not a full SHA)"
            if uses and uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}: {name}"


def test_deploys_never_overlap_and_live_needs_the_protected_environment() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/deploy.yml").read_text())
    for name, job in doc["jobs"].items():
        assert job["concurrency"]["cancel-in-progress"] is False, name
    live = doc["jobs"]["live"]
    assert live["environment"] == "live"
    run = next(s["run"] for s in live["steps"] if "promote" in s.get("run", ""))
    assert "${{" not in run, "the approver reaches the command through env, not inline"


def test_only_the_promoting_jobs_may_push_and_matrices_come_from_the_pipeline_file() -> None:
    writers = set()
    for path in WORKFLOWS:
        doc = yaml.safe_load(path.read_text())
        for name, job in doc["jobs"].items():
            if job.get("permissions", {}).get("contents") == "write":
                writers.add(f"{path.name}:{name}")
            for key, values in (job.get("strategy", {}).get("matrix") or {}).items():
                assert isinstance(values, str) and "fromJSON(" in values, (path.name, name, key)
    assert writers == {
        "deploy.yml:pre-live",
        "deploy.yml:live",
        "deploy.yml:propose",  # pushes promotions/<stack>/<release>
        "promote-merged.yml:deploy",
        "drift.yml:reconcile",  # appends the ledger and takes the pipeline lock
    }, writers
    deploy = yaml.safe_load((PROJECT_DIR / ".github/workflows/deploy.yml").read_text())
    text = yaml.safe_dump(deploy["jobs"]["live"])
    assert "github.actor" not in text, "the approver is the reviewer, not whoever pushed"
    assert "/approvals" in text


def test_a_merged_proposal_is_deployed_with_the_reviewer_from_the_pull_request() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/promote-merged.yml").read_text())
    assert doc[True]["push"]["branches"] == ["stages/**"]
    read = yaml.safe_dump(doc["jobs"]["read"])
    assert "/reviews" in read and "merged_by" in read and "github.actor" not in read
    run = next(s["run"] for s in doc["jobs"]["deploy"]["steps"] if "promote" in s.get("run", ""))
    assert "--merged" in run and '--reviewer "$REVIEWER"' in run and "${{" not in run
    # A merged rollback proposal is deployed as one: the kind comes from the merged record.
    script = next(s["run"] for s in doc["jobs"]["read"]["steps"] if s.get("id") == "read")
    assert 'r["kind"]' in script and 'echo "kind=$kind"' in script
    assert '"${rollback[@]}"' in run and "rollback=(--rollback)" in run


def test_deploy_reads_which_pipelines_approve_and_which_propose(tmp_path: Path) -> None:
    """Runs deploy.yml's own "read the pipelines" script against stacks/pipeline.yaml."""
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/deploy.yml").read_text())
    script = next(s["run"] for s in doc["jobs"]["stages"]["steps"] if s.get("id") == "read")
    output = tmp_path / "output"
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert [p["pipeline"] for p in json.loads(values["pipelines"])] == ["aws", "azure"]
    assert [p["pipeline"] for p in json.loads(values["approved"])] == ["aws", "azure"]
    assert json.loads(values["proposed"]) == [], "no stage is promoted by pull request here"
    jobs = doc["jobs"]
    assert jobs["live"]["if"] == "needs.stages.outputs.approved != '[]'"
    assert "outputs.approved" in jobs["live"]["strategy"]["matrix"]["pipeline"]
    assert "outputs.proposed" in jobs["propose"]["strategy"]["matrix"]["pipeline"]


def _deploying_jobs() -> list[tuple[str, str, dict]]:
    """Every job that promotes against a cloud (not the git-only ``--deployer offline``)."""
    jobs = []
    for path in WORKFLOWS:
        doc = yaml.safe_load(path.read_text())
        for name, job in doc["jobs"].items():
            runs = [s.get("run", "") for s in job.get("steps", [])]
            if any("pipeline promote" in r and "--deployer offline" not in r for r in runs):
                jobs.append((path.name, name, job))
    return jobs


@pytest.mark.parametrize("where", _deploying_jobs(), ids=lambda w: f"{w[0]}:{w[1]}")
def test_every_deploying_job_can_copy_the_release_images(where: tuple[str, str, dict]) -> None:
    """The copy-images step (pipeline/promote/images.py) reads the release's registry and writes
    the stage's: skopeo needs a login to both (ECR after the AWS role is assumed), and az acr
    import takes the source's credentials itself."""
    workflow, name, job = where
    steps = job["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    promote = next(i for i, s in enumerate(steps) if "pipeline promote" in s.get("run", ""))
    source = names.index("Log skopeo in to the release's registry")
    assert source < promote, f"{workflow}:{name}: source login after the promotion"
    assert job["permissions"].get("packages") == "read", f"{workflow}:{name}"
    aws = next(i for i, n in enumerate(names) if n.startswith("aws-actions/configure-aws"))
    ecr = names.index("Log skopeo in to the stages' ECR registry")
    assert aws < ecr < promote, f"{workflow}:{name}: ECR login must follow the role, precede copy"
    assert "skopeo login" in steps[ecr]["run"] and "ecr get-login-password" in steps[ecr]["run"]
    env = steps[promote]["env"]
    assert {"STAGELINE_SOURCE_USERNAME", "STAGELINE_SOURCE_PASSWORD"} <= set(env), name


def test_the_deploying_jobs_are_found() -> None:
    found = {(w, n) for w, n, _ in _deploying_jobs()}
    assert found == {
        ("deploy.yml", "pre-live"),
        ("deploy.yml", "live"),
        ("promote-merged.yml", "deploy"),
    }, found


def test_drift_reconciles_each_cloud_pipeline_beside_no_promotion_of_it() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/drift.yml").read_text())
    job = doc["jobs"]["reconcile"]
    assert job["permissions"] == {
        "contents": "write",
        "id-token": "write",
        "issues": "write",
        "pull-requests": "write",  # a heal proposal's pull request
    }
    deploy = yaml.safe_load((PROJECT_DIR / ".github/workflows/deploy.yml").read_text())
    # The same concurrency group as the promotions of the pipeline: one waits for the other.
    assert job["concurrency"] == deploy["jobs"]["pre-live"]["concurrency"]
    run = next(s for s in job["steps"] if s.get("id") == "reconcile")
    assert '.venv/bin/python -m pipeline reconcile --pipeline "$PIPELINE" --json' in run["run"]
    assert "pipefail" in run["run"], "the tee must not hide reconcile's exit code"
    assert "${{" not in run["run"] and "docker" in yaml.safe_dump(doc["jobs"]["stages"])
    # What reconcile proposed becomes a pull request, from its own arguments (no eval).
    opens = next(s["run"] for s in job["steps"] if "heal proposals" in s.get("name", ""))
    assert 'shlex.split(proposal["command"])' in opens and "eval" not in opens
    assert '"gh", "pr", "list", "--head", proposal["branch"]' in opens


def test_a_merged_heal_proposal_is_healed_by_reconcile() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/promote-merged.yml").read_text())
    script = next(s["run"] for s in doc["jobs"]["read"]["steps"] if s.get("id") == "read")
    assert '"heal" if "heal" in r else r["kind"]' in script
    run = next(s["run"] for s in doc["jobs"]["deploy"]["steps"] if "promote" in s.get("run", ""))
    words = " ".join(run.replace("\\\n", " ").split())  # one line, continuations joined
    heal = 'reconcile --stage "$STACK" --merged --proposer "$PROPOSER" --reviewer "$REVIEWER"'
    assert 'if [ "$KIND" = heal ]' in words and heal in words, run


def test_review_stages_only_for_this_repositorys_pull_requests() -> None:
    doc = yaml.safe_load((PROJECT_DIR / ".github/workflows/review.yml").read_text())
    assert doc[True]["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    for name in ("up", "down"):
        job = doc["jobs"][name]
        assert "head.repo.full_name == github.repository" in job["if"], name
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        assert job["concurrency"]["group"].endswith("${{ github.event.pull_request.number }}")
    run = "\n".join(s.get("run", "") for s in doc["jobs"]["up"]["steps"])
    assert 'review up --pipeline aws --pr "$PR"' in run and "--state-dir" in run
    assert "${{" not in run  # the number and the images reach the script through env
    down = "\n".join(s.get("run", "") for s in doc["jobs"]["down"]["steps"])
    assert 'review down --pipeline aws --pr "$PR"' in down
    assert "closed" in doc["jobs"]["down"]["if"] and "review sweep" in yaml.safe_dump(doc)


def test_continuous_deployment_walks_every_auto_target_of_the_graph() -> None:
    """deploy.yml promotes to each of `stages --json`'s autoTargets (both branches of a graph),
    not to the single `auto` stage of a chain."""
    deploy = yaml.safe_load((PROJECT_DIR / ".github/workflows/deploy.yml").read_text())
    (step,) = [
        s
        for s in deploy["jobs"]["pre-live"]["steps"]
        if s.get("name", "").startswith("Promote through the autoPromote")
    ]
    assert step["env"]["TARGETS"] == "${{ join(matrix.pipeline.autoTargets, ' ') }}"
    assert "for target in $TARGETS" in step["run"] and '--to "$target"' in step["run"]


def test_no_workflow_writes_the_project_s_name() -> None:
    """The workflows read the name where they need it (Pulumi.yaml, through the pipeline or the
    API): a renamed copy's comment marker, records and concurrency groups follow the rename.
    Comments may say it; the console script is pyproject.toml's, not Pulumi.yaml's name."""
    from pipeline.naming import project_name
    from pipeline.usage import command_name

    name, script = project_name(PROJECT_DIR), f".venv/bin/{command_name()} "
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in WORKFLOWS
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if name in line.split(" #")[0].replace(script, "") and not line.lstrip().startswith("#")
    ]
    assert not found, found
