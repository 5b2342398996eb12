"""The promotion state shared through git: a bare repository as the remote, clones as runners.

Promote from one clone, delete it, and a fresh clone sees what each stage runs and carries on
with the verification and soak the first one recorded; two clones racing never fork the record.
The fake cloud (one JSON file outside the clones) plays the deployment engine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.promote.lock import LockHeldError
from pipeline.promote.orchestrator import EXIT_BUSY, EXIT_OK
from pipeline.record.state import GitState
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import backdate_verification, images
from tests.promote.fakes import FileDeployer, HealthServer
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.typed_entries import stored

FAKE = "tests.promote.fakes:file_deployer"


@pytest.fixture(scope="module")
def remote_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_remote(tmp_path_factory.mktemp("template"))


@pytest.fixture
def remote(remote_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "remote.git"
    shutil.copytree(remote_template, target)
    return target


@pytest.fixture
def cloud_dir(tmp_path: Path) -> Path:
    return tmp_path / "cloud"


@pytest.fixture
def health(
    remote: Path, cloud_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FileDeployer]:
    """The shared fake cloud, seeded from the remote's stack files, and its health server."""
    stacks = clone(remote, tmp_path / "seed-cloud") / "stacks"
    cloud = FileDeployer(stacks, cloud_dir)
    with HealthServer(cloud) as server:
        monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", server.url)
        monkeypatch.setenv("STAGELINE_FAKE_CLOUD", str(cloud_dir))
        yield cloud


def cli(repo: Path, *args: str) -> int:
    return main([*args, "--repo", str(repo)])


def release_in(repo: Path, seed: str, capsys: pytest.CaptureFixture[str]) -> str:
    pairs = [f"--image={s}={i}" for s, i in images(seed).items()]
    assert cli(repo, "release", "create", *pairs, "--json") == EXIT_OK
    # the --json contract (docs/json.md): events, then one result naming the release
    release: str = json.loads(capsys.readouterr().out.splitlines()[-1])["release"]
    return release


def promote(repo: Path, release: str, *args: str) -> int:
    return cli(repo, "promote", release, *args, "--deployer", FAKE, "--health-timeout", "2")


