"""A shared record that holds ledger entries but never stored a release (reconcile's or a
bootstrap's entries come first) reads as no releases: `ledger verify` and `release list` answer
instead of failing on the missing folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.orchestrator import EXIT_OK
from pipeline.record.state import STATE_REF, GitState
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.test_pull_request import AUTHOR, person
from tests.promote.typed_entries import to_append


def test_a_record_without_releases_verifies_and_lists_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = seed_remote(tmp_path / "origin")
    repo = person(clone(remote, tmp_path / "ci"), AUTHOR)
    GitState(repo).append(to_append({"step": "reconcile", "stage": "dev", "outcome": "in sync"}))
    listed = git(remote, "ls-tree", "-r", "--name-only", STATE_REF)
    assert "releases/" not in listed and "ledger" in listed, listed
    assert GitState(repo).releases.all() == []
    capsys.readouterr()
    assert main(["ledger", "verify", "--repo", str(repo)]) == EXIT_OK
    assert main(["release", "list", "--repo", str(repo), "--json"]) == EXIT_OK
    assert "Traceback" not in capsys.readouterr().err
