"""What the commands ask the state instead of its class (issue 25): which protected branch
governs promotions (``governance``) and whether it holds heal proposals (``proposal_record``).
The git state answers from a bare repository playing the remote; a one-machine state (a
directory's record, the tests' double) has neither, and the commands behave as they did when
they asked ``isinstance``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.memory import MemoryState
from pipeline.record.state import GitState
from tests.promote.conftest import images
from tests.promote.gitrepos import clone, git, seed_remote

ENGINE = "tests.reconcile.fakes:engine"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return clone(seed_remote(tmp_path / "origin"), tmp_path / "runner")


def result(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    said: dict[str, object] = json.loads(capsys.readouterr().out.splitlines()[-1])
    return said


def test_the_git_state_answers_with_its_protected_branch_a_directory_with_none(
    repo: Path, tmp_path: Path
) -> None:
    state = GitState(repo)
    governance = state.governance(None)  # the remote's default branch
    assert governance is not None
    assert (governance.branch, governance.commit) == ("main", git(repo, "rev-parse", "HEAD"))
    assert governance.reviewed(git(repo, "rev-parse", "HEAD"))
    assert state.proposal_record() is state
    local = MemoryState(tmp_path / "state")
    assert local.governance(None) is None and local.governance("main") is None
    assert local.proposal_record() is None


def test_release_create_fails_closed_when_the_protected_branch_cannot_be_read(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = [f"--image={s}={i}" for s, i in images("e").items()]
    args = ["release", "create", *pairs, "--protected-branch", "nosuch", "--json"]
    assert main([*args, "--repo", str(repo)]) == 0  # recorded; the note says what is unknown
    said = result(capsys)
    head = git(repo, "rev-parse", "HEAD")[:12]
    assert said["outcome"] == "created", said
    assert str(said["unreviewed"]).startswith(f"cannot tell whether commit {head} was reviewed:")
    assert "'nosuch'" in str(said["unreviewed"]), said


def test_ledger_verify_says_the_gates_were_not_audited_without_the_protected_branch(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = [f"--image={s}={i}" for s, i in images("e").items()]
    assert main(["release", "create", *pairs, "--repo", str(repo)]) == 0
    capsys.readouterr()
    assert main(["ledger", "verify", "--json", "--repo", str(repo)]) == 0
    assert result(capsys)["outcome"] == "verified"
    args = ["ledger", "verify", "--protected-branch", "nosuch", "--json", "--repo", str(repo)]
    assert main(args) == 1
    said = result(capsys)
    problems = [str(p) for p in said["problems"]]  # type: ignore[attr-defined]
    assert said["outcome"] == "tampered" and len(problems) == 1, said
    assert problems[0].startswith("the promotions' gates were not audited: "), problems
    assert "'nosuch'" in problems[0]


def test_a_directory_state_verifies_without_a_gate_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    assert main(["ledger", "verify", "--json", "--state-dir", str(state)]) == 0
    said = result(capsys)
    assert said["outcome"] == "verified" and said["findings"] == [] and said["problems"] == []


def test_reconcile_merged_needs_a_state_with_proposals(
    stacks_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    state.mkdir()  # the fake drift engine keeps its cloud there
    args = ["reconcile", "--stage", "live", "--merged", "--deployer", ENGINE]
    where = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state)]
    assert main([*args, *where]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert said == ["reconcile: --merged needs the git state: a local state has no proposals"]
