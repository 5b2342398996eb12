"""One answer everywhere: ``status`` takes a stage's next verdict from the planner ``promote``
uses, and a stage whose policy did not run is held by the same rule in a promotion and in a
rehearsal (pipeline.promote.policy.policy_findings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.deployer import PolicyOptions, Preview
from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, EXIT_STOPPED, Request
from pipeline.promote.policy import not_run
from tests.promote.fakes import FileDeployer
from tests.promote.gitrepos import clone
from tests.promote.test_governance import FAKE, cli, fake_cloud, release, remote
from tests.promote.typed_entries import stored

__all__ = ["fake_cloud", "remote"]  # fixtures shared with test_governance


def status(repo: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert cli(repo, "status", "--offline", "--json") == EXIT_OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {e["stack"]: e for e in events if e["event"] == "stage"}


def test_status_and_promote_agree_after_a_rollback(
    remote: Path, tmp_path: Path, fake_cloud: FileDeployer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: test rolled back from R2 to R1. status used to call R2 eligible for
    test while promote refused it."""
    repo = clone(remote, tmp_path / "runner")
    first = release(repo, "a")
    assert cli(repo, "promote", first, "--to", "test", *FAKE) == EXIT_OK
    second = release(repo, "b")
    assert cli(repo, "promote", second, "--to", "test", *FAKE) == EXIT_OK
    assert cli(repo, "promote", first, "--to", "test", "--rollback", *FAKE) == EXIT_OK

    row = status(repo, capsys)["test"]
    assert (row["runs"], row["next_release"]) == (first, second), row
    assert not row["next_verdict"].startswith("eligible"), row
    assert f"test was rolled back from {second}" in row["next_verdict"], row
    assert cli(repo, "promote", second, "--to", "test", *FAKE) == EXIT_INVALID
    assert row["next_verdict"] in capsys.readouterr().err, "the same words, from the same gate"


def test_a_promotion_whose_policy_did_not_run_is_held(
    orchestrator: Any, make_release_in: Any, cloud: FileDeployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule a rehearsal applies (tests/promote/test_offline.py): nothing checked, nothing
    passes. It used to let the stage through with "policy not run"."""
    real = cloud.preview

    def unchecked(stack: str, policy: PolicyOptions) -> Preview:
        done = real(stack, policy)
        return Preview(done.changes, not_run("no policy pack"), done.plan)

    monkeypatch.setattr(cloud, "preview", unchecked)
    release_ = make_release_in("a")
    orch = orchestrator()
    outcome = orch.promote(Request(release_.id, "dev"))
    assert outcome.code == EXIT_STOPPED, outcome.message
    assert "policy did not run: no policy pack" in outcome.message
    gate = [e for e in stored(orch.ledger.entries()) if e.get("step") == "gate"][-1]
    assert gate["status"] == "failed"
    assert cloud.runs("dev") == "bootstrap"
