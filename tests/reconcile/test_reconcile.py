"""Reconcile offline: the remedy per stage setting, heal / propose / report, the lock rule and
the ledger entries, over the tests' double of the state (in memory) and a drift engine whose
"cloud" is a JSON file."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pipeline.definition import Promotion, Stage
from pipeline.promote.deployer import PolicyOptions
from pipeline.promote.history import LedgerView
from pipeline.promote.lock import LockOwner
from pipeline.promote.memory import MemoryState
from pipeline.promote.state import StageChange, StateError
from pipeline.promote.verification import VerifyResult
from pipeline.reconcile.remedy import Remedy, remedy_of
from pipeline.reconcile.run import Baseline, Outcome, Reconciler, drift_metrics
from tests.promote.typed_entries import filled, stored, to_append
from tests.reconcile.fakes import FileDrift

DEV = Stage(stack="dev", auto_promote=True)
LIVE = Stage(stack="live", approval="required")
TEST = Stage(stack="test", reconcile=Remedy.REPORT, auto_promote=True)
IMAGES = {"api": "r/api@sha256:" + "a" * 64, "web": "r/web@sha256:" + "b" * 64}


@pytest.mark.parametrize(
    ("stage", "remedy"),
    [
        (Stage(stack="s", auto_promote=True), Remedy.HEAL),
        (Stage(stack="s", approval="required"), Remedy.PROPOSE),
        (Stage(stack="s", auto_promote=True, approval="required"), Remedy.PROPOSE),
        (Stage(stack="s", auto_promote=True, promotion=Promotion.PULL_REQUEST), Remedy.PROPOSE),
        (Stage(stack="s"), Remedy.REPORT),
        (Stage(stack="s", approval="required", reconcile=Remedy.HEAL), Remedy.HEAL),
        (Stage(stack="s", auto_promote=True, reconcile=Remedy.REPORT), Remedy.REPORT),
        (Stage(stack="s", auto_promote=True, reconcile=Remedy.PROPOSE), Remedy.PROPOSE),
    ],
)
def test_the_remedy_follows_the_stage_setting_then_its_promotion(
    stage: Stage, remedy: Remedy
) -> None:
    assert remedy_of(stage) is remedy


@pytest.fixture
def state(tmp_path: Path) -> MemoryState:
    state = MemoryState(tmp_path / "state")
    for stack in ("dev", "test", "live"):  # each stage records r-1, as a promotion leaves it
        change = StageChange(stack, "p", "r-1", IMAGES, "c0ffee", "p-1", "forward", None)
        state.append(to_append({"promotion": "p-1", "stage": stack, "step": "up"}), change)
    return state


@pytest.fixture
def cloud(tmp_path: Path) -> FileDrift:
    return FileDrift(tmp_path / "cloud.json")


def reconciler(
    state: MemoryState, cloud: FileDrift, tmp_path: Path, ok: bool = True, **more: Any
) -> Reconciler:
    def verify(stack: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
        return VerifyResult(ok, f"{stack} answers {release}" if ok else f"{stack} answers 500")

    def baseline(stack: str) -> Baseline:
        record = state.stage_record(stack)
        if record is None:
            raise StateError(f"commit 0123abcd has no stacks/Pulumi.{stack}.yaml")
        return Baseline(tmp_path / "records" / stack, record.release, f"stages/{stack}")

    return Reconciler(
        cloud,
        state,
        "p",
        baseline,
        lambda stack: PolicyOptions(Path("policies"), None),
        verify,
        **more,
    )


def reconciles(state: MemoryState) -> list[dict[str, Any]]:
    return [e for e in stored(state.entries()) if e.get("step") == "reconcile"]


def test_a_stage_in_sync_is_recorded_and_left_as_it_is(state, cloud, tmp_path) -> None:
    (result,) = reconciler(state, cloud, tmp_path).run([DEV])
    assert result.outcome is Outcome.IN_SYNC and not result.drifted
    assert [c[0] for c in cloud.calls()] == ["drift"]
    assert cloud.calls()[0][2] == str(tmp_path / "records" / "dev")  # previewed from the record
    (entry,) = reconciles(state)
    assert entry["stage"] == "dev" and entry["release"] == "r-1"
    assert (entry["status"], entry["outcome"], entry["drifted"]) == ("completed", "in sync", False)


def test_dev_is_healed_live_proposed_test_reported(state, cloud, tmp_path) -> None:
    for stack in ("dev", "test", "live"):
        cloud.drift_out_of_band(stack)
    results = reconciler(state, cloud, tmp_path).run([DEV, TEST, LIVE])
    assert {r.stack: r.outcome for r in results} == {
        "dev": Outcome.HEALED,
        "test": Outcome.REPORTED,
        "live": Outcome.PROPOSED,
    }
    # Only dev was changed, with the policy pack, and previewed again after its heal.
    assert [c for c in cloud.calls() if c[0] == "heal"] == [["heal", "dev", "policies"]]
    assert [c[1] for c in cloud.calls() if c[0] == "drift"] == ["dev", "dev", "test", "live"]
    entries = {e["stage"]: e for e in reconciles(state)}
    assert entries["dev"]["outcome"] == "healed" and entries["dev"]["drifted"] is True
    assert entries["dev"]["drift"] == [
        {
            "urn": results[0].changes[0].urn,
            "type": results[0].changes[0].type,
            "op": "create",
            "paths": [],
        }
    ]
    assert entries["live"]["outcome"] == "proposed"
    assert "reconcile --stage live --approve --approver NAME" in entries["live"]["detail"]
    assert entries["test"]["outcome"] == "reported" and entries["test"]["remedy"] == "report"
    assert len({e["reconcile"] for e in entries.values()}) == 1  # one run, one id
    assert state.verify().ok
    # A reconcile entry is no promotion: nothing looks unfinished or newly verified.
    view = LedgerView(state.decisive())
    assert view.unfinished("p") is None and view.last_verified("dev") is None


def test_an_approved_proposal_heals_and_names_its_approver(state, cloud, tmp_path) -> None:
    cloud.drift_out_of_band("live")
    (result,) = reconciler(state, cloud, tmp_path, approver="ops@example.com").run([LIVE])
    assert result.outcome is Outcome.HEALED
    (entry,) = reconciles(state)
    assert entry["approver"] == "ops@example.com" and entry["remedy"] == "propose"


@pytest.mark.parametrize(
    ("fault", "ok", "says"),
    [
        ("heal", True, "heal failed: dev: up --refresh failed"),
        (None, False, "verification failed: dev answers 500"),
        ("sticky", True, "after the heal still 1 to create"),
    ],
)
def test_a_heal_that_does_not_take_is_a_failure(
    state, cloud, tmp_path, fault: str | None, ok: bool, says: str
) -> None:
    cloud.drift_out_of_band("dev")
    if fault:
        cloud.fault("dev", fault)
    (result,) = reconciler(state, cloud, tmp_path, ok=ok).run([DEV])
    assert result.outcome is Outcome.HEAL_FAILED and says in result.detail, result.detail
    (entry,) = reconciles(state)
    assert entry["status"] == "failed" and entry["drifted"] is True


def test_a_stage_whose_baseline_or_preview_fails_is_not_changed(state, cloud, tmp_path) -> None:
    cloud.fault("dev", "preview")
    never = Stage(stack="new", auto_promote=True)
    results = reconciler(state, cloud, tmp_path).run([DEV, never])
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert "engine exploded" in results[0].detail and "has no stacks/" in results[1].detail
    assert not [c for c in cloud.calls() if c[0] == "heal"]
    assert [e["status"] for e in reconciles(state)] == ["failed", "failed"]


def test_a_held_pipeline_lock_leaves_every_stage_alone(state, cloud, tmp_path) -> None:
    cloud.drift_out_of_band("dev")
    owner = LockOwner(host=socket.gethostname(), pid=os.getppid(), started="2026-01-01T00:00:00")
    state.locks["p"] = owner  # a live process on this host: not stale
    results = reconciler(state, cloud, tmp_path).run([DEV, LIVE])
    assert [r.outcome for r in results] == [Outcome.LEFT_ALONE] * 2
    assert cloud.calls() == []  # not even previewed: a promotion may be mid-update
    assert "p" in state.locks and state.locks["p"].pid == os.getppid()
    entries = reconciles(state)
    assert [e["status"] for e in entries] == ["skipped", "skipped"]
    assert "pipeline lock" in entries[0]["detail"]


def test_an_unfinished_promotion_leaves_every_stage_alone(state, cloud, tmp_path) -> None:
    state.append(
        to_append(
            filled(
                {
                    "promotion": "p-2",
                    "pipeline": "p",
                    "release": "r-2",
                    "step": "start",
                    "target": "live",
                }
            )
        )
    )
    cloud.drift_out_of_band("dev")
    results = reconciler(state, cloud, tmp_path).run([DEV])
    assert results[0].outcome is Outcome.LEFT_ALONE
    assert "p-2" in results[0].detail and cloud.calls() == []


def test_the_reconciler_takes_and_returns_the_lock(state, cloud, tmp_path) -> None:
    seen: list[bool] = []
    engine_drift = cloud.drift

    def drift(stack: str, source: Path) -> Any:
        seen.append("p" in state.locks)  # held while it compares
        return engine_drift(stack, source)

    cloud.drift = drift  # type: ignore[method-assign]
    reconciler(state, cloud, tmp_path).run([DEV])
    assert seen == [True] and "p" not in state.locks


def test_metrics_count_drift_events_per_stage(state, cloud, tmp_path) -> None:
    cloud.drift_out_of_band("dev")
    reconciler(state, cloud, tmp_path).run([DEV, LIVE])  # dev drifted and healed, live in sync
    cloud.drift_out_of_band("dev")
    cloud.fault("dev", "heal")
    reconciler(state, cloud, tmp_path).run([DEV])
    entries = state.entries()
    assert drift_metrics(entries, "dev", 30) == {
        "reconciles": 2,
        "driftEvents": 2,
        "driftHealed": 1,
    }
    assert drift_metrics(entries, "live", 30) == {
        "reconciles": 1,
        "driftEvents": 0,
        "driftHealed": 0,
    }
