"""Eligibility, table by table: verified upstream, soak, approval, direction and rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.definition import Pipeline, Stage
from pipeline.promote.gates import (
    approval_verdict,
    direction_verdict,
    upstream_verdict,
)
from pipeline.promote.history import LedgerView
from tests.promote.typed_entries import typed_all

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PIPELINE = Pipeline(
    stages=(
        Stage(stack="dev", auto_promote=True),
        Stage(stack="test", auto_promote=True),
        Stage(stack="staging", soak_minutes=60),
        Stage(stack="live", approval="required"),
    )
)


def verify(stage: str, release: str, status: str, minutes_ago: int) -> dict[str, Any]:
    time = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {"stage": stage, "step": "verify", "status": status, "release": release, "time": time}


@pytest.mark.parametrize(
    ("case", "index", "entries", "walked", "outcome", "says"),
    [
        ("first stage", 0, [], (), "ok", "first stage"),
        ("verified upstream", 1, [verify("dev", "R", "completed", 5)], (), "ok", "verified in dev"),
        ("never verified upstream", 1, [], (), "refuse", "not skipped"),
        (
            "upstream verification failed last",
            1,
            [verify("dev", "R", "completed", 50), verify("dev", "R", "failed", 10)],
            (),
            "refuse",
            "not verified in dev",
        ),
        ("other release verified", 1, [verify("dev", "S", "completed", 5)], (), "refuse", "dev"),
        ("deployed upstream by this walk", 1, [], ("dev",), "ok", "by this promotion"),
        (
            "soak not over",
            3,
            [verify("staging", "R", "completed", 20)],
            (),
            "wait",
            "41 of 60 min left",
        ),
        ("soak over", 3, [verify("staging", "R", "completed", 61)], (), "ok", "verified"),
        ("soak cannot pass in one walk", 3, [], ("staging",), "refuse", "soaks a release 60"),
    ],
)
def test_upstream(case, index, entries, walked, outcome, says):
    verdict = upstream_verdict(
        PIPELINE, index, "R", LedgerView(typed_all(entries)), NOW, frozenset(walked)
    )
    assert verdict.outcome == outcome, f"{case}: {verdict}"
    assert says in verdict.reason, f"{case}: {verdict.reason}"


@pytest.mark.parametrize(
    ("stage", "auto", "approver", "outcome", "says"),
    [
        ("dev", False, None, "ok", "no approval required"),
        ("dev", True, None, "ok", "autoPromote"),
        ("staging", False, None, "ok", "no approval required"),
        ("staging", True, None, "refuse", "autoPromote is off"),
        ("staging", True, "ci-bot", "ok", "approved by ci-bot"),
        ("live", False, None, "refuse", "requires approval"),
        ("live", True, None, "refuse", "requires approval"),
        ("live", False, "alice", "ok", "approved by alice"),
    ],
)
def test_approval(stage, auto, approver, outcome, says):
    chosen = next(s for s in PIPELINE.stages if s.stack == stage)
    verdict = approval_verdict(chosen, auto, approver)
    assert (verdict.outcome, says in verdict.reason) == (outcome, True), verdict


@pytest.mark.parametrize(
    ("auto", "approver", "reviewer", "outcome", "says"),
    [
        (False, None, None, "propose", "promoted by pull request"),
        (True, None, None, "propose", "promoted by pull request"),  # autoPromote does not skip it
        (False, "alice", None, "propose", "promoted by pull request"),  # --approver is no review
        (False, None, "rita", "ok", "approved by rita (merged its pull request)"),
    ],
)
def test_approval_of_a_stage_promoted_by_pull_request(auto, approver, reviewer, outcome, says):
    stage = Stage(stack="live", approval="required", auto_promote=True, promotion="pullRequest")
    verdict = approval_verdict(stage, auto, approver, reviewer)
    assert (verdict.outcome, says in verdict.reason) == (outcome, True), verdict


def test_the_planner_proposes_a_pull_request_stage_and_asks_no_confirmation():
    from pipeline.promote.planner import plan_walk

    pipeline = Pipeline(stages=(Stage(stack="dev"), Stage(stack="live", promotion="pullRequest")))
    view = LedgerView(typed_all([verify("dev", "r-2", "completed", 5)]))
    planned = plan_walk(pipeline, "live", "r-2", lambda s: "r-1", view, {}, NOW)
    assert [s.stack for s in planned.proposals()] == ["live"]
    assert planned.approvals_needed() == [] and planned.problems() == []
    reviewed = plan_walk(pipeline, "live", "r-2", lambda s: "r-1", view, {}, NOW, reviewer="rita")
    assert reviewed.proposals() == [] and reviewed.verdicts["live"][-1].ok


def test_auto_promote_skips_required_approval_when_the_stage_allows_it():
    stage = Stage(stack="live", approval="required", auto_promote=True)
    assert approval_verdict(stage, True, None).ok
    assert not approval_verdict(stage, False, None).ok


@pytest.mark.parametrize(
    ("case", "release", "holds", "entries", "created", "rollback", "outcome"),
    [
        ("new release", "R2", "R1", [], {"R1": "1", "R2": "2"}, False, "ok"),
        ("older release", "R1", "R2", [], {"R1": "1", "R2": "2"}, False, "refuse"),
        (
            "replaced release",
            "R1",
            "R2",
            [verify("dev", "R1", "completed", 9), verify("dev", "R2", "completed", 5)],
            {},
            False,
            "refuse",
        ),
        ("unknown history", "R1", "bootstrap", [], {"R1": "1"}, False, "ok"),
        (
            "rollback to a verified release",
            "R1",
            "R2",
            [verify("dev", "R1", "completed", 9), verify("dev", "R2", "completed", 5)],
            {},
            True,
            "ok",
        ),
        ("rollback to a stranger", "R3", "R2", [], {}, True, "refuse"),
        ("rollback to what runs", "R2", "R2", [], {}, True, "refuse"),
    ],
)
def test_direction_and_rollback(case, release, holds, entries, created, rollback, outcome):
    verdict = direction_verdict(
        "dev", release, holds, LedgerView(typed_all(entries)), created, rollback
    )
    assert verdict.outcome == outcome, f"{case}: {verdict}"


@pytest.mark.parametrize(
    ("case", "release", "holds", "entries", "created", "says"),
    [
        ("older release", "R1", "R2", [], {"R1": "1", "R2": "2"}, "dev runs R2, newer than R1"),
        (
            "after a rollback from R2 to R1",
            "R2",
            "R1",
            [
                verify("dev", "R1", "completed", 30),
                verify("dev", "R2", "completed", 20),
                verify("dev", "R1", "completed", 10),  # the rollback
            ],
            {"R1": "1", "R2": "2"},
            "dev was rolled back from R2 to the older R1",
        ),
        (
            "replaced, times unknown",
            "R1",
            "R2",
            [verify("dev", "R1", "completed", 9), verify("dev", "R2", "completed", 5)],
            {},
            "dev ran R1 before and now runs R2",
        ),
    ],
)
def test_direction_names_the_newer_release_rightly(case, release, holds, entries, created, says):
    """After a rollback the gate once called the older release "newer"."""
    verdict = direction_verdict(
        "dev", release, holds, LedgerView(typed_all(entries)), created, False
    )
    assert verdict.outcome == "refuse", f"{case}: {verdict}"
    assert says in verdict.reason, f"{case}: {verdict.reason}"
    newer = [w for w in verdict.reason.split(";")[0].split() if w == "newer"]
    if newer:  # "X runs H, newer than R": H must really be the newer one
        assert created[holds] > created[release], f"{case}: {verdict.reason}"
