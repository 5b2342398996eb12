"""``--deployer offline``: a whole promotion on one machine, no cloud and no Pulumi CLI, with the
record and the shared state as real as in CI.

What a stage "runs" is its record: the tip of ``stages/<stack>``, rendered under the mock
runtime by that commit's own code (``python -m`` in a worktree at the tip), or the checkout's
stack file for a stage never promoted. ``set_images`` pins the release in a private copy of the
release's worktree, ``preview`` renders it with the release's own code, checks it with the
stage's policy pack and config (as ``plan`` does) and diffs it against what the stage runs,
``up`` adopts the render; the promotion's record then makes it what the stage
runs. So the record's render is, byte for byte, what the promotion deployed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.promote.deployer import (
    DeployError,
    PolicyOptions,
    PolicyResult,
    Preview,
    ReleaseConfig,
)
from pipeline.promote.diff import desired_state_diff
from pipeline.promote.offline import RenderedPlans
from pipeline.promote.policy import check_render
from pipeline.promote.state import PromotionState
from pipeline.promote.verification import VerifyResult
from pipeline.record.stage import PROJECT_KEY, STACK_FILE, pin_stack_file
from pipeline.render import StageRender

# Run inside a checkout: render with *its* renderer and components, print the graph as JSON.
RENDER_SCRIPT = """
import json, sys
from pathlib import Path
from components.spec.stackfile import read_stack
from pipeline.render import render_stages
stacks, names = Path(sys.argv[1]), sys.argv[2:]
renders = render_stages(Path.cwd(), [read_stack(stacks, n) for n in names])
print(json.dumps({s: r.to_json() for s, r in renders.items()}, sort_keys=True))
"""


def render_checkout(checkout: Path, stacks_dir: Path, stack: str) -> StageRender:
    """Render ``stack`` from ``stacks_dir`` with the code of ``checkout``, in its own process."""
    done = subprocess.run(
        [sys.executable, "-c", RENDER_SCRIPT, str(stacks_dir), stack],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"{stack}: cannot render {checkout}: {last}")
    result = StageRender.from_json(json.loads(done.stdout)[stack])
    if result.error:
        raise DeployError(f"{stack}: the program failed: {result.error}")
    return result


def graph(render: StageRender) -> str:
    """The canonical text of a render: its resources by URN (the engine registers them
    concurrently, so their order varies from run to run) and its outputs. Equal text, equal
    deployment."""
    return canonical(render.resources, render.outputs)


def canonical(resources: list[dict[str, Any]], outputs: Mapping[str, Any]) -> str:
    ordered = sorted(resources, key=lambda r: str(r["urn"]))
    return json.dumps({"resources": ordered, "outputs": dict(outputs)}, sort_keys=True)


class RecordDeployer(RenderedPlans):
    """The Deployer protocol over offline renders, with what each stage runs read from git."""

    def __init__(self, repo: Path, state: PromotionState, workdir: Path) -> None:
        super().__init__()
        self.repo = repo
        self.state = state
        self.workdir = workdir
        self.sources: dict[str, Path] = {}
        self.copies: dict[str, Path] = {}

    def running(self, stack: str) -> StageRender:
        """What the stage runs: its record's render, or the checkout's for a new stage."""
        if stack not in self.deployed:
            tip = self.state.stage_checkout(stack)
            where = tip or self.repo
            self.deployed[stack] = render_checkout(where, where / "stacks", stack)
        return self.deployed[stack]

    def use_source(self, stack: str, source: Callable[[], Path | None]) -> None:
        project_dir = source()
        if project_dir is not None and self.sources.get(stack) != project_dir:
            self.sources[stack] = project_dir
            self.copies.pop(stack, None)

    def _copy(self, stack: str) -> Path:
        """A private copy of the source's stack files, where the release is pinned."""
        if stack not in self.copies:
            source = self.sources.get(stack, self.repo)
            target = self.workdir / f"{stack}-{uuid.uuid4().hex[:8]}" / "stacks"
            shutil.copytree(source / "stacks", target)
            shutil.copy(source / "Pulumi.yaml", target.parent / "Pulumi.yaml")
            self.copies[stack] = target
        return self.copies[stack]

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        outputs = self.running(stack).outputs
        previous = ReleaseConfig(
            str(outputs.get("release", "unreleased")), self._images_of(stack, outputs)
        )
        path = self._copy(stack).parent / STACK_FILE.format(stack=stack)
        path.write_bytes(pin_stack_file(path.read_bytes(), config.release, config.images))
        self._previewed.pop(stack, None)
        return previous

    def _images_of(self, stack: str, outputs: Mapping[str, Any]) -> dict[str, str]:
        """The images the stage runs, from the stack file it was rendered from."""
        from components.spec.stackfile import read_stack

        tip = self.state.stage_checkout(stack)
        values = read_stack((tip or self.repo) / "stacks", stack).values
        images: dict[str, str] = json.loads(values.get(f"{PROJECT_KEY}:images", "{}"))
        return images

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        source = self.sources.get(stack, self.repo)
        desired = render_checkout(source, self._copy(stack), stack)
        plan = self._save_plan(stack, desired)
        changes = desired_state_diff(self.running(stack).resources, desired.resources)
        return Preview(changes, self._policy(stack, desired, policy), plan)

    def _policy(self, stack: str, desired: StageRender, policy: PolicyOptions) -> PolicyResult:
        """The stage's policy pack and config over the render, as ``plan`` checks a stage."""
        from components.spec.stackfile import read_stack

        return check_render(policy, stack, desired, read_stack(self._copy(stack), stack).values)

    def outputs(self, stack: str) -> Mapping[str, Any]:
        return self.running(stack).outputs


def offline_verify(stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
    """Offline there is nothing to call: the rendered stack must report the release."""
    runs = outputs.get("release")
    if runs != release:
        return VerifyResult(False, f"{stage} renders release {runs}, not {release}")
    digests = outputs.get("digests") or {}
    return VerifyResult(True, f"{stage} renders {release} ({len(digests)} digests; offline)")
