"""A rehearsal takes what each stage runs from the shared record, not from the checkout: a
clone made before another clone promoted (its stack files still pin the bootstrap release, as
main's always do) rehearses against the release the stage's record says it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.orchestrator import EXIT_OK
from pipeline.record.state import GitState
from tests.promote.conftest import images
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.test_pull_request import FAKE, fake_cloud  # noqa: F401 (fixture)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return seed_remote(tmp_path / "origin")


def release(repo: Path, seed: str) -> str:
    pairs = [f"--image={s}={i}" for s, i in images(seed).items()]
    assert main(["release", "create", *pairs, "--repo", str(repo)]) == EXIT_OK
    made = [r for r in GitState(repo).releases.all() if r.images == images(seed)]
    return made[0].id


def test_the_rehearsal_reads_what_a_stage_runs_from_its_record(
    remote: Path,
    tmp_path: Path,
    fake_cloud: object,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    stale = clone(remote, tmp_path / "stale")  # cloned before anything was promoted
    a = clone(remote, tmp_path / "a")
    first = release(a, "a")
    assert main(["promote", first, "--to", "dev", *FAKE, "--repo", str(a)]) == EXIT_OK
    second = release(a, "b")
    assert "bootstrap" in (stale / "stacks/Pulumi.dev.yaml").read_text()
    assert git(stale, "branch", "-r").count("stages/") == 0, "the checkout knows no record"

    capsys.readouterr()
    code = main(["promote", second, "--to", "dev", "--rehearse", "--json", "--repo", str(stale)])
    assert code == EXIT_OK, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    (dev,) = result["rehearsal"]["stages"]
    assert dev["current"] == first, "before: the release dev's record says it runs"
    text = "\n".join(dev["diff"])
    assert f'"{first}" -> "{second}"' in text, text  # first -> second, not bootstrap
    gates = {g["gate"]: g for g in dev["gates"]}
    assert gates["preview"]["verdict"] == "ok", gates
