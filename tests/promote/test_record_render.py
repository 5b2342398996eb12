"""The release is the whole artifact, and the stage's record reproduces it.

With ``--deployer offline`` each stage is rendered (under the mock runtime) from the release's own
infrastructure commit, and what a stage runs is its branch ``stages/<stack>``. From a fresh
clone, the documented reproduction (``python -m pipeline plan`` in a checkout of the stage's
branch) renders byte for byte what the promotion deployed; an infrastructure change merged to
main reaches a stage only once a release that contains it is promoted there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request, stage_policy
from pipeline.promote.release import make_release
from pipeline.record.checkout import checkout
from pipeline.record.offline import (
    RecordDeployer,
    canonical,
    graph,
    offline_verify,
    render_checkout,
)
from pipeline.record.state import GitState
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.gitrepos import clone, commit_change, git, seed_remote

MARK = 'pulumi.export("infrastructureMark", "second commit")\n'


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return seed_remote(tmp_path / "origin")


def stage_checkout(repo: Path, stack: str) -> Path:
    git(repo, "fetch", "-q", "origin", f"stages/{stack}")
    commit = git(repo, "rev-parse", "FETCH_HEAD")
    return checkout(GitState(repo).git, repo / ".git", commit)


def test_the_stage_record_renders_what_the_promotion_deployed(remote: Path, tmp_path: Path) -> None:
    a = clone(remote, tmp_path / "a")
    state = GitState(a)
    release, _ = state.save_release(make_release(a, images("b")))
    deployer = RecordDeployer(a, state, tmp_path / "work")
    orchestrator = Orchestrator(
        deployer,
        load_pipeline(a / "stacks"),
        state,
        verify=offline_verify,
        policy=stage_policy(PROJECT_DIR, None, None, a / "stacks"),  # held without a policy run
    )
    assert orchestrator.promote(Request(release.id, "dev")).code == EXIT_OK
    deployed = graph(deployer.deployed["dev"])
    assert json.loads(deployed)["outputs"]["release"] == release.id
    shutil.rmtree(a)

    b = clone(remote, tmp_path / "b")
    record = stage_checkout(b, "dev")
    assert json.loads((record / "stacks" / "dev.record.json").read_text())["commit"] == (
        release.commit
    )
    assert graph(render_checkout(record, record / "stacks", "dev")) == deployed
    # The reproduction docs/promotion.md gives: plan in a checkout of the stage's branch.
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", "--stack", "dev", "--format", "json"],
        cwd=record,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    planned = json.loads(done.stdout)["stacks"]["dev"]
    assert canonical(planned["resources"], planned["outputs"]) == deployed


def offline(repo: Path, release: str, *args: str) -> int:
    return main(["promote", release, *args, "--deployer", "offline", "--repo", str(repo)])


def renders_mark(repo: Path, stack: str) -> bool:
    record = stage_checkout(repo, stack)
    outputs = render_checkout(record, record / "stacks", stack).outputs
    return "infrastructureMark" in outputs


def test_an_infrastructure_change_reaches_a_stage_only_by_promotion(
    remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = clone(remote, tmp_path / "a")
    first, _ = GitState(a).save_release(make_release(a, images("c")))
    assert offline(a, first.id, "--to", "dev") == EXIT_OK

    program = (a / "__main__.py").read_text() + MARK
    second_commit = commit_change(a, "__main__.py", program, "export a mark")
    assert not renders_mark(a, "dev"), "main changed, dev did not"

    assert offline(a, first.id, "--to", "test") == EXIT_OK
    assert not renders_mark(a, "test"), "test runs the first release's commit, not main"
    capsys.readouterr()
    assert main(["status", "--offline", "--json", "--repo", str(a)]) == EXIT_OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows = {e["stack"]: e for e in events if e["event"] == "stage"}
    assert rows["test"]["record"]["commit"] == first.commit != second_commit

    second, _ = GitState(a).save_release(make_release(a, images("d")))
    assert second.commit == second_commit
    assert offline(a, second.id, "--to", "dev") == EXIT_OK
    assert renders_mark(a, "dev"), "promoted: dev now runs the second commit"
    assert not renders_mark(a, "test")
