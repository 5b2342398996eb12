"""Governance from the protected branch, for real: a bare repository is the remote, clones play
the runners. What gates a promotion (the pipeline file, the policy configs) is the remote main's,
never the runner's working tree; a release enters staging and live only from reviewed code (a
commit on main); each promotion's start entry records the commit and blob ids that governed it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, Orchestrator, Request
from pipeline.record.state import GitState
from tests.promote.conftest import images
from tests.promote.fakes import FileDeployer, HealthServer, state_verifier
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.typed_entries import stored

FAKE = ("--deployer", "tests.promote.fakes:file_deployer", "--health-timeout", "2")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return seed_remote(tmp_path / "origin")


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
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        yield cloud


def cli(repo: Path, *args: str) -> int:
    return main([*args, "--repo", str(repo)])


def release(repo: Path, seed: str = "e") -> str:
    pairs = [f"--image={s}={i}" for s, i in images(seed).items()]
    assert cli(repo, "release", "create", *pairs) == EXIT_OK
    return next(r.id for r in GitState(repo).releases.all() if r.images == images(seed))


def remote_refs(remote: Path) -> dict[str, str]:
    out = git(remote, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split() for line in out.splitlines())


def skip_approval_and_soak(repo: Path) -> None:
    """The issue's local edit: no soak on staging, no approval on live (left uncommitted)."""
    path = repo / "stacks" / "pipeline.yaml"
    text = path.read_text()
    edited = text.replace("        soakMinutes: 60\n", "        soakMinutes: 0\n")
    edited = edited.replace("        approval: required\n", "")
    assert edited != text
    path.write_text(edited)