def status(repo: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert cli(repo, "status", "--offline", "--json") == EXIT_OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {e["stack"]: e for e in events if e["event"] == "stage"}


def test_a_fresh_clone_carries_on_where_a_deleted_one_stopped(
    remote: Path, health: FileDeployer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = clone(remote, tmp_path / "a")
    release = release_in(a, "a", capsys)
    commit = git(a, "rev-parse", "HEAD")
    assert promote(a, release, "--to", "staging", "--auto") == EXIT_OK
    shutil.rmtree(a)

    b = clone(remote, tmp_path / "b")
    rows = status(b, capsys)
    for stack in ("dev", "test", "staging"):
        record = rows[stack]["record"]
        assert rows[stack]["runs"] == release, stack
        assert record["release"] == release and record["commit"] == commit, stack
        assert record["digests"] == {s: i.rsplit("@", 1)[1] for s, i in images("a").items()}
        assert record["ref"] == f"stages/{stack}"
        assert rows[stack]["verified"].startswith(release), "A's verification is shared"
    assert rows["live"]["runs"] == "bootstrap" and rows["live"]["record"] is None
    assert rows["live"]["next_release"] == release
    assert "soaked in staging" in rows["live"]["next_verdict"], rows["live"]

    # The stage branch is what the stage runs: its stack file pins the release.
    git(b, "fetch", "-q", "origin", "stages/staging")
    pinned = git(b, "show", "FETCH_HEAD:stacks/Pulumi.staging.yaml")
    assert f"stageline:release: {release}" in pinned and images("a")["api"] in pinned
    assert "# yaml-language-server" in pinned, "comments of the stack file are kept"

    # Soak: A's verification in staging was an instant ago, so B is refused for now ...
    capsys.readouterr()
    assert promote(b, release, "--to", "live", "--approve", "--approver", "alice") == 2
    assert "min left" in capsys.readouterr().err
    # ... and once the soak is over (the shared record says staging verified it two hours
    # ago, written through the real state) B promotes live, on the real clock.
    backdate_verification(GitState(b), "staging", release, 2)
    capsys.readouterr()
    code = promote(b, release, "--to", "live", "--approve", "--approver", "alice")
    assert code == EXIT_OK, capsys.readouterr().err
    assert health.runs("live") == release

    c = clone(remote, tmp_path / "c")
    assert cli(c, "ledger", "verify") == EXIT_OK
    rows = status(c, capsys)
    assert rows["live"]["record"]["approver"] == "alice"
    entries = stored(GitState(c).entries())
    start = [e for e in entries if e["step"] == "start"][-1]
    assert start["verdicts"]["live"][0]["gate"] == "direction"
    assert any("verified in staging" in v["reason"] for v in start["verdicts"]["live"])
    assert [e["step"] for e in entries].count("finish") == 2


def test_a_second_runner_sees_the_lock_of_the_first(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    held = GitState(a).lock("aws")
    held.acquire()
    with pytest.raises(LockHeldError, match="another promotion holds this pipeline"):
        GitState(b).lock("aws").acquire()
    held.release()
    GitState(b).lock("aws").acquire()  # free again


def test_lock_races_have_exactly_one_winner(remote: Path, tmp_path: Path) -> None:
    clones = [clone(remote, tmp_path / n) for n in ("a", "b")]
    for round_ in range(6):
        barrier = threading.Barrier(2)
        results: dict[int, str] = {}
        locks = [GitState(c).lock("aws") for c in clones]

        def take(
            index: int,
            barrier: threading.Barrier = barrier,
            locks: list[Any] = locks,
            results: dict[int, str] = results,
        ) -> None:
            barrier.wait()
            try:
                locks[index].acquire()
                results[index] = "won"
            except LockHeldError:
                results[index] = "busy"

        threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results.values()) == ["busy", "won"], f"round {round_}: {results}"
        locks[next(i for i, r in results.items() if r == "won")].release()


def run_cli(repo: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args, "--repo", str(repo)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_clones_racing_one_promotion(
    remote: Path,
    health: FileDeployer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    release = release_in(a, "c", capsys)
    env = {**os.environ, "STAGELINE_FAKE_STEP_DELAY": "0.3"}
    args = ("promote", release, "--to", "test", "--auto", "--deployer", FAKE)
    runs = [run_cli(repo, *args, env=env) for repo in (a, b)]
    done = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in runs]
    codes = sorted(code for code, _ in done)
    assert codes == [EXIT_OK, EXIT_BUSY], done
    loser = next(err for code, err in done if code == EXIT_BUSY)
    assert "another promotion holds this pipeline" in loser, loser
    assert "stageline/state:locks/aws.json" in loser

    c = clone(remote, tmp_path / "c")
    state = GitState(c)
    assert state.verify().ok, state.verify().problems
    entries = stored(state.entries())
    assert [e["seq"] for e in entries] == list(range(len(entries))), "no fork, loss or dup"
    assert len({e["hash"] for e in entries}) == len(entries)
    assert [e["step"] for e in entries].count("start") == 1
    assert [e.get("outcome") for e in entries if e["step"] == "finish"] == ["promoted"]
    assert health.runs("test") == release


def test_promotions_of_two_pipelines_interleave_without_losing_an_entry(
    remote: Path, health: FileDeployer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    release = release_in(a, "d", capsys)
    env = {**os.environ, "STAGELINE_FAKE_STEP_DELAY": "0.05"}
    runs = [
        run_cli(a, "promote", release, "--to", "test", "--auto", "--deployer", FAKE, env=env),
        run_cli(
            b,
            *("promote", release, "--to", "azure-test", "--auto", "--pipeline", "azure"),
            *("--deployer", FAKE),
            env=env,
        ),
    ]
    done = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in runs]
    assert [code for code, _ in done] == [EXIT_OK, EXIT_OK], done
    state = GitState(clone(remote, tmp_path / "c"))
    assert state.verify().ok, state.verify().problems
    entries = stored(state.entries())
    finishes = sorted(e["pipeline"] for e in entries if e["step"] == "finish")
    assert finishes == ["aws", "azure"]
    for stack in ("dev", "test", "azure-dev", "azure-test"):
        verified = [e for e in entries if e.get("stage") == stack and e["step"] == "verify"]
        assert [e["status"] for e in verified] == ["started", "completed"], stack
    history = git(remote, "log", "--format=%s", "stageline/state").splitlines()
    assert len([h for h in history if "lock" in h.split()[1:2]]) == 2


def test_a_refusal_leaves_the_remotes_refs_as_they_were(
    remote: Path, health: FileDeployer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = clone(remote, tmp_path / "a")
    release = release_in(a, "d", capsys)
    refs = git(remote, "for-each-ref", "--format=%(refname) %(objectname)")
    capsys.readouterr()
    assert promote(a, release, "--to", "live") == 2  # approval, and staging's soak on the way
    assert "requires approval" in capsys.readouterr().err
    assert git(remote, "for-each-ref", "--format=%(refname) %(objectname)") == refs, (
        "no lock taken and released: the state branch did not move"
    )
