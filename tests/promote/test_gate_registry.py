"""The registered gates: one ordered tuple, unique names, approval last (a confirmation
replaces its verdict), and each gate a small unit the planner asks in order."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.definition import Pipeline, Stage
from pipeline.promote.gates import GATES, GateContext, Verdict
from pipeline.promote.history import LedgerView
from pipeline.promote.planner import plan_walk

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PIPELINE = Pipeline(stages=(Stage(stack="dev"), Stage(stack="live", approval="required")))


def test_gates_are_registered_in_one_ordered_tuple():
    names = [gate.name for gate in GATES]
    assert len(names) == len(set(names)), names
    assert names[0] == "direction" and names[-1] == "approval", names


def test_each_gate_answers_with_a_verdict_or_nothing():
    for stage in PIPELINE.stages:
        ctx = GateContext(
            PIPELINE, stage, "r-1", lambda s: None, LedgerView([]), {}, NOW, frozenset()
        )
        for gate in GATES:
            verdict = gate.verdict(ctx)
            assert verdict is None or isinstance(verdict, Verdict), gate.name


def test_the_planner_asks_the_registered_gates_in_order():
    planned = plan_walk(PIPELINE, "live", "r-1", lambda s: None, LedgerView([]), {}, NOW)
    assert [v.gate for v in planned.verdicts["dev"]] == ["direction", "upstream", "approval"]
    live = planned.verdicts["live"]
    assert [v.gate for v in live] == ["direction", "upstream", "approval"]
    assert [v.outcome for v in live] == ["ok", "ok", "refuse"], live
