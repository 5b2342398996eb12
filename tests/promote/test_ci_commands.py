"""The commands the workflows call: ``stages`` (the matrices come from the pipeline file) and
``record pin`` (a preview starts from what the stage runs, not from main's bootstrap pins)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.spec import read_stack
from pipeline.cli import main
from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request
from pipeline.promote.release import make_release
from pipeline.promote.stage_record import StageChange, StageRecord
from pipeline.record.state import GitState
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.fakes import FileDeployer, state_verifier
from tests.promote.gitrepos import clone, seed_remote


def test_stages_reads_targets_clouds_and_soak_from_the_pipeline_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["stages", "--json"]) == EXIT_OK
    (line,) = capsys.readouterr().out.splitlines()  # the result event holds it (docs/json.md)
    found = json.loads(line)
    assert found["event"] == "result" and found["command"] == "stages"
    pipelines = {p["pipeline"]: p for p in found["pipelines"]}
    assert pipelines["aws"] == {
        "pipeline": "aws",
        "cloud": "aws",
        "auto": "staging",
        "autoTargets": ["staging"],  # one per branch of a graph (Pipeline.auto_targets)
        "approved": ["live"],
        "pullRequest": [],  # stages promoted by pull request (promotion: pullRequest)
        "soakMinutes": 60,
    }
    assert pipelines["azure"]["cloud"] == "azure" and pipelines["azure"]["approved"] == [
        "azure-live"
    ]
    stacks = {s["stack"]: s for s in found["stacks"]}
    assert stacks["azure-live"] == {
        "stack": "azure-live",
        "stage": "live",
        "pipeline": "azure",
        "cloud": "azure",
    }
    assert "local" not in stacks, "outside promotion"


def test_record_pin_writes_what_the_stage_runs_into_the_checkout(tmp_path: Path) -> None:
    remote = seed_remote(tmp_path / "origin")
    a = clone(remote, tmp_path / "a")
    state = GitState(a)
    release, _ = state.save_release(make_release(a, images("f")))
    cloud = FileDeployer(a / "stacks", tmp_path / "cloud")
    orchestrator = Orchestrator(
        cloud, load_pipeline(a / "stacks"), state, verify=state_verifier(cloud)
    )
    assert orchestrator.promote(Request(release.id, "dev")).code == EXIT_OK

    b = clone(remote, tmp_path / "b")
    assert read_stack(b / "stacks", "dev").values["stageline:release"] == "bootstrap"
    assert main(["record", "pin", "--stack", "dev", "--repo", str(b)]) == EXIT_OK
    values = read_stack(b / "stacks", "dev").values
    assert values["stageline:release"] == release.id
    assert json.loads(values["stageline:images"]) == images("f")
    before = (b / "stacks" / "Pulumi.live.yaml").read_bytes()
    assert main(["record", "pin", "--stack", "live", "--repo", str(b)]) == EXIT_OK
    assert (b / "stacks" / "Pulumi.live.yaml").read_bytes() == before, "no record: unchanged"


def test_record_pin_into_a_checkout_without_the_stack_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    (state / "stages").mkdir(parents=True)
    # A whole record, as a promotion writes it (pipeline/promote/stage_record.py).
    change = StageChange(
        "dev", "aws", "r-0000000000000001", images("a"), None, "p", "forward", None
    )
    (state / "stages" / "dev.json").write_text(json.dumps(StageRecord.of(change, None).to_json()))
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    args = ["record", "pin", "--stack", "dev", "--state-dir", str(state), "--repo", str(checkout)]
    args += ["--stacks-dir", str(PROJECT_DIR / "stacks")]  # the pipeline file names the stage
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("Pulumi.dev.yaml: cannot pin it (No such file or directory)"), err
    assert "Errno" not in err and "Traceback" not in err
