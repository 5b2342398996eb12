"""The engine lane: the Pulumi CLI built from source (tools/engine) with stand-in providers.

Every test here runs the real engine on a copy of the project with a `file://` backend and a
passphrase secrets provider (tools/standin/sandbox.py). Run with `pytest -m engine`; `make test`
builds the engine first. Without Go and without a compatible `pulumi` on PATH the lane is skipped
with the reason, and `make engine-lane` says so loudly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "standin"))

from sandbox import EngineUnavailableError, Sandbox, engine_bin  # noqa: E402

from pipeline.promote.automation import AutomationDeployer  # noqa: E402

STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml")
    for p in (ROOT / "stacks").glob("Pulumi.*.yaml")
)


@pytest.fixture(scope="session")
def engine() -> Path:
    try:
        return engine_bin()
    except EngineUnavailableError as exc:
        pytest.skip(f"ENGINE LANE NOT RUN: {exc}")


@pytest.fixture(scope="session")
def shared(engine: Path, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """One sandbox for tests that only read: every stack initialised once."""
    sandbox = Sandbox.create(ROOT, tmp_path_factory.mktemp("engine"), engine)
    for stack in STACKS:
        sandbox.init(stack)
    return sandbox


@pytest.fixture
def fresh(engine: Path, tmp_path: Path) -> Sandbox:
    """A sandbox of one's own, for tests that change the project or deploy."""
    return Sandbox.create(ROOT, tmp_path, engine)


@pytest.fixture
def automation(fresh: Sandbox, monkeypatch: pytest.MonkeyPatch) -> AutomationDeployer:
    """The real deployer, pointed at the sandbox through the environment the CLI reads."""
    for key, value in fresh.env.items():
        monkeypatch.setenv(key, value)
    fresh.init("dev")
    return AutomationDeployer(fresh.project, fresh.project.parent / "plans")


def offline_plan(project: Path, *stacks: str) -> dict:
    """`python -m pipeline plan --format json` of the given stacks, run in `project`."""
    args = [sys.executable, "-m", "pipeline", "plan", "--format", "json"]
    for stack in stacks:
        args += ["--stack", stack]
    out = subprocess.run(args, cwd=project, capture_output=True, text=True, env=os.environ.copy())
    assert out.stdout, out.stderr
    return json.loads(out.stdout)
