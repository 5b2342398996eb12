"""``plan``: render every stage offline and report resources, parity and policy per stage."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import project
from components.spec.stackfile import StackConfig
from pipeline.cache import PolicyCache, RenderCache
from pipeline.early import clouds_hint, stack_files, start_fork_server
from pipeline.parity import ParityReport, parity
from pipeline.render import StageRender, render_stages
from pipeline.stages import Stages, load_stages

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_INVALID = 0, 1, 2


def role_of_urn(urn: str) -> str:
    """The blueprint role in a URN's type chain (``<project>:aws:Database`` -> Database).

    Blueprint components are typed in the project's own package, the URN's second part."""
    parts = urn.split("::")
    chain = parts[2].split("$") if len(parts) > 2 else []
    for token in chain:
        pieces = token.split(":")
        if pieces[0] == parts[1] and pieces[-1] != "Environment":
            return pieces[-1]
    return "Environment"


def role_of(resource: dict[str, Any]) -> str:
    """The blueprint role a resource belongs to, read from its URN's type chain."""
    return role_of_urn(str(resource["urn"]))


@dataclass
class Plan:
    stages: Stages
    renders: dict[str, StageRender]
    parity: ParityReport
    policy: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Policy findings per stack: [{"policy", "enforcement", "severity", "urn", "message"}]."""
    compliance: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per stack: the stage's rules run and passed, advisory and mandatory finding counts."""

    @property
    def render_errors(self) -> dict[str, str]:
        return {s: r.error for s, r in self.renders.items() if r.error}

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [v for vs in self.policy.values() for v in vs if v["enforcement"] == "mandatory"]

    def exit_code(self) -> int:
        if self.render_errors:
            return EXIT_INVALID
        if self.parity.violations or self.mandatory:
            return EXIT_VIOLATIONS
        return EXIT_CLEAN

    def roles(self, stack: str) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {}
        for resource in self.renders[stack].resources:
            if resource["custom"]:
                counts.setdefault(role_of(resource), Counter())[resource["type"]] += 1
        return {role: dict(sorted(c.items())) for role, c in sorted(counts.items())}

    def to_json(self) -> dict[str, Any]:
        stacks: dict[str, Any] = {}
        for stack, render in self.renders.items():
            spec = self.stages.specs[stack]
            stacks[stack] = {
                "stage": spec.identity.stage,
                "cloud": spec.identity.cloud,
                "pipeline": self.stages.definition.pipeline_of(stack),
                "source": render.source,
                "error": render.error,
                "roles": self.roles(stack),
                "resources": render.resources,
                "outputs": render.outputs,
                "violations": self.policy.get(stack, []),
            }
        return {"stacks": stacks, "parity": self.parity.to_json(), "exitCode": self.exit_code()}


@dataclass(frozen=True)
class Mark:
    """A moment of a plan's run, for benchmarks and for the tests that prove overlap."""

    event: str
    """"pack launched", "render started", "render finished", "policy started", "policy done"."""
    stack: str
    """The stage's stack; empty for the pack."""
    at: float
    """``time.monotonic()``: CLOCK_MONOTONIC, one clock for every process of the machine."""


