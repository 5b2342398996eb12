"""Promotion: orchestration time per stage (engine excluded) and a rehearsal of every stage."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.definition import PipelineFile, load_pipeline
from pipeline.naming import project_name, temp_prefix
from pipeline.promote.deployer import PolicyOptions, PolicyResult, Preview, ReleaseConfig
from pipeline.promote.memory import MemoryState
from pipeline.promote.offline import release_config_of
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request, stage_policy
from pipeline.promote.rehearsal import rehearse
from pipeline.promote.release import make_release
from pipeline.promote.state import PromotionState
from pipeline.promote.verification import VerifyResult
from pipeline.record.local import LocalGitState

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACKS = ("dev", "test", "staging", "live")
ORCHESTRATION_TARGET = 0.2  # seconds per stage
REHEARSAL_TARGET = 5.0  # seconds for all four stages
ROUNDS = 5


class InstantDeployer:
    """Answers at once and clocks itself, so engine time can be subtracted exactly."""

    def __init__(self, stacks_dir: Path) -> None:
        from components.spec import read_stack

        self.config = {s: release_config_of(read_stack(stacks_dir, s)) for s in STACKS}
        self.deployed = dict(self.config)
        self.engine = 0.0

    def _timed(self, started: float) -> None:
        self.engine += time.perf_counter() - started

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        started = time.perf_counter()
        previous, self.config[stack] = self.config[stack], config
        self._timed(started)
        return previous

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        # The preview gate holds a stage whose policy did not run (fail closed); the pack's own
        # time is bench.policy's, so here it answers as a clean pack would.
        return Preview([], PolicyResult("passed", note="bench: pack not run"), f"plan-{stack}")

    def up(self, stack: str, preview: Preview) -> None:
        self.deployed[stack] = self.config[stack]

    def outputs(self, stack: str) -> Mapping[str, Any]:
        started = time.perf_counter()
        deployed = self.deployed[stack]
        digests = {s: i.rsplit("@", 1)[1] for s, i in deployed.images.items()}
        self._timed(started)
        return {"release": deployed.release, "digests": digests}

    def pending_operations(self, stack: str) -> list[str]:
        return []

    def use_source(self, stack: str, source: Callable[[], Path | None]) -> None:
        """Deploys the checkout it was given, whatever the release's commit."""


def _release(state: PromotionState, seed: int) -> str:
    images = {
        s: f"ghcr.io/{project_name()}/{s}@sha256:{seed:060d}{i:04d}"
        for i, s in enumerate(("api", "web"))
    }
    release, _ = state.save_release(make_release(PROJECT_DIR, images))
    return release.id


def _unsoaked(definition: PipelineFile) -> PipelineFile:
    """The pipelines without soak times: the soak gate runs on the real clock, and waiting a
    day is not what this measures (the gate is still evaluated)."""
    pipelines = {}
    for name, pipeline in definition.pipelines.items():
        stages = tuple(s.model_copy(update={"soak_minutes": 0}) for s in pipeline.stages)
        pipelines[name] = pipeline.model_copy(update={"stages": stages})
    return definition.model_copy(update={"pipelines": pipelines})


def in_memory() -> Callable[[Path], PromotionState]:
    """Opens one MemoryState per directory (each opening of a directory finds what the one
    before recorded, as a command opening ``--state-dir`` does)."""
    opened: dict[Path, MemoryState] = {}

    def open_state(state_dir: Path) -> PromotionState:
        return opened.setdefault(state_dir, MemoryState(state_dir))

    return open_state


def orchestration(
    workdir: Path, name: str, opener: Callable[[Path], PromotionState]
) -> list[float]:
    """Seconds of orchestration per stage for a dev-to-live promotion, engine time removed, over
    the state ``opener`` opens on a fresh directory."""
    per_stage = []
    definition = load_pipeline(PROJECT_DIR / "stacks")
    for round_ in range(ROUNDS):
        state = workdir / f"{name}{round_}"
        release = _release(opener(state), round_)
        deployer = InstantDeployer(PROJECT_DIR / "stacks")
        verify_time = 0.0

        def verify(stage: str, outputs: Mapping[str, Any], rid: str) -> VerifyResult:
            nonlocal verify_time
            started = time.perf_counter()
            result = VerifyResult(outputs.get("release") == rid, "instant")
            verify_time += time.perf_counter() - started
            return result

        for target in ("staging", "live"):
            orchestrator = Orchestrator(
                deployer, _unsoaked(definition), opener(state), verify=verify
            )
            started = time.perf_counter()
            outcome = orchestrator.promote(Request(release, target, approver="bench"))
            elapsed = time.perf_counter() - started
            assert outcome.code == EXIT_OK, outcome.message
            stages = 3 if target == "staging" else 1
            engine = deployer.engine + verify_time
            deployer.engine = verify_time = 0.0
            per_stage += [(elapsed - engine) / stages] * stages
    return per_stage


def rehearsal(workdir: Path) -> tuple[list[float], str]:
    state = MemoryState(workdir / "rehearsal")
    release = _release(state, 99)
    definition = load_pipeline(PROJECT_DIR / "stacks")
    policy = stage_policy(PROJECT_DIR, None, None)
    times, note = [], ""
    for _ in range(3):
        started = time.perf_counter()
        report = rehearse(
            PROJECT_DIR,
            PROJECT_DIR / "stacks",
            state,
            definition,
            Request(release, "live"),
            policy=policy,
        )
        times.append(time.perf_counter() - started)
        note = ", ".join(f"{s.stack}: policy {s.policy['status']}" for s in report.stages)
    return times, note


def run() -> str:
    workdir = Path(tempfile.mkdtemp(prefix=temp_prefix("bench-promote")))
    try:
        per_stage = orchestration(workdir, "memory", in_memory())
        recorded = orchestration(workdir, "git", LocalGitState)
        rehearsals, note = rehearsal(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    median = statistics.median(per_stage)
    git_median = statistics.median(recorded)
    git_verdict = "meets" if git_median <= ORCHESTRATION_TARGET else "misses"
    worst = max(per_stage)
    first, warm = rehearsals[0], statistics.median(rehearsals[1:])
    verdict = "meets" if median <= ORCHESTRATION_TARGET else "misses"
    rehearsal_verdict = "meets" if first <= REHEARSAL_TARGET else "misses"
    return "\n".join(
        [
            "## Promotion",
            "",
            f"Orchestration per stage, engine excluded ({ROUNDS} dev-to-live promotions with an"
            " instant deployer; ledger appends, lock, eligibility and gates included):"
            f" median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms; target"
            f" {ORCHESTRATION_TARGET * 1000:.0f} ms: {verdict}. That is over the tests' double"
            " in memory (MemoryState); over the git record `--state-dir` opens (LocalGitState: a"
            " commit per entry written into its bare repository, whose ref moves by"
            f" compare-and-swap) the median is {git_median * 1000:.1f} ms,"
            f" {git_median / median:.1f} times the double's: {git_verdict} the target.",
            "",
            f"Rehearsal of all four stages (8 renders under the mock runtime, policy pack): first"
            f" run {first:.2f} s (fork server and pack start included), then median"
            f" {warm:.2f} s; target {REHEARSAL_TARGET:.0f} s: {rehearsal_verdict} ({note}).",
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
