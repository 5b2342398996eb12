"""Rehearsal: the whole promotion offline, for a pull request to show what it would do.

The offline renderer stands in for the Automation API. What each stage runs now ("before") comes
from the shared record, never from the checkout's stack files (which keep the bootstrap
release): with the git state, a stage with a record is rendered from ``stages/<stack>`` by that
commit's own code and the release from its own infrastructure commit, exactly as
``--deployer offline`` promotes (pipeline.record.offline); a stage never promoted, or a local
``--state-dir``, renders the checkout's stack file, then a copy with the release's config (two
parallel batches). Per stage the report gives the desired-state diff, the policy result and each
gate's verdict. The walk and its verdicts come from the same planner a promotion uses
(pipeline.promote.planner). Nothing is deployed and nothing is written to the ledger.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline import naming
from pipeline.definition import PipelineFile
from pipeline.promote.deployer import DeployError, PolicyOptions, ReleaseConfig
from pipeline.promote.diff import desired_state_diff, diff_lines
from pipeline.promote.events import Sink, quiet
from pipeline.promote.history import LedgerView
from pipeline.promote.images import plan_copies
from pipeline.promote.model import CommandOutcome, exit_code
from pipeline.promote.offline import OfflineDeployer, release_config_of, write_release_config
from pipeline.promote.policy import not_run, policy_checker
from pipeline.promote.release import Release
from pipeline.promote.resolver import Resolver
from pipeline.promote.state import PromotionState, StateError
from pipeline.promote.steps.gate import preview_findings
from pipeline.promote.walk import Governed, PromotionError, Request
from pipeline.render import StageRender


@dataclass(frozen=True)
class StageRenders:
    """One stage of a rehearsal: what it runs (config and render) and what the release makes it."""

    current: ReleaseConfig
    before: StageRender
    after: StageRender
    values: Mapping[str, str]  # the config the release renders with (for the policy pack)


def checkout_renders(
    deployer: OfflineDeployer,
    walk: list[str],
    current: Mapping[str, ReleaseConfig],
    new: ReleaseConfig,
) -> dict[str, StageRenders]:
    """Both renders from the checkout's stack files (a local state, or stages never promoted)."""
    deployer.prime(walk)  # batch 1: the stages as their stack files stand
    for stack in walk:
        write_release_config(deployer.stacks_dir, stack, new)
    desired = deployer.render(walk)  # batch 2: the stages with the release applied
    return {
        s: StageRenders(current[s], deployer.deployed[s], desired[s], deployer.config(s).values)
        for s in walk
    }


def record_renders(
    state: Any, repo: Path, workdir: Path, walk: list[str], release: Release
) -> dict[str, StageRenders]:
    """Both renders as a promotion with ``--deployer offline`` makes them: before, the stage's
    record (``stages/<stack>``) by its own code; after, the release's infrastructure commit with
    the release pinned."""
    from components.spec.stackfile import read_stack
    from pipeline.record.offline import RecordDeployer

    deployer = RecordDeployer(repo, state, workdir)
    new = ReleaseConfig(release.id, release.images)
    out = {}
    for stack in walk:
        before = deployer.running(stack)
        deployer.use_source(stack, partial(state.source, stack, release.id, release.commit))
        current = deployer.set_images(stack, new)  # what the record says the stage runs
        deployer.preview(stack, PolicyOptions(None, None))
        values = read_stack(deployer.copies[stack], stack).values
        out[stack] = StageRenders(current, before, deployer.desired(stack), values)
    return out


@dataclass
class StageRehearsal:
    stack: str
    current: str
    counts: dict[str, int]
    diff: list[str]
    policy: dict[str, Any]
    gates: list[dict[str, str]]
    copies: list[str] = field(default_factory=list)
    """The image copies promotion would make before the preview (pipeline.promote.images)."""

    @property
    def blocked(self) -> bool:
        return any(g["verdict"] in ("stop", "refuse") for g in self.gates)


@dataclass
class RehearsalReport:
    release: str
    target: str
    pipeline: str
    stages: list[StageRehearsal] = field(default_factory=list)
    seconds: float = 0.0

    def exit_code(self) -> int:
        blocked = any(s.blocked for s in self.stages)
        return exit_code(CommandOutcome.BLOCKED if blocked else CommandOutcome.REHEARSED)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "target": self.target,
            "pipeline": self.pipeline,
            "seconds": round(self.seconds, 3),
            "exitCode": self.exit_code(),
            "stages": [s.__dict__ | {"blocked": s.blocked} for s in self.stages],
        }

    def markdown(self) -> str:
        lines = [
            f"## Rehearsal: {self.release} to {self.target} (pipeline {self.pipeline})",
            "",
            "Offline: rendered under Pulumi's mock runtime; nothing deployed or recorded.",
            "",
        ]
        if not self.stages:
            lines.append(f"Every stage up to {self.target} already runs {self.release}.")
        for stage in self.stages:
            counts = ", ".join(f"{n} {op}" for op, n in stage.counts.items()) or "no resources"
            lines += [f"### {stage.stack} (runs {stage.current})", "", f"Resources: {counts}."]
            note = f" ({stage.policy['note']})" if stage.policy.get("note") else ""
            lines += [f"Policy: {stage.policy['status']}{note}.", "", "| gate | verdict | why |"]
            lines.append("|---|---|---|")
            lines += [f"| {g['gate']} | {g['verdict']} | {g['reason']} |" for g in stage.gates]
            if stage.copies:
                lines += ["", "Images copied by digest before the preview:", ""]
                lines += [f"- `{c}`" for c in stage.copies]
            if stage.diff:
                lines += ["", "```diff", *stage.diff, "```"]
            lines.append("")
        return "\n".join(lines)


