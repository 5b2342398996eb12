"""Promotion edge cases found by probing: each fails cleanly instead of crashing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.definition import load_pipeline
from pipeline.promote.deployer import PolicyOptions
from pipeline.promote.ledger import verify_chain
from pipeline.promote.orchestrator import PromotionError, Request
from pipeline.promote.rehearsal import rehearse
from pipeline.promote.release import ReleaseError, parse_images
from pipeline.promote.verification import HealthCheck
from pipeline.record.layout import entry_path
from tests.conftest import PROJECT_DIR
from tests.promote.record_reader import ledger_lines, rewrite_consistently, tamper

DIGEST = "ghcr.io/acme/api@sha256:" + "a" * 64


def test_service_url_without_scheme_fails_verification() -> None:
    result = HealthCheck(timeout=0.1, interval=0.01)(
        "dev", {"serviceUrls": {"api": "api.dev.example.com"}}, "r-1"
    )
    assert not result.ok
    assert "'api.dev.example.com/healthz', not an http(s):// URL" in result.detail


def test_service_url_without_scheme_after_up_rolls_back(orchestrator, cloud, make_release_in):
    cloud.health_url = cloud.health_url.split("://", 1)[1]  # host:port, no scheme
    release = make_release_in("noscheme")
    result = orchestrator().promote(Request(release.id, "dev"))
    # The fake's URLs lack the scheme for every release, so the rolled-back stage cannot be
    # verified either: the promotion ends "rollback failed", cleanly, with the stage rolled back.
    assert result.outcome in ("rolled back", "rollback failed"), result.message
    assert "not an http(s):// URL" in result.message, result.message
    assert cloud.runs("dev") == "bootstrap"


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t"])
def test_image_reference_with_trailing_whitespace_is_refused(suffix: str) -> None:
    assert parse_images([f"api={DIGEST}"], ["api"]) == {"api": DIGEST}
    with pytest.raises(ReleaseError, match="expected REPO@sha256"):
        parse_images([f"api={DIGEST}{suffix}"], ["api"])


def _broken_project(tmp_path: Path) -> Path:
    """The project with a program that fails for every stage (the stack files stay valid)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "__main__.py").write_text("raise RuntimeError('the blueprint is broken')\n")
    return project


def test_rehearsal_reports_a_stage_that_fails_to_render(
    stacks_copy, state, make_release_in, tmp_path
):
    release = make_release_in("c")
    with pytest.raises(PromotionError, match=r"did not render.*the blueprint is broken"):
        rehearse(
            _broken_project(tmp_path),
            stacks_copy,
            state,
            load_pipeline(stacks_copy),
            Request(release.id, "dev"),
            policy=lambda stage: PolicyOptions(None, None),
        )


def _rehearse_dev(stacks_dir, state, release: str, config):
    """Rehearse ``release`` to dev with the shipped pack and the policy config ``config``."""
    return rehearse(
        PROJECT_DIR,
        stacks_dir,
        state,
        load_pipeline(stacks_dir),
        Request(release, "dev"),
        policy=lambda stage: PolicyOptions(PROJECT_DIR / "policies", config),
    )


def test_rehearsal_reads_the_policy_config_file_it_is_given(
    stacks_copy, state, make_release_in, tmp_path
):
    """``--rehearse --policy-pack-config FILE`` reads FILE, not ``<stage>.json`` beside it."""
    config = tmp_path / "elsewhere" / "custom.json"
    config.parent.mkdir()
    live = json.loads((PROJECT_DIR / "policies" / "config" / "dev.json").read_text())
    config.write_text(json.dumps(live))
    report = _rehearse_dev(stacks_copy, state, make_release_in("d").id, config)
    [stage] = report.stages
    assert stage.policy["status"] in ("passed", "failed"), stage.policy
    assert "(custom.json)" in json.dumps(stage.policy), stage.policy


def test_a_rehearsal_whose_policy_config_cannot_be_read_is_blocked(
    stacks_copy, state, make_release_in, tmp_path
):
    """A policy config the pack refuses checks nothing: the rehearsal stops there (exit 1)
    instead of saying every gate passes."""
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"all": "bogus"}))
    report = _rehearse_dev(stacks_copy, state, make_release_in("d").id, config)
    [stage] = report.stages
    assert stage.policy["status"] == "failed" and stage.policy["violations"] == []
    preview = next(g for g in stage.gates if g["gate"] == "preview")
    assert preview["verdict"] == "stop" and "policy did not run" in preview["reason"], preview
    assert stage.blocked and report.exit_code() == 1


@pytest.mark.parametrize(
    "command",
    [["history"], ["status", "--offline"], ["metrics", "--stage", "dev"]],
    ids=["history", "status-offline", "metrics"],
)
def test_read_only_commands_report_a_bad_ledger_line(
    command, stacks_copy, state_dir, make_release_in, health, monkeypatch, capsys
):
    from pipeline.cli import main

    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    where = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    release = make_release_in("ledger")
    fake = "tests.promote.fakes:file_deployer"
    assert main(["promote", release.id, "--to", "dev", "--deployer", fake, *where]) == 0
    # A line that is not JSON in the record (as a file edit inserted one into ledger.jsonl).
    tamper(state_dir, {entry_path(2): b"{this is not json\n"}, "edit entry 2")
    capsys.readouterr()
    code = main([*command, *where])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    # As for the shared git state: the record does not verify, naming the commit that edited
    # an entry; history warns and shows no entry (exit 0), status and metrics refuse (exit 2).
    assert "does not verify" in err and "an entry was edited" in err, err
    assert code == (0 if command == ["history"] else 2), (code, err)
    assert release.id not in out, out


def test_a_consistent_rewrite_of_a_state_dir_no_longer_verifies(
    stacks_copy, state_dir, make_release_in, health, monkeypatch, capsys
):
    """The directory's ledger used to be one file: rewritten whole with every hash recomputed,
    it verified. As a git record each entry is a commit, so the same rewrite is caught."""
    from pipeline.cli import main

    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    where = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    release = make_release_in("rewrite")
    fake = "tests.promote.fakes:file_deployer"
    assert main(["promote", release.id, "--to", "dev", "--deployer", fake, *where]) == 0
    assert main(["ledger", "verify", *where]) == 0

    rewrite_consistently(state_dir, lambda fields: fields.update(detail="rewritten"))
    lines = [line.decode().rstrip("\n") for line in ledger_lines(state_dir)]
    entries, problems = verify_chain(lines, "rewritten")
    assert problems == [] and {e.get("detail") for e in entries} == {"rewritten"}, problems
    capsys.readouterr()
    assert main(["ledger", "verify", *where]) == 1
    err = capsys.readouterr().err
    assert "does NOT verify" in err and "an entry was edited" in err, err
