"""Promotion by pull request, for real: a bare repository is the remote, three clones play the
author (who proposes), the reviewer (who merges the proposal into ``stages/<stack>`` with another
git identity) and CI (which deploys the merge with ``--deployer offline``).

The pipeline under test makes ``test`` a stage promoted by pull request (``promotion:
pullRequest``); ``dev`` stays direct.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, EXIT_PROPOSED
from pipeline.reconcile.command import baselines
from pipeline.reconcile.run import Baseline
from pipeline.record.state import GitState
from tests.promote.conftest import images
from tests.promote.fakes import FileDeployer, HealthServer
from tests.promote.gitrepos import clone, commit_change, git, seed_remote
from tests.promote.typed_entries import stored

AUTHOR = ("Ada Author", "ada@example.com")
REVIEWER = ("Rita Reviewer", "rita@example.com")
CI = ("CI Runner", "ci@example.com")


def by_pull_request(text: str, dev_soak: int = 0) -> str:
    """The pipeline file with ``test`` promoted by pull request (and dev's soak)."""
    text = text.replace(
        "      - stack: test\n        stage: test\n",
        "      - stack: test\n        stage: test\n        promotion: pullRequest\n",
        1,
    )
    if dev_soak:
        text = text.replace(
            "      - stack: dev\n        stage: dev\n",
            f"      - stack: dev\n        stage: dev\n        soakMinutes: {dev_soak}\n",
            1,
        )
    return text


FAKE = ("--deployer", "tests.promote.fakes:file_deployer", "--health-timeout", "2")


def person(repo: Path, who: tuple[str, str]) -> Path:
    git(repo, "config", "user.name", who[0])
    git(repo, "config", "user.email", who[1])
    return repo


def as_person(repo: Path, *args: str) -> None:
    """git as the clone's configured identity (gitrepos.git commits as a fixed one)."""
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return seed_remote(tmp_path / "origin")


def setup(remote: Path, tmp_path: Path, dev_soak: int = 0) -> tuple[Path, str]:
    """The author's clone with the pipeline change on main, and a release of that commit."""
    author = person(clone(remote, tmp_path / "author"), AUTHOR)
    pipeline = (author / "stacks/pipeline.yaml").read_text()
    commit_change(author, "stacks/pipeline.yaml", by_pull_request(pipeline, dev_soak), "test by PR")
    return author, release(author)


def cli(repo: Path, *args: str) -> int:
    return main([*args, "--repo", str(repo)])


def release(repo: Path, seed: str = "e") -> str:
    pairs = [f"--image={s}={i}" for s, i in images(seed).items()]
    assert cli(repo, "release", "create", *pairs) == EXIT_OK
    return next(r.id for r in GitState(repo).releases.all() if r.images == images(seed))


def offline(repo: Path, release_id: str, *args: str) -> int:
    return cli(repo, "promote", release_id, *args, "--deployer", "offline")


def fake(repo: Path, release_id: str, *args: str) -> int:
    """The same promotion over the fake cloud (faster: no renders) for the refusal cases."""
    return cli(repo, "promote", release_id, *args, *FAKE)


@pytest.fixture
def fake_cloud(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FileDeployer]:
    """One fake cloud shared by every clone, seeded from the remote's stack files."""
    stacks = clone(remote, tmp_path / "seed-cloud") / "stacks"
    cloud = FileDeployer(stacks, tmp_path / "cloud")
    with HealthServer(cloud) as server:
        monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", server.url)
        monkeypatch.setenv("STAGELINE_FAKE_CLOUD", str(tmp_path / "cloud"))
        yield cloud


def remote_refs(remote: Path) -> dict[str, str]:
    out = git(remote, "for-each-ref", "--format=%(refname) %(objectname)")
    return {ref: sha for ref, sha in (line.split() for line in out.splitlines())}


def status(repo: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert cli(repo, "status", "--offline", "--json") == EXIT_OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {e["stack"]: e for e in events if e["event"] == "stage"}


def record_commit(repo: Path, stack: str) -> str:
    record = GitState(repo).stage_record(stack)
    assert record is not None
    return str(record.record_commit)


def _drift_baseline(repo: Path, stack: str) -> Baseline:
    """What drift.yml's reconcile compares ``stack`` with, from a clone ``repo``: the record
    under a merge not deployed yet, the checked-out commit for a stage never deployed."""
    return baselines(GitState(repo), repo, repo / "stacks")(stack)


def drift_checkout(repo: Path, stack: str) -> str:
    """The record reconcile would deploy ``stack`` from, or that it has none (it compares the
    stage with the checked-out commit then)."""
    baseline = _drift_baseline(repo, stack)
    if baseline.where != f"stages/{stack}":
        return f"stages/{stack} records no deployment yet: comparing with {baseline.where}"
    return (baseline.source / "stacks" / f"{stack}.record.json").read_text()


def drift_commit(repo: Path, stack: str) -> str:
    """The commit reconcile's baseline of ``stack`` is a worktree of."""
    return git(_drift_baseline(repo, stack).source, "rev-parse", "HEAD")


def merge(remote: Path, where: Path, who: tuple[str, str], release_id: str) -> str:
    """Merge the proposal into stages/test with a merge commit as ``who``, and push it."""
    repo = person(clone(remote, where), who)
    as_person(repo, "checkout", "-q", "-b", "stages/test", "origin/stages/test")
    proposal = f"origin/promotions/test/{release_id}"
    as_person(repo, "merge", "-q", "--no-ff", "-m", "approve", proposal)
    as_person(repo, "push", "-q", "origin", "stages/test")
    return git(repo, "rev-parse", "HEAD")


def test_a_reviewers_merge_approves_and_ci_deploys_it(
    remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    author, rid = setup(remote, tmp_path)
    assert offline(author, rid, "--to", "dev") == EXIT_OK
    entries = len(stored(GitState(author).entries()))

    capsys.readouterr()
    assert offline(author, rid, "--to", "test", "--json") == EXIT_PROPOSED
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    proposal = next(e for e in events if e["event"] == "proposal")
    assert events[-1]["code"] == EXIT_PROPOSED and events[-1]["outcome"] == "proposed"
    assert proposal["branch"] == f"promotions/test/{rid}"
    assert proposal["command"].startswith("gh pr create --base stages/test --head promotions/")
    refs = remote_refs(remote)
    assert refs[f"refs/heads/promotions/test/{rid}"] == proposal["commit"]
    assert "refs/heads/stages/test" in refs, "the first proposal opens the stage's branch"
    assert len(stored(GitState(author).entries())) == entries, "a proposal records nothing"
    assert status(author, capsys)["test"]["runs"] == "bootstrap", "nothing deployed"
    # Proposing again is the same proposal, not a second one.
    assert offline(author, rid, "--to", "test") == EXIT_PROPOSED
    assert remote_refs(remote)[f"refs/heads/promotions/test/{rid}"] == proposal["commit"]

    merged = merge(remote, tmp_path / "reviewer", REVIEWER, rid)
    ci = person(clone(remote, tmp_path / "ci"), CI)
    assert status(ci, capsys)["test"]["runs"] == "bootstrap", "merged is not deployed"
    drift = clone(remote, tmp_path / "drift")
    assert "records no deployment yet" in drift_checkout(drift, "test"), "drift previews main"
    capsys.readouterr()
    assert offline(ci, rid, "--to", "test", "--merged") == EXIT_OK, capsys.readouterr().err

    rows = status(ci, capsys)
    record = rows["test"]["record"]
    assert rows["test"]["runs"] == rid
    assert record["approver"] == "Rita Reviewer <rita@example.com>"
    assert record["review"] == {
        "proposal": proposal["commit"],
        "merge": merged,
        "proposer": "Ada Author <ada@example.com>",
        "reviewer": "Rita Reviewer <rita@example.com>",
        "identities": "git",
    }
    assert cli(ci, "ledger", "verify") == EXIT_OK
    assert f'"release": "{rid}"' in drift_checkout(drift, "test")
    assert drift_commit(drift, "test") == record_commit(ci, "test")
    git(ci, "fetch", "-q", "origin", "stages/test")
    history = git(ci, "log", "--first-parent", "--format=%H", "FETCH_HEAD").splitlines()
    assert history[1] == merged, "the record's history keeps the reviewed merge"
    start = [e for e in stored(GitState(ci).entries()) if e.get("step") == "start"][-1]
    assert start["approver"] == record["approver"] and start["review"]["merge"] == merged
    # Deployed: running it again has nothing to do.
    assert offline(ci, rid, "--to", "test", "--merged") == EXIT_OK


def test_a_self_merge_is_refused_and_writes_nothing(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    author, rid = setup(remote, tmp_path)
    assert fake(author, rid, "--to", "dev") == EXIT_OK
    assert fake(author, rid, "--to", "test") == EXIT_PROPOSED
    merge(remote, tmp_path / "author-again", AUTHOR, rid)
    ci = person(clone(remote, tmp_path / "ci"), CI)
    before = remote_refs(remote)
    capsys.readouterr()
    assert fake(ci, rid, "--to", "test", "--merged") == EXIT_INVALID
    err = capsys.readouterr().err
    assert "Ada Author <ada@example.com> merged their own proposal" in err
    assert "self-approval is refused" in err and "Traceback" not in err
    # The forge's logins (what CI passes on GitHub) are held to the same rule.
    forge = ("--merged", "--proposer", "ada", "--reviewer", "ADA")
    assert fake(ci, rid, "--to", "test", *forge) == EXIT_INVALID
    assert "ADA merged their own proposal" in capsys.readouterr().err
    assert remote_refs(remote) == before, "a refusal writes nothing"
    # --approver is not an approval of a stage promoted by pull request.
    assert fake(author, rid, "--to", "test", "--approve", "--approver", "bob") == EXIT_INVALID
    assert "--approver does not approve" in capsys.readouterr().err
    assert fake_cloud.runs("test") == "bootstrap", "nothing deployed"
    # Distinct forge logins approve it (on GitHub the branch protection vouches for them).
    forge = ("--merged", "--proposer", "ada", "--reviewer", "rita")
    assert fake(ci, rid, "--to", "test", *forge) == EXIT_OK
    assert fake_cloud.runs("test") == rid
    assert GitState(ci).stage_record("test").review["identities"] == "forge"  # type: ignore[union-attr,index]


def test_a_merge_waiting_to_be_deployed_does_not_change_what_the_stage_runs(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    author, first = setup(remote, tmp_path)
    assert fake(author, first, "--to", "dev") == EXIT_OK
    assert fake(author, first, "--to", "test") == EXIT_PROPOSED
    merge(remote, tmp_path / "reviewer-1", REVIEWER, first)
    assert fake(author, first, "--to", "test", "--merged") == EXIT_OK
    deployed = record_commit(author, "test")

    second = release(author, "f")
    assert fake(author, second, "--to", "dev") == EXIT_OK
    capsys.readouterr()
    assert fake(author, second, "--to", "test") == EXIT_PROPOSED
    assert "was proposed already" not in capsys.readouterr().err
    merged = merge(remote, tmp_path / "reviewer-2", REVIEWER, second)
    # Merged, not deployed: the record, status and drift still say the first release.
    rows = status(author, capsys)
    assert rows["test"]["runs"] == first and rows["test"]["record"]["pendingMerge"] == merged
    drift = clone(remote, tmp_path / "drift")
    assert f'"release": "{first}"' in drift_checkout(drift, "test")
    assert drift_commit(drift, "test") == deployed
    assert cli(author, "ledger", "verify") == EXIT_OK, "a reviewed merge verifies"
    # A second proposal while a merge waits is refused: deploy the merge first.
    assert fake(author, second, "--to", "test") == EXIT_INVALID
    assert "not deployed yet" in capsys.readouterr().err
    assert fake(author, second, "--to", "test", "--merged") == EXIT_OK
    assert fake_cloud.runs("test") == second


def test_a_release_that_is_not_eligible_is_not_proposed(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    author, rid = setup(remote, tmp_path, dev_soak=60)
    before = remote_refs(remote)
    capsys.readouterr()
    assert fake(author, rid, "--to", "test") == EXIT_INVALID
    assert f"promote {rid} to dev first" in capsys.readouterr().err
    assert remote_refs(remote) == before

    assert fake(author, rid, "--to", "dev") == EXIT_OK
    before = remote_refs(remote)
    capsys.readouterr()
    assert fake(author, rid, "--to", "test") == EXIT_INVALID
    assert re.search(r"soaked in dev since .*; \d+ of 60 min left", capsys.readouterr().err)
    assert remote_refs(remote) == before, "nothing proposed"
    assert not any(ref.startswith("refs/heads/promotions/") for ref in before)


@pytest.mark.parametrize("how", ["edited", "squashed"])
def test_a_proposal_changed_or_squashed_on_its_way_in_is_refused(
    remote: Path,
    tmp_path: Path,
    fake_cloud: FileDeployer,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    author, rid = setup(remote, tmp_path)
    assert fake(author, rid, "--to", "dev") == EXIT_OK
    assert fake(author, rid, "--to", "test") == EXIT_PROPOSED
    reviewer = person(clone(remote, tmp_path / "reviewer"), REVIEWER)
    as_person(reviewer, "checkout", "-q", "-b", "stages/test", "origin/stages/test")
    proposal = f"origin/promotions/test/{rid}"
    if how == "edited":  # one more commit on the proposal's branch, then a merge commit
        as_person(reviewer, "checkout", "-q", "-b", "edited", proposal)
        (reviewer / "__main__.py").write_text("# not what was proposed\n")
        as_person(reviewer, "commit", "-q", "-am", "sneak a change in")
        as_person(reviewer, "checkout", "-q", "stages/test")
        as_person(reviewer, "merge", "-q", "--no-ff", "-m", "approve", "edited")
    else:  # GitHub's "squash and merge": one commit, no proposal parent
        as_person(reviewer, "merge", "-q", "--squash", proposal)
        as_person(reviewer, "commit", "-q", "-m", "approve (squashed)")
    as_person(reviewer, "push", "-q", "origin", "stages/test")
    ci = person(clone(remote, tmp_path / "ci"), CI)
    capsys.readouterr()
    assert fake(ci, rid, "--to", "test", "--merged") == EXIT_INVALID
    err = capsys.readouterr().err
    assert "carries a proposal but is not a merge commit of it" in err, err
    assert fake_cloud.runs("test") == "bootstrap", "nothing deployed"


def test_a_reviewed_release_that_fails_verification_is_rolled_back_without_its_review(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer
) -> None:
    author, rid = setup(remote, tmp_path)
    assert fake(author, rid, "--to", "dev") == EXIT_OK
    assert fake(author, rid, "--to", "test") == EXIT_PROPOSED
    merged = merge(remote, tmp_path / "reviewer", REVIEWER, rid)
    fake_cloud.set_fault("test", "verify", f"wrong-version:{rid}")
    assert fake(author, rid, "--to", "test", "--merged") == 1  # stopped: rolled back
    assert fake_cloud.runs("test") == "bootstrap"
    record = GitState(author).stage_record("test")
    assert record is not None and record.release == "bootstrap" and record.kind == "rollback"
    assert record.review is None, "the merge reviewed the release, not the rollback"
    git(author, "fetch", "-q", "origin", "stages/test")
    history = git(author, "log", "--first-parent", "--format=%H", "FETCH_HEAD").splitlines()
    assert merged in history
    assert cli(author, "ledger", "verify") == EXIT_OK


def test_an_interrupted_deployment_of_a_merge_resumes_with_merged_only(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.promote.fakes import SimulatedCrash

    author, rid = setup(remote, tmp_path)
    assert fake(author, rid, "--to", "dev") == EXIT_OK
    assert fake(author, rid, "--to", "test") == EXIT_PROPOSED
    merged = merge(remote, tmp_path / "reviewer", REVIEWER, rid)
    fake_cloud.set_fault("test", "up", "crash")
    with pytest.raises(SimulatedCrash):  # dies in the middle of up
        fake(author, rid, "--to", "test", "--merged")
    fake_cloud.set_fault("test", "up", None)
    capsys.readouterr()
    assert fake(author, rid, "--to", "test") == EXIT_INVALID, "not proposed again"
    assert "--merged` to resume it" in capsys.readouterr().err
    assert fake(author, rid, "--to", "test", "--merged") == EXIT_OK
    record = GitState(author).stage_record("test")
    assert record is not None and record.release == rid
    assert record.review["merge"] == merged and record.approver.startswith("Rita")
    assert any(e.get("step") == "resume" for e in stored(GitState(author).entries()))


def test_a_rollback_is_proposed_reviewed_and_recorded_as_a_rollback(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    author, first = setup(remote, tmp_path)
    second = release(author, "f")
    for n, rid in enumerate((first, second)):
        assert fake(author, rid, "--to", "dev") == EXIT_OK
        assert fake(author, rid, "--to", "test") == EXIT_PROPOSED
        merge(remote, tmp_path / f"reviewer-{n}", REVIEWER, rid)
        assert fake(author, rid, "--to", "test", "--merged") == EXIT_OK
    assert fake_cloud.runs("test") == second
    forward = remote_refs(remote)[f"refs/heads/promotions/test/{first}"]

    capsys.readouterr()
    assert fake(author, first, "--to", "test", "--rollback", "--json") == EXIT_PROPOSED
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    from tests.promote.test_json_contract import VALIDATOR

    assert [list(VALIDATOR.iter_errors(e)) for e in events] == [[] for _ in events]
    proposal = next(e for e in events if e["event"] == "proposal")
    assert proposal["branch"] == f"promotions/test/rollback-{first}"
    assert proposal["kind"] == "rollback"
    assert f"--title 'test: roll back to {first}'" in proposal["command"]
    assert f"Proposes rolling test back to {first}" in proposal["command"]
    assert f"promote {first} --to test --merged --rollback" in proposal["command"]
    assert events[-1]["message"].startswith(f"the rollback of test to {first} proposed on")
    refs = remote_refs(remote)
    assert refs[f"refs/heads/promotions/test/rollback-{first}"] == proposal["commit"]
    assert refs[f"refs/heads/promotions/test/{first}"] == forward, "the forward one untouched"
    subject = git(author, "log", "-1", "--format=%s", proposal["commit"])
    assert subject == f"test: propose rolling back to {first}"
    proposed = json.loads(git(author, "show", f"{proposal['commit']}:stacks/test.record.json"))
    assert proposed["kind"] == "rollback" and proposed["release"] == first
    assert fake_cloud.runs("test") == second, "nothing deployed"

    merge(remote, tmp_path / "reviewer-rollback", REVIEWER, f"rollback-{first}")
    ci = person(clone(remote, tmp_path / "ci"), CI)
    capsys.readouterr()
    # The merge is deployed in the direction it was reviewed in, and the refusal says how.
    assert fake(ci, first, "--to", "test", "--merged") == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"merged a proposal to roll back to {first}" in err, err
    assert f"`promote {first} --to test --merged --rollback`" in err
    assert fake_cloud.runs("test") == second
    assert fake(ci, first, "--to", "test", "--merged", "--rollback") == EXIT_OK
    assert fake_cloud.runs("test") == first
    record = GitState(ci).stage_record("test")
    assert record is not None and record.kind == "rollback" and record.release == first
    assert record.review["reviewer"] == "Rita Reviewer <rita@example.com>"
    ups = [
        e
        for e in stored(GitState(ci).entries())
        if e.get("stage") == "test" and e.get("step") == "up"
    ]
    assert ups[-1]["kind"] == "rollback" and ups[-1]["release"] == first
    assert cli(ci, "ledger", "verify") == EXIT_OK
