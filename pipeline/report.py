"""Render a plan for people: a table for the terminal (pipeline.plan_table), Markdown for a
pull-request comment, and the JSON other tools read."""

from __future__ import annotations

import json
from typing import Any

from rich.console import RenderableType

from components.spec.loader import PROJECT
from pipeline import plan_table
from pipeline.parity import Row
from pipeline.plan import Plan
from pipeline.plan_table import resource_label, value_text
from pipeline.policy.check import compliance_markdown
from pipeline.terminal import render_text


def _value(value: Any) -> str:
    return value_text(value)


def _resource_label(row: Row) -> str:
    return resource_label(row)


def summary(plan: Plan) -> str:
    """The plan's verdict in one line, with its exit code."""
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


def renderables(plan: Plan, width: int, resources: bool = False) -> list[RenderableType]:
    return plan_table.renderables(plan, width, summary(plan), resources)


def table(plan: Plan, width: int = 100, color: bool = False, resources: bool = False) -> str:
    """The terminal report at ``width`` columns (no line is longer); the resource inventory by
    role with ``resources``."""
    return render_text(renderables(plan, width, resources), width, color=color)


def _md_code(value: Any) -> str:
    """A value as inline code in a GitHub table cell: whole, with ``|`` escaped so it cannot
    end the cell, and fenced with enough backticks for any it contains."""
    text = _value(value).replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def markdown(plan: Plan) -> str:
    out = [f"## {PROJECT} plan", "", f"**{summary(plan)}**", ""]
    out += [
        "| stage | cloud | resources (cloud + components) | roles | policy (mandatory / advisory)"
        " |",
        "|---|---|---|---|---|",
    ]
    for stack, render in plan.renders.items():
        spec = plan.stages.specs[stack]
        findings = plan.policy.get(stack, [])
        mandatory = sum(1 for f in findings if f["enforcement"] == "mandatory")
        advisory = len(findings) - mandatory
        custom = sum(1 for r in render.resources if r["custom"])
        components = len(render.resources) - custom
        out.append(
            f"| `{stack}` | {spec.identity.cloud} | {len(render.resources)} ({custom} + "
            f"{components}) | {len(plan.roles(stack))} | {mandatory} / {advisory} |"
        )
    out += ["", *compliance_markdown(plan.compliance, plan.policy)]
    out += [f"### Parity ({_verdict_counts(plan.parity.rows)})", ""]
    for pipeline, stacks, shown in _by_pipeline(plan):
        out += [f"Pipeline `{pipeline}`", ""]
        out.append("| resource | property | " + " | ".join(stacks) + " | verdict |")
        out.append("|---|---|" + "---|" * len(stacks) + "---|")
        for row in shown:
            cells = " | ".join(
                _md_code(row.values.get(s)) if s in row.values else "" for s in stacks
            )
            out.append(
                f"| {_resource_label(row)} | {_md_code(row.property)} | {cells} | {row.verdict} |"
            )
        out.append("")
    if plan.parity.violations:
        out += ["", "### Parity violations", ""]
        out += [f"- **{v.stack}** `{v.property}`: {v.message}" for v in plan.parity.violations]
    return "\n".join(out) + "\n"


def as_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True)
