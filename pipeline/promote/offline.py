"""A deployer backed by the offline renderer: no cloud, no CLI, real desired-state diffs.

It works on a private copy of the stack files. "Deployed" state is the render of a stack as it
was when first read (what the stack file says it runs); ``set_images`` edits the copy, ``preview``
renders it and diffs against the deployed state, ``up`` adopts the previewed render. Rehearsals
and tests use it; it never touches the real stacks.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.spec.bounded import dump_yaml
from components.spec.loader import PROJECT
from components.spec.stackfile import StackConfig, read_stack, stack_file
from pipeline.promote.deployer import (
    DeployError,
    PolicyOptions,
    PolicyResult,
    Preview,
    ReleaseConfig,
)
from pipeline.promote.diff import desired_state_diff
from pipeline.promote.policy import check_render
from pipeline.render import StageRender, render_stages


def copy_stacks(stacks_dir: Path, workdir: Path) -> Path:
    """Copy the stack files (and Pulumi.yaml beside them) into ``workdir``; return the copy."""
    workdir.mkdir(parents=True, exist_ok=True)
    project_file = stacks_dir.parent / "Pulumi.yaml"
    if project_file.exists():
        shutil.copy(project_file, workdir / "Pulumi.yaml")
    target = workdir / "stacks"
    shutil.copytree(stacks_dir, target, dirs_exist_ok=True)
    return target


def write_release_config(stacks_dir: Path, stack: str, config: ReleaseConfig) -> ReleaseConfig:
    """Set ``stageline:release`` and ``stageline:images`` in a stack file; return the old ones."""
    path = stack_file(stacks_dir, stack)
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = doc.setdefault("config", {})
    previous = ReleaseConfig(
        str(values.get(f"{PROJECT}:release", "unreleased")),
        dict(values.get(f"{PROJECT}:images") or {}),
    )
    values[f"{PROJECT}:release"] = config.release
    values[f"{PROJECT}:images"] = dict(sorted(config.images.items()))
    path.write_text(dump_yaml(doc), encoding="utf-8")
    return previous


def release_config_of(config: StackConfig) -> ReleaseConfig:
    images = json.loads(config.values.get(f"{PROJECT}:images", "{}"))
    return ReleaseConfig(config.values.get(f"{PROJECT}:release", "unreleased"), images)


class RenderedPlans:
    """What every offline deployer shares: ``deployed`` renders (what each stack runs) and the
    render each preview saved under a plan id; ``up`` adopts the render of that plan only,
    as the engine holds an update to its saved plan. Subclasses say how a stack renders."""

    def __init__(self) -> None:
        self.deployed: dict[str, StageRender] = {}
        self._previewed: dict[str, tuple[str, StageRender]] = {}

    def _save_plan(self, stack: str, desired: StageRender) -> str:
        plan = f"offline-plan-{uuid.uuid4().hex[:12]}"
        self._previewed[stack] = (plan, desired)
        return plan

    def desired(self, stack: str) -> StageRender:
        """The render the last preview of ``stack`` made (what ``up`` would adopt)."""
        return self._previewed[stack][1]

    def up(self, stack: str, preview: Preview) -> None:
        plan, desired = self._previewed.get(stack, ("", None))
        if desired is None or plan != preview.plan:
            raise DeployError(f"{stack}: no saved plan {preview.plan!r}; preview first")
        self.deployed[stack] = desired
        del self._previewed[stack]

    def pending_operations(self, stack: str) -> list[str]:
        return []


class OfflineDeployer(RenderedPlans):
    """The Deployer protocol over the mock renderer and a private copy of the stacks."""

    def __init__(
        self,
        project_dir: Path,
        stacks_dir: Path,
        workdir: Path,
        jobs: int | None = None,
        policy: Callable[[str, StageRender, Mapping[str, str]], PolicyResult] | None = None,
    ) -> None:
        super().__init__()
        self.project_dir = project_dir
        self.policy = policy
        self.stacks_dir = copy_stacks(stacks_dir, workdir)
        self.jobs = jobs

    def config(self, stack: str) -> StackConfig:
        return read_stack(self.stacks_dir, stack)

    def render(self, stacks: Iterable[str]) -> dict[str, StageRender]:
        configs = [self.config(s) for s in stacks]
        renders = render_stages(self.project_dir, configs, jobs=self.jobs)
        for stack, result in renders.items():
            if result.error:
                raise DeployError(f"{stack}: the program failed: {result.error}")
        return renders

    def prime(self, stacks: Iterable[str]) -> None:
        """Render the stacks' current config as their deployed state (one parallel batch)."""
        missing = [s for s in stacks if s not in self.deployed]
        if missing:
            self.deployed.update(self.render(missing))

    # ------------------------------------------------------------------ Deployer

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        self.prime([stack])  # the deployed state is what the stack ran before this change
        self._previewed.pop(stack, None)
        return write_release_config(self.stacks_dir, stack, config)

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        self.prime([stack])
        desired = self.render([stack])[stack]
        plan = self._save_plan(stack, desired)
        changes = desired_state_diff(self.deployed[stack].resources, desired.resources)
        if self.policy is None:  # the pack and config the orchestrator names, as plan runs them
            result = check_render(policy, stack, desired, self.config(stack).values)
        else:
            result = self.policy(stack, desired, self.config(stack).values)
        return Preview(changes, result, plan)

    def use_source(self, stack: str, source: Callable[[], Path | None]) -> None:
        """Every stack renders with ``project_dir``'s code: a release's own commit is not used."""

    def outputs(self, stack: str) -> Mapping[str, Any]:
        self.prime([stack])
        return self.deployed[stack].outputs
