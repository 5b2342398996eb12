"""Stage dependencies: a stage may wait for several upstream stages (fan-in), so a pipeline is
a graph. The walk covers only the stages the target waits for; the dependencies gate needs the
release verified (and soaked) in every one of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.spec import SpecError
from pipeline.definition import Pipeline, Stage, load_pipeline
from pipeline.promote.gates import GateContext
from pipeline.promote.gates.dependencies import DependenciesGate
from pipeline.promote.history import LedgerView
from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, Request
from pipeline.promote.planner import plan_walk
from tests.promote.conftest import backdate_verification
from tests.promote.record_reader import record
from tests.promote.typed_entries import stored, typed_all

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
GRAPH = Pipeline(
    stages=(
        Stage(stack="dev"),
        Stage(stack="staging", soak_minutes=30),
        Stage(stack="live-eu", stage="live-eu"),
        Stage(stack="live-us", stage="live-us", upstream=("staging",)),
        Stage(stack="global", upstream=("live-eu", "live-us")),
    )
)


def verified(stage: str, release: str, minutes_ago: int) -> dict[str, Any]:
    time = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "stage": stage,
        "step": "verify",
        "status": "completed",
        "release": release,
        "time": time,
    }


def walk(target: str, entries: list[dict[str, Any]], runs: dict[str, str]) -> Any:
    return plan_walk(GRAPH, target, "R", runs.get, LedgerView(typed_all(entries)), {}, NOW)


def test_a_sibling_is_not_on_the_walk_to_its_sibling():
    base = [verified("dev", "R", 90), verified("staging", "R", 60)]
    planned = walk("live-us", base, {"dev": "R", "staging": "R"})
    assert [s.stack for s in planned.stages] == ["live-us"], "live-eu is not walked"
    upstream = [v for v in planned.verdicts["live-us"] if v.gate == "upstream"]
    assert [v.outcome for v in upstream] == ["ok"] and "staging" in upstream[0].reason


@pytest.mark.parametrize(
    ("case", "entries", "runs", "outcome", "says"),
    [
        ("neither verified", [], {}, "refuse", "not verified in live-eu"),
        (
            "only one verified",
            [verified("live-eu", "R", 10)],
            {"live-eu": "R"},
            "refuse",
            "not verified in live-us",
        ),
        (
            "both verified",
            [verified("live-eu", "R", 10), verified("live-us", "R", 5)],
            {"live-eu": "R", "live-us": "R"},
            "ok",
            "verified in live-eu at",
        ),
    ],
)
def test_fan_in_needs_every_upstream_verified(case, entries, runs, outcome, says):
    stage = GRAPH.stages[-1]
    ctx = GateContext(
        GRAPH, stage, "R", runs.get, LedgerView(typed_all(entries)), {}, NOW, frozenset()
    )
    verdict = DependenciesGate().verdict(ctx)
    assert verdict is not None
    assert (verdict.outcome, says in verdict.reason) == (outcome, True), (case, verdict)


def test_fan_in_walks_every_branch_it_waits_for_and_respects_a_soak():
    planned = walk("global", [verified("dev", "R", 5)], {"dev": "R"})
    assert [s.stack for s in planned.stages] == ["staging", "live-eu", "live-us", "global"]
    # staging soaks: nothing after it may follow in the same walk.
    for stack in ("live-eu", "live-us"):
        soak = next(v for v in planned.verdicts[stack] if v.gate == "soak")
        assert soak.outcome == "refuse" and "soaks a release 30 min" in soak.reason


def test_an_upstream_must_come_before_the_stage(stacks_copy: Path):
    path = stacks_copy / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["pipelines"]["aws"]["stages"][1]["upstream"] = ["live"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(SpecError) as caught:
        load_pipeline(stacks_copy)
    text = str(caught.value)
    assert "pipeline.yaml" in text and "pipelines.aws" in text, text
    assert "upstream 'live' is not a stage before it" in text, text


def graph_pipeline(stacks: Path) -> None:
    """The aws pipeline as a graph: test and staging both after dev, live after both."""
    path = stacks / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    stages = {s["stack"]: s for s in doc["pipelines"]["aws"]["stages"]}
    stages["staging"]["upstream"] = ["dev"]
    stages["live"]["upstream"] = ["test", "staging"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_promotion_follows_the_graph(
    orchestrator, make_release_in, cloud, stacks_copy, state_dir
):
    graph_pipeline(stacks_copy)
    release = make_release_in("g")
    to_staging = orchestrator().promote(Request(release.id, "staging"))
    assert to_staging.code == EXIT_OK, to_staging.message
    assert list(to_staging.stages) == ["dev", "staging"], "test is not on the way to staging"
    assert cloud.runs("test") == "bootstrap"

    backdate_verification(record(state_dir), "staging", release.id, 2)
    unapproved = orchestrator().promote(Request(release.id, "live"))
    assert unapproved.code == EXIT_INVALID and "live requires approval" in unapproved.message
    to_live = orchestrator().promote(Request(release.id, "live", approver="alice"))
    assert to_live.code == EXIT_OK, to_live.message
    assert list(to_live.stages) == ["test", "live"], "live waits for test too: it is walked"
    start = [e for e in stored(record(state_dir).entries()) if e["step"] == "start"][-1]
    live = next(v for v in start["verdicts"]["live"] if v["gate"] == "upstream")
    assert "verified in test by this promotion" in live["reason"], live
    assert "verified in staging at" in live["reason"], live


def test_continuous_deployment_targets_each_branch_of_the_graph():
    """The deploy workflow promotes to every auto target: both branches after staging, and
    nothing past a stage that needs approval or a stage it waits for that is not automatic."""
    auto = {"auto_promote": True}
    graph = Pipeline(
        stages=(
            Stage(stack="dev", **auto),
            Stage(stack="staging", **auto),
            Stage(stack="live-eu", stage="live-eu", **auto),
            Stage(stack="live-us", stage="live-us", upstream=("staging",), **auto),
            Stage(stack="global", upstream=("live-eu", "live-us"), approval="required"),
        )
    )
    assert [s.stack for s in graph.auto_targets()] == ["live-eu", "live-us"]
    gated = Pipeline(
        stages=(
            Stage(stack="dev", **auto),
            Stage(stack="staging", **auto),
            Stage(stack="eu", upstream=("staging",), approval="required", auto_promote=True),
            Stage(stack="us", upstream=("staging",), **auto),
            Stage(stack="after-eu", upstream=("eu",), **auto),
        )
    )
    assert [s.stack for s in gated.auto_targets()] == ["us"], "after-eu waits for an approval"
    chain = Pipeline(stages=(Stage(stack="dev", **auto), Stage(stack="live")))
    assert [s.stack for s in chain.auto_targets()] == ["dev"]
    assert Pipeline(stages=(Stage(stack="dev"),)).auto_targets() == ()