def make_plan(
    project_dir: Path,
    stacks_dir: Path,
    selected: list[str] | None = None,
    jobs: int | None = None,
    policy: bool = True,
    progress: Callable[[str, str, int], None] | None = None,
    cache: RenderCache | None = None,
    timeline: list[Mark] | None = None,
) -> Plan:
    """Validate, render, compare and check policy; raises StagesError before rendering on bad
    config, PolicyPackError or PolicyConfigError if the policy pack cannot judge the stages.
    ``progress(phase, stack, total)`` as each stage is rendered and checked; ``cache`` serves
    stages whose inputs have not changed since they were last rendered; ``timeline`` receives
    a Mark for the pack's launch and each stage's render and policy check.

    Each stage's policy is checked as soon as its render arrives, while the other stages still
    render: on two cores the last stage's check is all that is left once rendering ends."""
    from pipeline.policy.check import pack_for_plan

    marks: list[Mark] = timeline if timeline is not None else []
    # The SDK imports (the fork server) and the pack boot while the stage files load: one
    # pack process for the whole plan, stopped on the way out whatever happens. With a cache,
    # both wait until a stage may miss it (its stack file's bytes were never stored, or its
    # stored render is gone): a warm plan on two cores must not pay for SDKs it will not use.
    cold = cache is None or not cache.seen.all_seen(stack_files(stacks_dir, selected))
    if cold:
        start_fork_server(clouds_hint(project_dir, stacks_dir, selected))
    with ExitStack() as running:
        pack = None

        def launch() -> Any:
            started = running.enter_context(pack_for_plan(project_dir))
            if started is not None and started.process.launched is not None:
                marks.append(Mark("pack launched", "", started.process.launched))
            return started

        if cold and policy:
            pack = launch()
        stages = load_stages(stacks_dir, selected)
        total = len(stages.configs)
        configs = list(stages.configs.values())
        checked = PolicyCache(cache, project_dir) if cache is not None and policy else None
        if cache is not None:
            missing = [c for c in configs if not cache.has(c)]
            if missing:
                start_fork_server(
                    {str(c.values.get(project.key("cloud", project_dir), "aws")) for c in missing}
                )
            if pack is None and checked is not None and not all(checked.has(c) for c in configs):
                pack = launch()

        def step(phase: str) -> Callable[[str], None] | None:
            return None if progress is None else lambda stack: progress(phase, stack, total)

        def pack_now() -> Any:
            # A stored result that vanished since the check above: start the pack after all.
            nonlocal pack
            if pack is None:
                pack = launch()
            return pack

        checking = _PolicyChecks(stages.configs, pack_now, checked, step("checking policy"), marks)

        def ready(render: StageRender) -> None:
            if render.started is not None and render.finished is not None:
                marks.append(Mark("render started", render.stack, render.started))
                marks.append(Mark("render finished", render.stack, render.finished))
            if policy and not render.error:
                checking.check(render)

        done = step("rendering stages")
        if cache is None:
            renders = render_stages(project_dir, configs, jobs=jobs, done=done, ready=ready)
        else:
            renders = cache.render(
                configs,
                lambda missing, stored: render_stages(
                    project_dir, missing, jobs=jobs, done=done, ready=stored
                ),
                done=done,
                ready=ready,
            )
        ok = {s: r for s, r in renders.items() if not r.error}
        plan = Plan(stages, renders, parity(ok, stages.specs, stages.definition))
        for stack in ok:  # in the stages' order, whatever order their renders arrived in
            if stack in checking.findings:
                plan.policy[stack] = checking.findings[stack]
                plan.compliance[stack] = checking.compliance[stack]
    return plan


class _PolicyChecks:
    """Each rendered stage's findings and compliance: stored ones when the stage and the pack
    are unchanged, the pack's for the rest (then stored)."""

    def __init__(
        self,
        configs: dict[str, StackConfig],
        pack: Callable[[], Any],
        checked: PolicyCache | None,
        done: Callable[[str], None] | None,
        marks: list[Mark],
    ) -> None:
        self.configs = configs
        self.pack = pack
        self.checked = checked
        self.done = done
        self.marks = marks
        self.findings: dict[str, list[dict[str, Any]]] = {}
        self.compliance: dict[str, dict[str, Any]] = {}

    def check(self, render: StageRender) -> None:
        from pipeline.policy.check import check_stages, summary

        stack, config = render.stack, self.configs[render.stack]
        kept = self.checked.get(config) if self.checked is not None else None
        if kept is not None:
            self.findings[stack], self.compliance[stack] = kept["findings"], kept["summary"]
        else:
            self.marks.append(Mark("policy started", stack, time.monotonic()))
            result = check_stages(self.pack(), {stack: render}, {stack: config.values})[stack]
            self.findings[stack], self.compliance[stack] = result.findings(), summary(result)
            self.marks.append(Mark("policy done", stack, time.monotonic()))
            if self.checked is not None:
                self.checked.put(config, self.findings[stack], self.compliance[stack])
        if self.done is not None:
            self.done(stack)
