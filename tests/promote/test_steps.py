"""The steps of a stage as registered units (pipeline.promote.steps): each step's run on a small
context (success, failure and what its failure does, what completes it on resume), and the stage
runner over the registered tuple, with one more step added the way a new step is added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from pipeline.definition import Stage
from pipeline.promote.deployer import (
    DeployError,
    PolicyOptions,
    PolicyResult,
    Preview,
    ReleaseConfig,
    StackBusyError,
)
from pipeline.promote.entries import LedgerEntry, read_entry
from pipeline.promote.images import CopyError, ImageCopy
from pipeline.promote.model import Direction, StageOutcome, StepName, StepStatus
from pipeline.promote.release import Release, ReleaseError
from pipeline.promote.runner import StageRunner
from pipeline.promote.steps import (
    STEPS,
    FailureAction,
    OnFailure,
    Services,
    StageContext,
    StepResult,
)
from pipeline.promote.steps.copy_images import CopyImages
from pipeline.promote.steps.gate import Gate
from pipeline.promote.steps.preview import Preview as PreviewStep
from pipeline.promote.steps.set_images import SetImages
from pipeline.promote.steps.up import Up
from pipeline.promote.steps.verify import Verify
from pipeline.promote.verification import VerifyResult
from pipeline.promote.walk import Walk

OLD = ReleaseConfig("r-old", {"api": "reg.example/api@sha256:" + "0" * 64})
NEW = Release(
    "r-new", {"api": "reg.example/api@sha256:" + "1" * 64}, "c0ffee", "t", False, "p", "t0"
)
TARGET = ReleaseConfig(NEW.id, NEW.images)
PASSED = PolicyResult("passed")


class Engine:
    """A deployer double for one stack: its config, what it runs, a fault per method."""

    def __init__(self, **faults: Exception) -> None:
        self.config = OLD
        self.running = OLD
        self.faults = faults
        self.calls: list[str] = []
        self.policy = PASSED
        self.extra_outputs: dict[str, Any] = {}

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if method in self.faults:
            raise self.faults[method]

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        self._call("set_images")
        previous, self.config = self.config, config
        return previous

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        self._call("preview")
        return Preview([], self.policy, "plan-1")

    def up(self, stack: str, preview: Preview) -> None:
        self._call("up")
        self.running = self.config

    def outputs(self, stack: str) -> Mapping[str, Any]:
        self._call("outputs")
        digests = {s: i.rsplit("@", 1)[-1] for s, i in self.running.images.items()}
        return {"release": self.running.release, "digests": digests, **self.extra_outputs}

    def pending_operations(self, stack: str) -> list[str]:
        return []

    def use_source(self, stack: str, source: Any) -> None:
        self.calls.append("use_source")


class NoReleases:
    def get(self, release: str) -> Release:
        raise ReleaseError(f"no release {release}")

    def all(self) -> list[Release]:
        return []


@dataclass
class Record:
    """The shared record as the runner uses it: entries appended, with a stage record."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Any] = field(default_factory=list)
    releases: NoReleases = field(default_factory=NoReleases)

    def append(self, entry: LedgerEntry, change: Any = None) -> LedgerEntry:
        self.entries.append(entry.fields())
        self.changes.append(change)
        return entry

    def decisive(self) -> list[LedgerEntry]:
        return [read_entry(e) for e in self.entries]


class Copier:
    def __init__(self, fault: CopyError | None = None) -> None:
        self.fault = fault

    def present(self, image: ImageCopy) -> bool:
        return False

    def copy(self, image: ImageCopy) -> str:
        if self.fault:
            raise self.fault
        return image.destination


