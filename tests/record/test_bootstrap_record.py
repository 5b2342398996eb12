"""A stage record moved by an entry of no known kind (a bootstrap of what a stage already ran,
as the docker lane records it before its first promotion) is the stage's recorded commit: the
stage branch verifies. Typed entries read such an entry as OtherEntry, whose ``record`` the
index must still see (the docker lane's reconcile test found it missing)."""

from __future__ import annotations

from pathlib import Path

from pipeline.promote.state import StageChange
from pipeline.record.state import GitState
from tests.promote.gitrepos import clone, seed_remote
from tests.promote.test_pull_request import AUTHOR, person
from tests.promote.typed_entries import to_append

IMAGES = {
    "api": "registry.local/api@sha256:" + "a" * 64,
    "web": "registry.local/web@sha256:" + "b" * 64,
}


def test_a_bootstrap_entry_records_its_stage_branch(tmp_path: Path) -> None:
    remote = seed_remote(tmp_path / "origin")
    repo = person(clone(remote, tmp_path / "ci"), AUTHOR)
    change = StageChange("dev", "aws", "r-boot", IMAGES, None, "bootstrap", "forward", None)
    fields = {"stage": "dev", "pipeline": "aws", "release": "r-boot", "step": "bootstrap"}
    GitState(repo).append(to_append({"step": "reconcile", "stage": "dev", "outcome": "in sync"}))
    GitState(repo).append(to_append({**fields, "status": "completed"}), change)
    again = GitState(repo)
    check = again.verify()
    assert check.ok, check.problems
    record = again.stage_record("dev")
    assert record is not None and record.release == "r-boot", record
