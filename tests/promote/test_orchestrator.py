"""The orchestrator over the fake cloud, verified through a real local HTTP server, with faults
injected at each step."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.promote.ledger import Ledger
from pipeline.promote.orchestrator import (
    EXIT_BUSY,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STOPPED,
    Request,
)
from tests.promote.conftest import backdate_verification
from tests.promote.fakes import SimulatedCrash
from tests.promote.typed_entries import stored


def steps(ledger: Ledger, stage: str, kind: str = "forward") -> list[tuple[str, str]]:
    return [
        (e["step"], e["status"])
        for e in stored(ledger.entries())
        if e.get("stage") == stage and e.get("kind") == kind
    ]


def finish(ledger: Ledger) -> dict[str, Any]:
    return [e for e in stored(ledger.entries()) if e["step"] == "finish"][-1]


def test_promotes_through_stages_and_records_each_step(orchestrator, make_release_in, cloud):
    release = make_release_in("a")
    orch = orchestrator()
    outcome = orch.promote(Request(release.id, "staging"))
    assert outcome.code == EXIT_OK, outcome.message
    assert [cloud.runs(s) for s in ("dev", "test", "staging", "live")] == [
        release.id,
        release.id,
        release.id,
        "bootstrap",
    ]
    assert steps(orch.ledger, "test") == [
        (step, status)
        for step in ("set-images", "preview", "gate", "up", "verify")
        for status in (("started", "completed") if step != "gate" else ("completed",))
    ]
    assert orch.ledger.verify().ok
    assert finish(orch.ledger)["outcome"] == "promoted"
    # A second run has nothing to do and writes nothing.
    before = len(stored(orch.ledger.entries()))
    again = orch.promote(Request(release.id, "staging"))
    assert (again.code, again.outcome) == (EXIT_OK, "nothing to do")
    assert len(stored(orch.ledger.entries())) == before


def test_live_needs_approval_then_soak_then_promotes(orchestrator, make_release_in, cloud):
    release = make_release_in("b")
    assert orchestrator().promote(Request(release.id, "staging")).code == EXIT_OK
    ledger = orchestrator().ledger
    entries = len(stored(ledger.entries()))

    refused = orchestrator().promote(Request(release.id, "live"))
    assert refused.code == EXIT_INVALID and "soak" in refused.message, refused.message
    assert len(stored(ledger.entries())) == entries, "a refused promotion writes nothing"
    # The soak is measured from the recorded verification against the real clock.
    backdate_verification(ledger, "staging", release.id, 0.95)
    entries = len(stored(ledger.entries()))
    waits = orchestrator().promote(Request(release.id, "live", approver="alice"))
    assert waits.code == EXIT_INVALID and re.search(r"\b[34] of 60 min left", waits.message), (
        waits.message
    )
    backdate_verification(ledger, "staging", release.id, 2)
    entries = len(stored(ledger.entries()))
    unapproved = orchestrator().promote(Request(release.id, "live"))
    assert unapproved.code == EXIT_INVALID and "requires approval" in unapproved.message
    assert len(stored(ledger.entries())) == entries, "a refused promotion writes nothing"
    assert cloud.runs("live") == "bootstrap"

    approved = orchestrator().promote(Request(release.id, "live", approver="alice"))
    assert approved.code == EXIT_OK, approved.message
    assert cloud.runs("live") == release.id
    start = [e for e in stored(ledger.entries()) if e["step"] == "start"][-1]
    assert start["approver"] == "alice"


def test_terminal_confirmation_approves(orchestrator, make_release_in, cloud):
    release = make_release_in("c")
    asked: list[str] = []

    def confirm(stage: str, release_id: str, reason: str) -> str | None:
        asked.append(stage)
        return "bob"

    assert orchestrator().promote(Request(release.id, "staging")).code == EXIT_OK
    backdate_verification(orchestrator().ledger, "staging", release.id, 2)
    outcome = orchestrator(confirm=confirm).promote(Request(release.id, "live"))
    assert outcome.code == EXIT_OK and asked == ["live"]
    declined = orchestrator(confirm=lambda *a: None)
    other = make_release_in("d")
    assert declined.promote(Request(other.id, "dev")).code == EXIT_OK  # dev needs no approval


@pytest.mark.parametrize(
    ("stack", "step", "fault", "outcome", "code"),
    [
        ("test", "preview", "error", "stopped", EXIT_STOPPED),
        ("test", "preview", "beyond", "stopped", EXIT_STOPPED),
        ("test", "preview", "busy", "busy", EXIT_BUSY),
        ("test", "up", "error", "rolled back", EXIT_STOPPED),
        ("test", "verify", "wrong-version:{bad}", "rolled back", EXIT_STOPPED),
    ],
)
def test_faults_stop_the_stage_and_leave_later_stages_alone(
    orchestrator, make_release_in, cloud, stack, step, fault, outcome, code
):
    good = make_release_in("e")
    assert orchestrator().promote(Request(good.id, "test")).code == EXIT_OK
    bad = make_release_in("f")
    cloud.set_fault(stack, step, fault.format(bad=bad.id))
    orch = orchestrator()
    result = orch.promote(Request(bad.id, "staging"))
    assert (result.code, result.outcome) == (code, outcome), result.message
    # dev took the new release; test is back on (or never left) the good one; staging untouched.
    assert cloud.runs("dev") == bad.id
    assert cloud.runs("test") == good.id, f"urn:pulumi:test::stageline: {result.message}"
    assert cloud.read()["stacks"]["test"]["config"]["release"] == good.id, "config restored"
    assert cloud.runs("staging") == "bootstrap"
    assert not any(e.get("stage") == "staging" for e in stored(orch.ledger.entries()))
    assert finish(orch.ledger)["outcome"] == outcome
    assert orch.ledger.verify().ok
    if outcome == "rolled back":
        assert ("verify", "completed") in steps(orch.ledger, "test", "rollback")


def test_gate_shows_the_diff_of_a_stateful_replacement(orchestrator, make_release_in, cloud):
    release = make_release_in("g")
    cloud.set_fault("dev", "preview", "beyond")
    events: list[dict[str, Any]] = []
    orch = orchestrator(events=lambda event, **f: events.append({"event": event, **f}))
    result = orch.promote(Request(release.id, "dev"))
    assert result.code == EXIT_STOPPED
    gate = next(e for e in events if e.get("step") == "gate")
    urn = "urn:pulumi:dev::stageline::stageline:aws:Database$aws:rds/instance:Instance"
    assert any(urn in line and "replace" in line for line in gate["diff"]), gate["diff"]
    assert cloud.runs("dev") == "bootstrap"


def test_failed_verification_without_a_verified_past_returns_to_what_ran(
    orchestrator, make_release_in, cloud
):
    release = make_release_in("h")
    cloud.set_fault("dev", "verify", f"wrong-version:{release.id}")
    result = orchestrator().promote(Request(release.id, "dev"))
    assert result.outcome == "rolled back", result.message
    assert cloud.runs("dev") == "bootstrap"


def test_rollback_on_request_only_to_a_release_verified_there(orchestrator, make_release_in, cloud):
    first = make_release_in("i", created=datetime.now(UTC) - timedelta(days=1))
    second = make_release_in("j")
    assert orchestrator().promote(Request(first.id, "dev")).code == EXIT_OK
    assert orchestrator().promote(Request(second.id, "dev")).code == EXIT_OK
    backwards = orchestrator().promote(Request(first.id, "dev"))
    assert backwards.code == EXIT_INVALID and "--rollback" in backwards.message
    never = make_release_in("k")
    refused = orchestrator().promote(Request(never.id, "dev", rollback=True))
    assert refused.code == EXIT_INVALID and "never verified" in refused.message
    done = orchestrator().promote(Request(first.id, "dev", rollback=True))
    assert (done.code, done.outcome) == (EXIT_OK, "rolled back"), done.message
    assert cloud.runs("dev") == first.id


def test_bad_input_is_refused_without_writing(orchestrator, make_release_in, cloud):
    release = make_release_in("l")
    orch = orchestrator()
    cases = {
        Request(release.id, "prod"): "no stage 'prod'",
        Request("r-doesnotexist", "dev"): "no release",
        Request(release.id, "dev", pipeline="gcp"): "no such pipeline",
        Request(release.id, "test", rollback=True): "never verified",
    }
    for request, message in cases.items():
        result = orch.promote(request)
        assert result.code == EXIT_INVALID and message in result.message, result.message
    assert stored(orch.ledger.entries()) == []
    assert cloud.read()["calls"] == []


def test_no_stage_is_skipped_and_a_failed_upstream_is_walked_again(
    orchestrator, make_release_in, cloud
):
    release = make_release_in("m")
    cloud.set_fault("dev", "verify", f"wrong-version:{release.id}")
    assert orchestrator().promote(Request(release.id, "dev")).outcome == "rolled back"
    cloud.set_fault("dev", "verify", None)
    walk = orchestrator().resolve(Request(release.id, "test"))
    assert [s.stack for s in walk.stages] == ["dev", "test"], "test is reached through dev"
    result = orchestrator().promote(Request(release.id, "test"))
    assert result.code == EXIT_OK, result.message
    assert cloud.read()["calls"].index("dev:up") < len(cloud.read()["calls"]) - 1


def test_crash_mid_up_resumes_and_reports_pending_operations(orchestrator, make_release_in, cloud):
    release = make_release_in("o")
    cloud.set_fault("test", "up", "crash")
    with pytest.raises(SimulatedCrash):
        orchestrator().promote(Request(release.id, "staging"))
    notes: list[str] = []
    orch = orchestrator(events=lambda e, **f: notes.append(f.get("message", "")))
    assert orch.ledger.verify().ok
    result = orch.promote(Request(release.id, "staging"))
    assert result.code == EXIT_OK, result.message
    assert any("pulumi refresh --stack test" in n and "test-services: update" in n for n in notes)
    assert any(n.startswith("resuming p-") for n in notes), notes
    starts = [e for e in stored(orch.ledger.entries()) if e["step"] == "start"]
    assert len(starts) == 1, "the resumed promotion is the same promotion"
    completed_dev = [s for s in steps(orch.ledger, "dev") if s[1] == "completed"]
    assert len(completed_dev) == 5, "dev's steps are not repeated after the crash"


def test_a_different_release_supersedes_an_unfinished_promotion(
    orchestrator, make_release_in, cloud
):
    first, second = make_release_in("p"), make_release_in("q")
    cloud.set_fault("dev", "preview", "crash")
    with pytest.raises(SimulatedCrash):
        orchestrator().promote(Request(first.id, "dev"))
    orch = orchestrator()
    assert orch.promote(Request(second.id, "dev")).code == EXIT_OK
    outcomes = [e["outcome"] for e in stored(orch.ledger.entries()) if e["step"] == "finish"]
    assert outcomes == ["superseded", "promoted"]


def test_verification_commands_run_with_the_stage(orchestrator, make_release_in, cloud, tmp_path):
    import yaml

    from pipeline.definition import PipelineFile

    release = make_release_in("r")
    orch = orchestrator()
    doc = orch.definition.model_dump(by_alias=True, mode="json")
    marker = tmp_path / "ran"
    doc["pipelines"]["aws"]["stages"][0]["verifyCommands"] = [
        f'echo "$STAGELINE_STAGE $STAGELINE_RELEASE" >> {marker}',
        f'test "$STAGELINE_RELEASE" != {release.id} || exit 3',
    ]
    orch.definition = PipelineFile.model_validate(yaml.safe_load(yaml.safe_dump(doc)))
    result = orch.promote(Request(release.id, "dev"))
    assert result.outcome == "rolled back" and "exited 3" in result.message, result.message
    # The rollback went the same path: its verification ran the commands too, and passed.
    assert marker.read_text().splitlines() == [f"dev {release.id}", "dev bootstrap"]
