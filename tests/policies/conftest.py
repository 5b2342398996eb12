"""Policy test fixtures: one pack process per test module, the shipped stages rendered once."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pipeline.policy import PolicyHarness, StageCompliance, StageGraph
from pipeline.policy.check import project_of
from pipeline.render import render_stages
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR

PACK_DIR = PROJECT_DIR / "policies"


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyHarness]:
    """The real pack, started as the engine starts it; stopped when the module is done."""
    with PolicyHarness(PACK_DIR) as harness:
        yield harness


@dataclass(frozen=True)
class Shipped:
    """A shipped stage's rendered graph and stack config, to copy and change."""

    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    config: dict[str, str]

    def graph(self, change: Callable[[list[dict[str, Any]]], None] | None = None) -> StageGraph:
        resources = copy.deepcopy(self.resources)
        if change is not None:
            change(resources)
        return StageGraph(
            self.stack, project_of(resources), resources, dict(self.outputs), dict(self.config)
        )


@pytest.fixture(scope="session")
def shipped() -> dict[str, Shipped]:
    """dev and live, rendered once per test process (xdist worker)."""
    stages = load_stages(STACKS_DIR, ["dev", "live"])
    renders = render_stages(PROJECT_DIR, stages.configs.values())
    for stack, render in renders.items():
        assert not render.error, f"{stack} did not render: {render.error}"
    return {
        s: Shipped(s, r.resources, r.outputs, dict(stages.configs[s].values))
        for s, r in renders.items()
    }


def analyze(pack: PolicyHarness, graph: StageGraph) -> StageCompliance:
    return pack.analyze(graph)
