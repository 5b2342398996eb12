"""Render a plan for people: a table for the terminal, Markdown for a pull-request comment."""

from __future__ import annotations

import json
from typing import Any

from pipeline.parity import Row
from pipeline.plan import Plan
from pipeline.policy.check import compliance_markdown


def _short(value: Any, width: int = 28) -> str:
    text = "-" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _resource_label(row: Row) -> str:
    return row.resource.split("::")[-1].replace("{stack}-", "")


def _counts(plan: Plan, stack: str) -> list[tuple[str, str]]:
    return [
        (role, ", ".join(f"{t.split(':')[-1]} ×{n}" for t, n in types.items()))
        for role, types in plan.roles(stack).items()
    ]


def _summary(plan: Plan) -> str:
    code = plan.exit_code()
    if code == 0:
        return "clean: no parity violation, no mandatory policy violation (exit 0)"
    if code == 2:
        return "render failed (exit 2)"
    return (
        f"{len(plan.parity.violations)} parity violation(s), {len(plan.mandatory)} mandatory"
        " policy violation(s) (exit 1)"
    )


def _verdict_counts(rows: list[Row]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none"


def _by_pipeline(plan: Plan) -> list[tuple[str, list[str], list[Row]]]:
    """Per pipeline: its rendered stacks (local ones last) and its non-identity rows."""
    out = []
    for name in plan.stages.definition.pipelines:
        stacks = [s for p, s in plan.stages.definition.stacks() if p == name and s in plan.renders]
        shown = [r for r in plan.parity.rows if r.pipeline == name and r.verdict != "identity"]
        if shown:
            out.append((name, stacks, shown))
    return out


def table(plan: Plan) -> str:
    out: list[str] = []
    for stack, render in plan.renders.items():
        spec = plan.stages.specs[stack]
        custom = sum(1 for r in render.resources if r["custom"])
        out.append(
            f"{stack}  ({spec.identity.cloud}, {spec.identity.region}, {render.source})"
            f"  {custom} resources"
        )
        if render.error:
            out.append(f"  render failed: {render.error}")
        for role, types in _counts(plan, stack):
            out.append(f"  {role:<10} {types}")
        findings = plan.policy.get(stack, [])
        for finding in findings:
            out.append(
                f"  policy {finding['enforcement']:<9} {finding['policy']}: "
                f"{finding['message']}  [{finding['urn']}]"
            )
        out.append("")
    rows = plan.parity.rows
    out.append(f"Parity matrix ({_verdict_counts(rows)})")
    if rows:
        out.append(
            "  (identity differences such as CIDRs and owner tags: --format json lists them)"
        )
    for pipeline, stacks, shown in _by_pipeline(plan):
        out.append(f"  pipeline {pipeline}")
        header = f"  {'resource':<34} {'property':<32} " + " ".join(f"{s:<14}" for s in stacks)
        out.append(header + " verdict")
        for row in shown:
            cells = " ".join(f"{_short(row.values.get(s), 14):<14}" for s in stacks)
            out.append(
                f"  {_short(_resource_label(row), 34):<34} {_short(row.property, 32):<32} "
                f"{cells} {row.verdict}: {row.reason}"
            )
    for violation in plan.parity.violations:
        out.append(f"  VIOLATION {violation.stack}: {violation.message}  [{violation.urn}]")
    out.append("")
    out.append(f"Result: {_summary(plan)}")
    return "\n".join(out)


def markdown(plan: Plan) -> str:
    out = ["## stageline plan", "", f"**{_summary(plan)}**", ""]
    out += [
        "| stage | cloud | resources | roles | policy (mandatory / advisory) |",
        "|---|---|---|---|---|",
    ]
    for stack, render in plan.renders.items():
        spec = plan.stages.specs[stack]
        findings = plan.policy.get(stack, [])
        mandatory = sum(1 for f in findings if f["enforcement"] == "mandatory")
        advisory = len(findings) - mandatory
        custom = sum(1 for r in render.resources if r["custom"])
        out.append(
            f"| `{stack}` | {spec.identity.cloud} | {custom} | "
            f"{len(plan.roles(stack))} | {mandatory} / {advisory} |"
        )
    out += ["", *compliance_markdown(plan.compliance, plan.policy)]
    out += [f"### Parity ({_verdict_counts(plan.parity.rows)})", ""]
    for pipeline, stacks, shown in _by_pipeline(plan):
        out += [f"Pipeline `{pipeline}`", ""]
        out.append("| resource | property | " + " | ".join(stacks) + " | verdict |")
        out.append("|---|---|" + "---|" * len(stacks) + "---|")
        for row in shown:
            cells = " | ".join(
                f"`{_short(row.values.get(s), 24)}`" if s in row.values else "" for s in stacks
            )
            out.append(f"| {_resource_label(row)} | `{row.property}` | {cells} | {row.verdict} |")
        out.append("")
    if plan.parity.violations:
        out += ["", "### Parity violations", ""]
        out += [f"- **{v.stack}** `{v.property}`: {v.message}" for v in plan.parity.violations]
    return "\n".join(out) + "\n"


def as_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True)
