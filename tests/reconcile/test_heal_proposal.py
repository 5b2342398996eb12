"""A drifted stage whose remedy is propose, over the git state: ``reconcile`` pushes a heal
proposal (nothing deployed), a reviewer's merge of it approves the heal, and ``reconcile
--merged`` heals the stage from its record and moves ``stages/<stack>`` past the merge. A bare
repository is the remote; the author's, the reviewer's and CI's clones are separate."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.promote.orchestrator import EXIT_OK
from pipeline.reconcile.command import EXIT_DRIFT, EXIT_INVALID
from pipeline.record.state import GitState
from tests.promote.gitrepos import clone, commit_change, git, seed_remote
from tests.promote.test_pull_request import AUTHOR, REVIEWER, as_person, person, release
from tests.promote.typed_entries import stored
from tests.reconcile.fakes import FileDrift
from tests.reconcile.test_command import CONTRACT

ENGINE = ("--deployer", "tests.reconcile.fakes:git_engine", "--health-timeout", "2")
STACK = "dev"


def cli(repo: Path, *args: str) -> int:
    return main([*args, "--repo", str(repo)])


def reconcile(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """Exit code and the one reconcile event of ``reconcile --stage dev ARGS --json``."""
    capsys.readouterr()
    code = cli(repo, "reconcile", "--stage", STACK, *ENGINE, *args, "--json")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for line in lines:
        CONTRACT.validate(line)
    said = [e for e in lines if e["event"] == "reconcile"]
    return code, said[0] if said else lines


class _Health(http.server.BaseHTTPRequestHandler):
    release = ""

    def do_GET(self) -> None:
        body = json.dumps({"release": self.release}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proposed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Path, str, FileDrift, dict[str, Any]]]:
    """dev (reconcile: propose) runs a release, drifted; reconcile proposed its heal.
    Yields the remote, the release, the fake cloud and the reconcile event."""
    remote = seed_remote(tmp_path / "origin")
    author = person(clone(remote, tmp_path / "author"), AUTHOR)
    pipeline = (author / "stacks/pipeline.yaml").read_text()
    proposes = pipeline.replace(
        "      - stack: dev\n        stage: dev\n",
        "      - stack: dev\n        stage: dev\n        reconcile: propose\n",
        1,
    )
    assert proposes != pipeline
    commit_change(author, "stacks/pipeline.yaml", proposes, "dev: heals by proposal")
    rid = release(author)
    assert cli(author, "promote", rid, "--to", STACK, "--deployer", "offline") == EXIT_OK

    cloud = FileDrift(tmp_path / "drift.json")
    monkeypatch.setenv("STAGELINE_FAKE_DRIFT", str(cloud.path))
    handler = type("Health", (_Health,), {"release": rid})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cloud.set_outputs(STACK, {"serviceUrls": {"api": url}, "healthPaths": {"api": "/h"}})
    cloud.drift_out_of_band(STACK, "update")
    try:
        code, said = reconcile(author, capsys)
        assert code == EXIT_DRIFT, said
        yield remote, rid, cloud, said
    finally:
        server.shutdown()
        server.server_close()


def merge_heal(remote: Path, where: Path, who: tuple[str, str], rid: str) -> str:
    """Merge the heal proposal into stages/dev with a merge commit as ``who``; push it."""
    repo = person(clone(remote, where), who)
    as_person(repo, "checkout", "-q", "-b", f"stages/{STACK}", f"origin/stages/{STACK}")
    as_person(repo, "merge", "-q", "--no-ff", "-m", "heal", f"origin/promotions/dev/heal-{rid}")
    as_person(repo, "push", "-q", "origin", f"stages/{STACK}")
    return git(repo, "rev-parse", "HEAD")


def test_propose_pushes_a_heal_proposal_and_deploys_nothing(
    proposed: tuple[Path, str, FileDrift, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote, rid, cloud, said = proposed
    assert (said["outcome"], said["remedy"]) == ("proposed", "propose"), said
    branch = f"promotions/{STACK}/heal-{rid}"
    assert said["proposal"]["branch"] == branch and not said["proposal"]["existing"], said
    assert said["proposal"]["command"].startswith(
        f"gh pr create --base stages/{STACK} --head {branch}"
    )
    assert "--merged" in said["detail"], said
    assert [c[0] for c in cloud.calls()] == ["drift"], "a proposal heals nothing"
    # The proposal: one commit onto the stage's record, only the record file changed.
    stage = git(remote, "rev-parse", f"stages/{STACK}")
    commit = git(remote, "rev-parse", branch)
    assert commit == said["proposal"]["commit"]
    assert git(remote, "rev-list", "--parents", "-n", "1", commit).split()[1:] == [stage]
    changed = git(remote, "diff-tree", "-r", "--name-only", stage, commit).splitlines()
    assert changed == [f"stacks/{STACK}.record.json"]
    record = json.loads(git(remote, "show", f"{commit}:stacks/{STACK}.record.json"))
    assert record["release"] == rid and record["proposal"]["base"] == stage
    assert record["heal"]["drift"][0]["op"] == "update", record["heal"]
    ci = clone(remote, tmp_path / "ci")
    entries = [e for e in stored(GitState(ci).entries()) if e.get("step") == "reconcile"]
    assert [(e["outcome"], e["proposal"]["branch"]) for e in entries] == [("proposed", branch)]

    # Proposed again (by the same identity) while it still drifts: the same proposal.
    code, again = reconcile(person(ci, AUTHOR), capsys)
    assert code == EXIT_DRIFT and again["proposal"]["existing"], again
    assert again["proposal"]["commit"] == commit


def test_a_reviewers_merge_of_the_proposal_heals_the_stage(
    proposed: tuple[Path, str, FileDrift, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote, rid, cloud, said = proposed
    merge = merge_heal(remote, tmp_path / "reviewer", REVIEWER, rid)
    ci = clone(remote, tmp_path / "ci")
    # Merged, not deployed yet: no other proposal, and the scheduled run says what deploys it.
    code, pending = reconcile(ci, capsys)
    assert code == EXIT_DRIFT and pending["outcome"] == "failed", pending
    assert f"reconcile --stage {STACK} --merged" in pending["detail"], pending
    assert GitState(ci).stage_record(STACK).pending_merge == merge  # type: ignore[union-attr]

    code, healed = reconcile(ci, capsys, "--merged")
    assert code == EXIT_OK and healed["outcome"] == "healed", healed
    assert [c[:2] for c in cloud.calls()].count(["heal", STACK]) == 1
    assert "approved by Rita Reviewer" in healed["detail"], healed
    state = GitState(ci)
    record = state.stage_record(STACK)
    assert record is not None and record.pending_merge is None, record
    assert record.release == rid and record.approver == "Rita Reviewer <rita@example.com>"
    assert record.review["merge"] == merge and record.review["kind"] == "heal"
    tip = git(remote, "rev-parse", f"stages/{STACK}")
    assert git(remote, "rev-parse", f"{tip}^1") == merge, "the record follows the merge"
    last = [e for e in stored(state.entries()) if e.get("step") == "reconcile"][-1]
    assert (last["outcome"], last["approver"]) == ("healed", "Rita Reviewer <rita@example.com>")
    assert last["review"]["proposal"] == said["proposal"]["commit"]
    assert cli(ci, "ledger", "verify") == EXIT_OK

    # Deployed: a second run after the merge finds no merged proposal to deploy.
    code, again = reconcile(ci, capsys, "--merged")
    assert code == EXIT_DRIFT and "not the merge of a proposal" in again["detail"], again


def test_a_heal_merged_by_its_own_author_is_refused(
    proposed: tuple[Path, str, FileDrift, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote, rid, cloud, _ = proposed
    merge_heal(remote, tmp_path / "self", AUTHOR, rid)
    code, refused = reconcile(clone(remote, tmp_path / "ci"), capsys, "--merged")
    assert code == EXIT_DRIFT and "self-approval is refused" in refused["detail"], refused
    assert "heal" not in [c[0] for c in cloud.calls()]


def test_approve_does_not_heal_a_stage_promoted_by_pull_request(
    proposed: tuple[Path, str, FileDrift, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote, _, cloud, _ = proposed
    ci = clone(remote, tmp_path / "ci")
    text = (ci / "stacks/pipeline.yaml").read_text()
    text = text.replace(
        "reconcile: propose\n", "reconcile: propose\n        promotion: pullRequest\n"
    )
    (ci / "stacks/pipeline.yaml").write_text(text)
    code, refused = reconcile(ci, capsys, "--approve", "--approver", "ops")
    assert code == EXIT_INVALID, refused
    assert "heal" not in [c[0] for c in cloud.calls()]


def test_a_merged_heal_is_not_deployed_as_a_promotion(
    proposed: tuple[Path, str, FileDrift, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`promote R --to dev --merged` over a merged heal proposal is refused and names the
    command that deploys it; so is a new proposal while the heal waits."""
    remote, rid, cloud, _ = proposed
    merge_heal(remote, tmp_path / "reviewer", REVIEWER, rid)
    ci = person(clone(remote, tmp_path / "ci"), AUTHOR)
    text = (ci / "stacks/pipeline.yaml").read_text()
    text = text.replace(
        "reconcile: propose\n", "reconcile: propose\n        promotion: pullRequest\n"
    )
    commit_change(ci, "stacks/pipeline.yaml", text, "dev: promoted by pull request")
    capsys.readouterr()
    code = cli(ci, "promote", rid, "--to", STACK, "--merged", "--deployer", "offline")
    said = capsys.readouterr()
    assert code != EXIT_OK, said
    assert f"reconcile --stage {STACK} --merged" in said.out + said.err
    assert "heal" not in [c[0] for c in cloud.calls()]
    assert GitState(ci).stage_record(STACK).pending_merge is not None  # type: ignore[union-attr]