def healthy(stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
    ok = outputs.get("release") == release
    return VerifyResult(ok, f"{stage} runs {outputs.get('release')}")


def context(
    engine: Engine, *, done: set[str] | None = None, images: Copier | None = None
) -> tuple[StageContext, list[tuple[str, dict[str, Any]]]]:
    said: list[tuple[str, dict[str, Any]]] = []
    services = Services(
        engine,  # type: ignore[arg-type]
        Record(),  # type: ignore[arg-type]
        lambda event, **fields: said.append((event, fields)),
        lambda stack: PolicyOptions(None, None),
        healthy,
        lambda commands, stack, release, outputs: VerifyResult(True, "commands passed"),
        images,
    )
    walk = Walk("main", NEW, [Stage(stack="dev")], None, {})
    ctx = StageContext(
        services, walk, "p-1", Stage(stack="dev"), Direction.FORWARD, TARGET, done or set()
    )
    return ctx, said


def ran(step: Any, ctx: StageContext) -> StepResult:
    """Start, then run when it started: what the runner does with a step."""
    started = step.start(ctx)
    return step.run(ctx) if started.status is StepStatus.STARTED else started


def test_the_registered_steps_run_in_the_stage_order():
    names = [step.name for step in STEPS]
    assert names == [
        StepName.SET_IMAGES,
        StepName.COPY_IMAGES,
        StepName.PREVIEW,
        StepName.GATE,
        StepName.UP,
        StepName.VERIFY,
    ]


# Each step: the engine fault that fails it, the message and what its failure does.
FAILURES = [
    (SetImages(), {"set_images": DeployError("boom")}, "set-images failed: boom", "stop"),
    (PreviewStep(), {"preview": DeployError("boom")}, "preview failed: boom", "restore"),
    (
        PreviewStep(),
        {"preview": StackBusyError("held")},
        "stack locked by another update (held)",
        "restore",
    ),
    (Up(), {"up": DeployError("boom")}, "up failed: boom", "roll back"),
    (Up(), {"up": StackBusyError("held")}, "stack locked by another update (held)", "restore"),
    (Verify(), {"outputs": DeployError("gone")}, "cannot read stack outputs: gone", "roll back"),
]


@pytest.mark.parametrize(("step", "faults", "message", "action"), FAILURES)
def test_a_failed_step_says_why_and_what_its_failure_does(step, faults, message, action):
    ctx, _ = context(Engine())
    ctx.previous = OLD
    ctx.policy = PolicyOptions(None, None)
    ctx.preview = Preview([], PASSED, "plan-1")
    ctx.services.deployer.faults = faults  # type: ignore[attr-defined]
    result = ran(step, ctx)
    assert result.status is StepStatus.FAILED, result
    assert result.message == message
    assert (result.on_failure or step.on_failure).action == FailureAction(action)


def test_steps_succeed_in_order_on_a_small_context():
    engine = Engine()
    ctx, _ = context(engine)
    results = [ran(step, ctx) for step in STEPS]
    assert [r.status for r in results] == [
        StepStatus.COMPLETED,
        StepStatus.SKIPPED,  # no image copier: the registries are not real
        StepStatus.COMPLETED,
        StepStatus.COMPLETED,
        StepStatus.COMPLETED,
        StepStatus.COMPLETED,
    ]
    assert results[0].output["previous"] == {"release": "r-old", "images": OLD.images}
    assert ctx.previous == OLD and ctx.preview is not None
    assert results[3].output == {"detail": "only the release changes"}
    assert results[4].change is not None and results[4].change.release == "r-new"
    assert results[5].message == "dev runs r-new"


def test_the_gate_stops_a_policy_that_did_not_run():
    engine = Engine()
    ctx, _ = context(engine)
    ctx.previous = OLD
    ctx.preview = Preview([], PolicyResult("not run", note="no pack"), "plan-1")
    result = Gate().start(ctx)  # the gate decides at once: no started entry
    assert result.status is StepStatus.FAILED
    assert result.message.startswith("preview gate stopped the promotion:")
    assert result.output["findings"] and result.output["diff"] == result.output["findings"]


def test_verify_fails_when_the_stage_runs_another_release():
    ctx, _ = context(Engine())  # never updated: runs r-old
    result = ran(Verify(), ctx)
    assert (result.status, result.message) == (StepStatus.FAILED, "dev runs r-old")
    assert Verify().on_failure == OnFailure(
        FailureAction.ROLL_BACK, StageOutcome.VERIFICATION_FAILED
    )


@pytest.mark.parametrize(
    ("outputs", "copier", "status", "detail"),
    [
        ({}, None, StepStatus.SKIPPED, None),
        ({}, Copier(), StepStatus.SKIPPED, "no repositoryUrls output"),
        (
            {"repositoryUrls": {"api": "reg.example/api"}},
            Copier(),
            StepStatus.SKIPPED,
            "pulled where the release is",
        ),
        ({"repositoryUrls": {"api": "stage.example/api"}}, Copier(), StepStatus.COMPLETED, None),
        (
            {"repositoryUrls": {"api": "stage.example/api"}},
            Copier(CopyError("digest mismatch")),
            StepStatus.FAILED,
            "digest mismatch",
        ),
        ({"repositoryUrls": {"web": "stage.example/web"}}, Copier(), StepStatus.FAILED, None),
    ],
)
def test_copy_images(outputs, copier, status, detail):
    engine = Engine()
    engine.extra_outputs = outputs
    ctx, _ = context(engine, images=copier)
    result = ran(CopyImages(), ctx)
    assert result.status is status, result
    if detail is not None:
        assert result.output["detail"] == detail
    if status is StepStatus.FAILED:
        assert result.message.startswith("image copy failed:")
        assert CopyImages().on_failure.action is FailureAction.RESTORE
    if status is StepStatus.COMPLETED:
        assert result.output["copied"] == [
            "api: copied, arrived as stage.example/api@sha256:" + "1" * 64
        ]


# What completes each step on resume: (steps completed before, the ledger knows what
# set-images replaced) -> None (run it again) or the status resuming it gives.
RESUMES = [
    (SetImages(), set(), True, None),
    (SetImages(), {"set-images"}, False, None),  # the ledger lost what it replaced: redo
    (SetImages(), {"set-images"}, True, StepStatus.SKIPPED),  # re-pinned, not recorded
    (SetImages(), {"set-images", "up"}, True, StepStatus.SKIPPED),
    (CopyImages(), {"set-images", "copy-images"}, True, None),  # copied again before preview
    (PreviewStep(), {"set-images", "preview"}, True, None),  # a new preview, a new plan
    (Gate(), {"set-images", "preview", "gate"}, True, None),
    (Up(), {"set-images", "preview", "gate", "up"}, True, StepStatus.SKIPPED),
    (CopyImages(), {"set-images", "up"}, True, StepStatus.SKIPPED),
    (PreviewStep(), {"set-images", "up"}, True, StepStatus.SKIPPED),
    (Gate(), {"set-images", "up"}, True, StepStatus.SKIPPED),
    (Verify(), {"set-images", "up", "verify"}, True, None),  # the stage runner skips it
]


@pytest.mark.parametrize(("step", "done", "known", "status"), RESUMES)
def test_what_completes_a_step_on_resume(step, done, known, status):
    engine = Engine()
    ctx, _ = context(engine, done=done)
    ctx.previous = OLD if known else None
    result = step.resume(ctx)
    assert (result.status if result else None) is status
    repinned = isinstance(step, SetImages) and done == {"set-images"} and known
    assert engine.calls == (["set_images"] if repinned else [])


def test_a_resumed_set_images_that_cannot_pin_again_stops():
    ctx, _ = context(Engine(set_images=DeployError("gone")), done={"set-images"})
    ctx.previous = OLD
    result = SetImages().resume(ctx)
    assert result is not None and result.status is StepStatus.FAILED
    assert result.message == "set-images failed: gone"


class Smoke:
    """A step added the new way: one class (here, in the test) plus one line in the tuple."""

    name = "smoke"
    on_failure = OnFailure(FailureAction.ROLL_BACK, StageOutcome.VERIFICATION_FAILED)

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok

    def resume(self, ctx: StageContext) -> StepResult | None:
        return None

    def start(self, ctx: StageContext) -> StepResult:
        return StepResult.started(detail="smoke test")

    def run(self, ctx: StageContext) -> StepResult:
        if not self.ok:
            return StepResult.failed("smoke test failed", detail="no answer")
        return StepResult.completed("smoke passed", detail="answered")


def runner_with(step: Smoke, engine: Engine) -> tuple[StageRunner, StageContext, list]:
    ctx, said = context(engine)
    return StageRunner(ctx.services, (*STEPS, step)), ctx, said  # type: ignore[arg-type]


def test_a_new_step_is_one_class_and_one_line_and_the_runner_records_it():
    engine = Engine()
    runner, ctx, said = runner_with(Smoke(), engine)
    outcome = runner.stage(ctx.walk, "p-1", ctx.stage, Direction.FORWARD)
    assert (outcome.outcome, outcome.message) == (StageOutcome.VERIFIED, "smoke passed")
    entries = ctx.services.state.entries  # type: ignore[attr-defined]
    assert [(e["step"], e["status"]) for e in entries] == [
        ("set-images", "started"),
        ("set-images", "completed"),
        ("preview", "started"),
        ("preview", "completed"),
        ("gate", "completed"),
        ("up", "started"),
        ("up", "completed"),
        ("verify", "started"),
        ("verify", "completed"),
        ("smoke", "started"),
        ("smoke", "completed"),
    ]
    smoke = entries[-1]
    assert smoke["stage"] == "dev" and smoke["kind"] == "forward" and smoke["detail"] == "answered"
    assert smoke["release"] == "r-new" and smoke["promoting"] == "r-new"
    assert smoke["digests"] == {"api": "sha256:" + "1" * 64}
    # The stage record lands with the completed update, and only with it.
    changes = ctx.services.state.changes  # type: ignore[attr-defined]
    assert [c.release for c in changes if c is not None] == ["r-new"]
    assert changes[6] is not None
    assert (
        "step",
        {
            "stage": "dev",
            "kind": "forward",
            "step": "smoke",
            "status": "completed",
            "detail": "answered",
        },
    ) in said


def test_a_failed_new_step_does_what_it_declares():
    engine = Engine()
    runner, ctx, _ = runner_with(Smoke(ok=False), engine)
    outcome = runner.stage(ctx.walk, "p-1", ctx.stage, Direction.FORWARD)
    # Declared ROLL_BACK: nothing verified before and this promotion replaced r-old, so the
    # stage returns to r-old by the same steps (recorded as kind rollback), then stops.
    entries = ctx.services.state.entries  # type: ignore[attr-defined]
    assert ("smoke", "failed") in [(e["step"], e["status"]) for e in entries]
    rollback = [e for e in entries if e["kind"] == "rollback"]
    assert rollback and rollback[0]["release"] == "r-old"
    assert outcome.outcome is StageOutcome.ROLLBACK_FAILED  # the smoke test fails r-old too
    assert "dev: smoke test failed; rollback to r-old failed" in outcome.message
    assert engine.running == OLD
