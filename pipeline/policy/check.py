"""Policy for ``plan``: start the pack early, then check every rendered stage through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.spec.loader import PROJECT
from pipeline.policy.config import resolve

if TYPE_CHECKING:
    from pipeline.policy.harness import PolicyHarness, StageCompliance

# The harness (gRPC, the Pulumi protocol) is imported when the pack runs: a plan whose stages'
# policy results are all in the cache never starts the pack, so it does not pay for them.

PACK_DIR = "policies"


@contextmanager
def pack_for_plan(project_dir: Path, enabled: bool = True) -> Iterator[PolicyHarness | None]:
    """The pack process, started now so it boots while stages render; always stopped."""
    if not enabled:
        yield None
        return
    from pipeline.policy.harness import PolicyHarness

    with PolicyHarness(project_dir / PACK_DIR).start() as harness:
        yield harness


def project_of(resources: list[dict[str, Any]], default: str = PROJECT) -> str:
    """The project name, as the engine wrote it into the URNs."""
    return resources[0]["urn"].split("::")[1] if resources else default


def check_stages(
    harness: PolicyHarness,
    renders: Mapping[str, Any],
    configs: Mapping[str, Mapping[str, str]],
    config_file: Path | None = None,
    done: Callable[[str], None] | None = None,
) -> dict[str, StageCompliance]:
    """Analyze each rendered stack (a StageRender) with its stage's policy config, or with
    ``config_file`` when given (``--policy-pack-config FILE``); ``done(stack)`` after each."""
    from pipeline.policy.harness import stage_of
    from pipeline.policy.wire import StageGraph

    results: dict[str, StageCompliance] = {}
    for stack, render in renders.items():
        graph = StageGraph(
            stack=stack,
            project=project_of(render.resources),
            resources=render.resources,
            outputs=render.outputs,
            config=dict(configs.get(stack, {})),
        )
        config = None
        if config_file is not None:
            config = resolve(config_file, stage_of(graph), harness.policies())
        results[stack] = harness.analyze(graph, config)
        if done is not None:
            done(stack)
    return results


def summary(result: StageCompliance) -> dict[str, Any]:
    """Counts for the compliance summary: rules run and passed, findings by enforcement."""
    return {
        "stage": result.stage,
        "config": str(result.config.path.name),
        "rules": len(result.enabled),
        "passed": len(result.passed),
        "advisory": result.count("advisory"),
        "mandatory": result.count("mandatory"),
    }


def compliance_markdown(
    compliance: Mapping[str, Mapping[str, Any]], findings: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    """The plan's compliance section: per stage, rules passed and findings by enforcement."""
    if not compliance:
        return []
    out = [
        "### Compliance",
        "",
        "| stack | stage | policy config | rules passed | advisory findings | mandatory findings |",
        "|---|---|---|---|---|---|",
    ]
    for stack, c in compliance.items():
        out.append(
            f"| `{stack}` | {c['stage']} | `policies/config/{c['config']}` | "
            f"{c['passed']} / {c['rules']} | {c['advisory']} | {c['mandatory']} |"
        )
    listed = [(s, f) for s, fs in findings.items() for f in fs]
    # Mandatory findings first: they are what blocks the plan.
    listed.sort(key=lambda item: item[1]["enforcement"] != "mandatory")
    if listed:
        out.append("")
        out += [
            f"- **{f['enforcement']}** `{s}` `{f['policy']}`: {f['message']} (`{f['urn']}`)"
            for s, f in listed
        ]
    return [*out, ""]
