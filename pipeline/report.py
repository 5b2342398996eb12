"""Render a plan for people: a table for the terminal, Markdown for a pull-request comment.

The terminal table is laid out by rich at a given width: cells wrap, values are never cut (two
stages' values that differ must look different), and the parity matrix folds each row's values
into one cell per row when one column per stage would not fit.
"""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from pipeline.parity import Row
from pipeline.plan import Plan
from pipeline.policy.check import compliance_markdown
from pipeline.terminal import render_text

# The matrix needs this much for each of resource, property and verdict, or it folds.
LABEL = 24
VERDICT_STYLE = {
    "violation": "bold red",
    "allowed": "green",
    "substrate": "cyan",
    "identity": "dim",
}


def _value(value: Any) -> str:
    """A property value in full: strings as they are, anything else as JSON, None as '-'."""
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _resource_label(row: Row) -> str:
    return row.resource.split("::")[-1].replace("{stack}-", "")


def _counts(plan: Plan, stack: str) -> list[tuple[str, str]]:
    return [
        (role, ", ".join(f"{t.split(':')[-1]} ×{n}" for t, n in types.items()))
        for role, types in plan.roles(stack).items()
    ]


def _resource_count(resources: list[dict[str, Any]]) -> str:
    """Every resource the JSON lists, and how many of them are cloud resources or components."""
    custom = sum(1 for r in resources if r["custom"])
    return f"{len(resources)} resources ({custom} cloud, {len(resources) - custom} components)"


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


def _stage(plan: Plan, stack: str) -> RenderableType:
    render = plan.renders[stack]
    spec = plan.stages.specs[stack]
    title = Text.assemble(
        (stack, "bold"),
        f"  ({spec.identity.cloud}, {spec.identity.region}, {render.source})  ",
        _resource_count(render.resources),
    )
    grid = Table.grid(padding=(0, 1), pad_edge=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    if render.error:
        grid.add_row(Text("render", style="bold red"), f"failed: {render.error}")
    for role, types in _counts(plan, stack):
        grid.add_row(role, types)
    for finding in plan.policy.get(stack, []):
        style = "red" if finding["enforcement"] == "mandatory" else "yellow"
        grid.add_row(
            Text(f"policy {finding['enforcement']}", style=style),
            f"{finding['policy']}: {finding['message']}  [{finding['urn']}]",
        )
    return Group(title, grid, "")


def _stage_widths(stacks: list[str], rows: list[Row]) -> dict[str, int]:
    """Per stage, the width its column needs to show every value whole."""
    return {
        s: max([len(s), *(len(_value(r.values.get(s))) for r in rows if s in r.values)])
        for s in stacks
    }


def _matrix(stacks: list[str], rows: list[Row]) -> Table:
    """One column per stage: the shape to compare at a glance, when it fits."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("resource", overflow="fold")
    table.add_column("property", overflow="fold")
    for stack, need in _stage_widths(stacks, rows).items():
        table.add_column(stack, overflow="fold", min_width=need, max_width=need)
    table.add_column("verdict", overflow="fold")
    for row in rows:
        table.add_row(
            _resource_label(row),
            row.property,
            *(_value(row.values.get(s)) if s in row.values else "" for s in stacks),
            Text(f"{row.verdict}: {row.reason}", style=VERDICT_STYLE.get(row.verdict, "")),
        )
    return table


def _folded(stacks: list[str], rows: list[Row]) -> Table:
    """Narrow terminals: each row's values listed ``stage  value``, one line per stage."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, show_lines=True)
    table.add_column("resource / property", overflow="fold", ratio=3)
    table.add_column("value per stage", overflow="fold", ratio=4)
    table.add_column("verdict", overflow="fold", ratio=3)
    label = max(len(s) for s in stacks)
    for row in rows:
        values = "\n".join(
            f"{s:<{label}}  {_value(row.values.get(s))}" for s in stacks if s in row.values
        )
        table.add_row(
            f"{_resource_label(row)}\n{row.property}",
            values,
            Text(f"{row.verdict}: {row.reason}", style=VERDICT_STYLE.get(row.verdict, "")),
        )
    return table


def _fits_matrix(stacks: list[str], rows: list[Row], width: int) -> bool:
    """Whether every stage's values fit whole in their own column, leaving the resource,
    property and verdict columns at least LABEL columns each (they wrap)."""
    spacing = 2 * (len(stacks) + 2)  # rich puts two spaces between columns
    return sum(_stage_widths(stacks, rows).values()) + 3 * LABEL + spacing <= width


def renderables(plan: Plan, width: int) -> list[RenderableType]:
    out: list[RenderableType] = [_stage(plan, stack) for stack in plan.renders]
    rows = plan.parity.rows
    out.append(Text(f"Parity matrix ({_verdict_counts(rows)})", style="bold"))
    if rows:
        out.append(
            "  (identity differences such as CIDRs and owner tags: --format json lists them)"
        )
    for pipeline, stacks, shown in _by_pipeline(plan):
        out.append(Text(f"pipeline {pipeline}", style="bold"))
        out.append(
            _matrix(stacks, shown) if _fits_matrix(stacks, shown, width) else _folded(stacks, shown)
        )
    for violation in plan.parity.violations:
        out.append(
            Text(f"VIOLATION {violation.stack}: {violation.message}  [{violation.urn}]", "red")
        )
    out += ["", Text(f"Result: {_summary(plan)}", style="bold")]
    return out


def table(plan: Plan, width: int = 100, color: bool = False) -> str:
    """The terminal report at ``width`` columns (no line is longer)."""
    return render_text(renderables(plan, width), width, color=color)


def _md_code(value: Any) -> str:
    """A value as inline code in a GitHub table cell: whole, with ``|`` escaped so it cannot
    end the cell, and fenced with enough backticks for any it contains."""
    text = _value(value).replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def markdown(plan: Plan) -> str:
    out = ["## stageline plan", "", f"**{_summary(plan)}**", ""]
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
