"""The mutation probe: every mutation of the catalog applied to its stage's render, one at a
time, and checked by the running pack over gRPC with the stage's own policy config.

A mutation is caught when the pack reports a mandatory finding, absent from the unmutated
stage, from one of the rules the catalog names for it. The probe fails on a mutation missed (or
caught only by rules the catalog does not name, so the catalog is wrong), on one that does not
apply to the render, and on a rule of a probed substrate that no mutation exercises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.policy.mutation import Catalog, Mutation, apply

if TYPE_CHECKING:
    from pipeline.policy.harness import PolicyHarness

Finding = tuple[str, str, str]  # policy, urn, message


class Verdict(StrEnum):
    CAUGHT = "caught"
    ACCEPTED = "accepted"
    """Missed, with the catalog's reason for accepting it."""
    MISSED = "missed"
    WRONG_RULE = "caught by other rules"
    UNAPPLIED = "does not apply"


FAILURES = frozenset({Verdict.MISSED, Verdict.WRONG_RULE, Verdict.UNAPPLIED})


@dataclass(frozen=True)
class Outcome:
    catalog: Catalog
    mutation: Mutation
    fired: tuple[str, ...]
    """Rules with a new mandatory finding."""
    problem: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.problem is not None:
            return Verdict.UNAPPLIED
        if set(self.fired) & set(self.mutation.rules):
            return Verdict.CAUGHT
        if self.mutation.accepted:
            return Verdict.ACCEPTED
        return Verdict.WRONG_RULE if self.fired else Verdict.MISSED


@dataclass(frozen=True)
class Rendered:
    """A stage's offline render and stack config, as the probe mutates them."""

    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    config: dict[str, str]


def _mandatory(harness: PolicyHarness, stack: str, rendered: Rendered) -> set[Finding]:
    from pipeline.policy.check import project_of
    from pipeline.policy.wire import StageGraph

    graph = StageGraph(
        stack,
        project_of(rendered.resources),
        rendered.resources,
        dict(rendered.outputs),
        dict(rendered.config),
    )
    result = harness.analyze(graph)
    return {
        (d.policy, d.urn, d.message) for d in result.diagnostics if d.enforcement == "mandatory"
    }


def probe(
    harness: PolicyHarness, catalogs: Iterable[Catalog], stages: Mapping[str, Rendered]
) -> list[Outcome]:
    """Every mutation of every catalog, against the stage it names."""
    outcomes: list[Outcome] = []
    baselines: dict[str, set[Finding]] = {}
    for catalog in catalogs:
        stage = stages[catalog.stack]
        if catalog.stack not in baselines:
            baselines[catalog.stack] = _mandatory(harness, catalog.stack, stage)
        for mutation in catalog.mutations:
            resources, config, problem = apply(catalog, mutation, stage.resources, stage.config)
            if problem is not None:
                outcomes.append(Outcome(catalog, mutation, (), problem))
                continue
            found = _mandatory(harness, catalog.stack, Rendered(resources, stage.outputs, config))
            fired = sorted({f[0] for f in found - baselines[catalog.stack]})
            outcomes.append(Outcome(catalog, mutation, tuple(fired)))
    return outcomes


def uncovered(harness: PolicyHarness, outcomes: list[Outcome]) -> list[str]:
    """Rules of the probed substrates (and of every substrate) that no mutation caught."""
    substrates = {o.catalog.substrate for o in outcomes}
    exercised = {
        rule
        for o in outcomes
        if o.verdict is Verdict.CAUGHT
        for rule in set(o.fired) & set(o.mutation.rules)
    }
    return [
        p.name
        for p in harness.policies()
        if p.substrate in (None, *substrates) and p.name not in exercised
    ]


def unknown_rules(harness: PolicyHarness, catalogs: Iterable[Catalog]) -> list[str]:
    """Rule names a catalog expects that the pack does not have."""
    known = {p.name for p in harness.policies()}
    named = {rule for c in catalogs for m in c.mutations for rule in m.rules}
    return sorted(named - known)


def render_stacks(project_dir: Path, stacks: list[str]) -> dict[str, Rendered]:
    """The stacks' offline renders (fresh processes, as ``plan`` renders them)."""
    from pipeline.render import render_stages
    from pipeline.stages import load_stages

    loaded = load_stages(project_dir / "stacks", stacks)
    renders = render_stages(project_dir, loaded.configs.values())
    out = {}
    for stack, render in renders.items():
        if render.error:
            raise RuntimeError(f"{stack} did not render: {render.error}")
        out[stack] = Rendered(render.resources, render.outputs, dict(loaded.configs[stack].values))
    return out