def test_a_local_pipeline_edit_is_refused(
    remote: Path,
    tmp_path: Path,
    fake_cloud: FileDeployer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = clone(remote, tmp_path / "runner")
    skip_approval_and_soak(repo)
    rid = release(repo)
    before = remote_refs(remote)
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 - the issue's </dev/null
    capsys.readouterr()
    assert cli(repo, "promote", rid, "--to", "live", *FAKE) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "stacks/pipeline.yaml differ(s) from origin/main" in err, err
    assert "nothing deployed" in err and "Traceback" not in err
    assert remote_refs(remote) == before, "nothing written"
    # Committing it locally (not through review) changes nothing: main at the remote governs.
    git(repo, "commit", "-qam", "skip the gates")
    assert cli(repo, "promote", rid, "--to", "dev", *FAKE) == EXIT_INVALID
    # A rehearsal may use the working tree's file, and says so.
    capsys.readouterr()
    cli(repo, "promote", rid, "--to", "dev", "--rehearse", "--json")
    out = capsys.readouterr().out
    notes = [json.loads(line) for line in out.splitlines() if '"note"' in line]
    assert any("rehearsed with the working tree's files" in n["message"] for n in notes), out


def test_an_edited_policy_config_is_refused(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = clone(remote, tmp_path / "runner")
    config = repo / "policies" / "config" / "dev.json"
    config.write_text(config.read_text().replace('"mandatory"', '"advisory"'))
    rid = release(repo)
    capsys.readouterr()
    assert cli(repo, "promote", rid, "--to", "dev", *FAKE) == EXIT_INVALID
    assert "policies/config/dev.json differ(s) from origin/main" in capsys.readouterr().err


def test_the_start_entry_records_what_governed(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer
) -> None:
    repo = clone(remote, tmp_path / "runner")
    rid = release(repo)
    assert cli(repo, "promote", rid, "--to", "dev", *FAKE) == EXIT_OK
    [start] = [e for e in stored(GitState(repo).entries()) if e.get("step") == "start"]
    main_sha = git(remote, "rev-parse", "main")
    governance = start["governance"]
    assert governance["branch"] == "main" and governance["commit"] == main_sha
    assert governance["pipeline"] == {
        "path": "stacks/pipeline.yaml",
        "blob": git(remote, "rev-parse", "main:stacks/pipeline.yaml"),
    }
    assert governance["policyConfigs"]["policies/config/live.json"] == git(
        remote, "rev-parse", "main:policies/config/live.json"
    )
    assert cli(repo, "ledger", "verify") == EXIT_OK, "the audit replays it and it holds"


def test_unreviewed_code_enters_dev_but_not_staging(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = clone(remote, tmp_path / "feature")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "components" / "note.txt").write_text("unreviewed infrastructure\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "unreviewed")
    git(repo, "push", "-q", "origin", "feature")
    capsys.readouterr()
    rid = release(repo)
    said = capsys.readouterr().err
    assert "is not on origin/main" in said and "staging, live" in said, said

    assert cli(repo, "promote", rid, "--to", "test", *FAKE) == EXIT_OK
    capsys.readouterr()
    assert cli(repo, "promote", rid, "--to", "staging", *FAKE) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "staging: reviewed:" in err and "not on origin/main" in err, err
    assert fake_cloud.runs("staging") != rid

    # Once merged through review (here: pushed to main), the same release may go on.
    git(repo, "push", "-q", "origin", "feature:main")
    assert cli(repo, "promote", rid, "--to", "staging", *FAKE) == EXIT_OK
    assert fake_cloud.runs("staging") == rid


def test_ledger_verify_reports_a_promotion_forced_through_an_older_state(
    remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A runner without these checks (the Orchestrator with no governance: the older code path)
    promotes to live under a local edit that drops staging's soak and live's approval. The hash
    chain is intact, so only the audit can tell: it replays the start entry against main's
    pipeline file and names the entry, the stage and each gate that could not have passed."""
    repo = clone(remote, tmp_path / "old-runner")
    skip_approval_and_soak(repo)
    rid = release(repo)
    state = GitState(repo)
    cloud = FileDeployer(repo / "stacks", tmp_path / "cloud")
    forced = Orchestrator(
        cloud, load_pipeline(repo / "stacks"), state, verify=state_verifier(cloud)
    )
    outcome = forced.promote(Request(rid, "live"))
    assert outcome.code == EXIT_OK, outcome.message
    start = next(e for e in stored(GitState(repo).entries()) if e.get("step") == "start")

    auditor = clone(remote, tmp_path / "auditor")
    capsys.readouterr()
    assert cli(auditor, "ledger", "verify", "--json") == 1
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["problems"] == [], "the chain itself verifies"
    assert result["outcome"] == "gates not met"
    found = {(f["seq"], f["stage"], f["gate"]) for f in result["findings"]}
    assert (start["seq"], "live", "approval") in found, result["findings"]
    assert (start["seq"], "live", "soak") in found, result["findings"]
    assert all(f["promotion"] == start["promotion"] for f in result["findings"])
    assert any("records no governance" in n for n in result["notes"])
    assert cli(auditor, "ledger", "verify") == 1
    assert f"entry {start['seq']} ({start['promotion']}): live: approval:" in (
        capsys.readouterr().err
    )


def test_state_commits_carry_who_ran_it_and_a_forged_approver_is_claimed(
    remote: Path,
    tmp_path: Path,
    fake_cloud: FileDeployer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = clone(remote, tmp_path / "laptop")
    git(repo, "config", "user.name", "Pat Runner")
    git(repo, "config", "user.email", "pat@example.com")
    rid = release(repo)
    code = cli(repo, "promote", rid, "--to", "dev", "--approve", "--approver", "mallory", *FAKE)
    assert code == EXIT_OK
    authors = git(remote, "log", "--format=%an <%ae>|%cn <%ce>", "stageline/state").splitlines()
    assert set(authors) == {"Pat Runner <pat@example.com>|Pat Runner <pat@example.com>"}
    stage_author = git(remote, "log", "-1", "--format=%an <%ae>", "stages/dev")
    assert stage_author == "Pat Runner <pat@example.com>"
    entries = stored(GitState(repo).entries())
    start = next(e for e in entries if e.get("step") == "start")
    assert start["approval"] == {"approver": "mallory", "source": "claimed"}
    assert start["runner"] == {
        "name": "Pat Runner",
        "email": "pat@example.com",
        "source": "git",
        "run": None,
    }
    text = json.dumps(entries)
    for host_path in (str(repo), str(tmp_path), str(Path(tempfile.gettempdir()))):
        assert host_path not in text, f"{host_path} in the ledger"
    preview = next(e for e in entries if e.get("step") == "preview")
    assert preview["policy"]["config"] == "policies/config/dev.json", preview["policy"]

    # In CI the actor and the run author the commits, and --approver is the forge's.
    ci = clone(remote, tmp_path / "ci")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "octo")
    monkeypatch.setenv("GITHUB_ACTOR_ID", "42")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    monkeypatch.setenv("GITHUB_RUN_ID", "7")
    assert cli(ci, "promote", rid, "--to", "test", "--approve", "--approver", "rita", *FAKE) == 0
    last = git(remote, "log", "-1", "--format=%an <%ae>%n%B", "stageline/state")
    assert last.startswith("octo <42+octo@users.noreply.github.com>"), last
    assert "Stageline-Run: https://github.com/acme/infra/actions/runs/7" in last
    start = [e for e in stored(GitState(ci).entries()) if e.get("step") == "start"][-1]
    assert start["approval"] == {"approver": "rita", "source": "forge"}
    assert cli(ci, "ledger", "verify") == EXIT_OK