def rehearse(
    project_dir: Path,
    stacks_dir: Path,
    state: PromotionState,
    definition: PipelineFile,
    request: Request,
    *,
    policy: Any = None,
    events: Sink = quiet,
    jobs: int | None = None,
    governance: Governed | None = None,
) -> RehearsalReport:
    """Rehearse ``request``; raises PromotionError on bad input, like a real promotion.
    ``governance``: the protected branch, which says whether the release's code was reviewed."""
    started = datetime.now(UTC)
    shared = state
    from_record = shared.stage_branches
    resolver = Resolver(definition, shared, governance=governance)  # what promote checks
    name, pipeline, _ = resolver.target(request)
    release = resolver.release(request)
    order = [s.stack for s in pipeline.stages]
    view = LedgerView(shared.decisive() if shared.verify().ok else [])
    policy_for = policy or (lambda stage: PolicyOptions(None, None))
    report = RehearsalReport(release.id, request.target, name)
    target_index = order.index(request.target)
    with (
        tempfile.TemporaryDirectory(prefix=naming.temp_prefix("rehearsal")) as tmp,
        policy_checker(policy_for(request.target)) as checker,
    ):
        deployer = OfflineDeployer(project_dir, stacks_dir, Path(tmp), jobs=jobs)
        try:
            current = {s: release_config_of(deployer.config(s)) for s in order[: target_index + 1]}
        except SpecError as exc:
            raise PromotionError(f"invalid configuration, nothing rehearsed:\n{exc}") from None

        for stack in current:
            record = shared.stage_record(stack)  # what git says the stage runs, if recorded
            if record is not None:
                current[stack] = ReleaseConfig(record.release, dict(record.images))

        def holds(stack: str) -> str | None:
            return current[stack].release

        planned = resolver.plan(pipeline, request, release, view, holds)
        indices = [order.index(s.stack) for s in planned.stages]
        walk = [order[i] for i in indices]
        events("rehearsal", message=f"{release.id} -> {request.target} via {', '.join(walk)}")
        if not walk:
            return report
        new = ReleaseConfig(release.id, release.images)
        try:
            if from_record:
                renders = record_renders(shared, project_dir, Path(tmp) / "record", walk, release)
            else:
                renders = checkout_renders(deployer, walk, current, new)
        except (DeployError, SpecError, StateError) as exc:
            raise PromotionError(f"a stage did not render, nothing rehearsed: {exc}") from None
        for index in indices:
            stage = pipeline.stages[index]
            stack = stage.stack
            rendered = renders[stack]
            changes = desired_state_diff(rendered.before.resources, rendered.after.resources)
            if checker is not None:
                # Each stage is held to its own stage's policy config, as its promotion is; the
                # pack process is shared (started for the target).
                checker.config_file = policy_for(stack).config
            result = (
                checker(stack, rendered.after, rendered.values)
                if checker is not None
                else not_run("no policy pack (policies/PulumiPolicy.yaml) or harness")
            )
            gates = []
            for verdict in planned.verdicts[stack]:
                outcome: str = verdict.outcome
                if verdict.outcome == "propose":
                    outcome = "by pull request"  # promote proposes it; a reviewer's merge approves
                elif verdict.gate == "approval" and not verdict.ok:
                    outcome = "needs approval"
                elif verdict.gate == "soak" and not verdict.ok:
                    outcome = "hold"
                gates.append({"gate": verdict.gate, "verdict": outcome, "reason": verdict.reason})
            # The gate step's own rule, as promote applies it (without URNs: a pull request)
            findings = preview_findings(changes, rendered.current, new, result, urns=False)
            gates.append(
                {
                    "gate": "preview",
                    "verdict": "stop" if findings else "ok",
                    "reason": "; ".join(findings[:3]) if findings else "only the release changes",
                }
            )
            gates.append(
                {"gate": "verification", "verdict": "not run", "reason": "rehearsal (offline)"}
            )
            counts: dict[str, int] = {}
            for change in changes:
                counts[change.op] = counts.get(change.op, 0) + 1
            report.stages.append(
                StageRehearsal(
                    stack,
                    rendered.current.release,
                    dict(sorted(counts.items())),
                    diff_lines(changes),
                    result.to_json(),
                    gates,
                    [
                        c.describe()
                        for c in plan_copies(
                            release.images,
                            rendered.before.outputs.get("repositoryUrls") or {},
                        )
                    ],
                )
            )
            events(
                "step",
                stage=stack,
                kind="rehearsal",
                step="preview",
                status="failed" if report.stages[-1].blocked else "completed",
                detail=", ".join(f"{g['gate']} {g['verdict']}" for g in gates),
                gates=gates,
            )
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report
