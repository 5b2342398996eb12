"""``plan``'s terminal table: are my stages the same, and do they comply?

In that order: the differences between the stages of each pipeline (the parity matrix, its
violations first), then per stage what it renders and how it fares against the policy pack (the
config file that set enforcement, rules passed, findings by enforcement and severity), then each
finding once per stage with a count, the resources it names and the config file. The resource
inventory by role follows only when asked (``--resources``). Cells wrap between words and path
segments (pipeline.layout), never inside one, and values are never cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from pipeline import layout
from pipeline.parity import Row
from pipeline.plan import Plan

VERDICT_STYLE = {
    "violation": "bold red",
    "allowed": "green",
    "substrate": "cyan",
    "identity": "dim",
}
VERDICT_ORDER = {"violation": 0, "substrate": 1, "allowed": 2, "identity": 3}
NAMED = 4  # resources a grouped finding names before "and N more"
POLICY_CONFIG_DIR = "policies/config"
SEVERITY_ORDER = ("critical", "high", "medium", "low", "unspecified")


def value_text(value: Any) -> str:
    """A property value in full: strings as they are, anything else as JSON, None as '-'."""
    import json

    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def resource_label(row: Row) -> str:
    return row.resource.split("::")[-1].replace("{stack}-", "")


def _table(
    columns: Sequence[layout.Column],
    widths: Sequence[int],
    styles: Sequence[Sequence[str]] | None = None,
    lines: bool = False,
) -> Table:
    """A table with a rule under its header, its cells wrapped here to ``widths`` (rich prints
    them as they are)."""
    # Padding on the right only: with the blank divider, two columns apart (layout.GAP).
    table = Table(
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        show_edge=False,
        show_lines=lines,
    )
    for column, width in zip(columns, widths, strict=True):
        table.add_column(column.header, width=width, min_width=width, max_width=width)
    for r in range(len(columns[0].cells)):
        cells = []
        for c, (column, width) in enumerate(zip(columns, widths, strict=True)):
            wrapped = "\n".join(layout.wrap(column.cells[r], width, column.indent))
            style = styles[r][c] if styles is not None else ""
            cells.append(Text(wrapped, style=style, no_wrap=True, overflow="ignore"))
        table.add_row(*cells)
    return table


def _verdict(row: Row) -> str:
    return f"{row.verdict}: {row.reason}"


def _matrix(stacks: list[str], rows: list[Row], width: int) -> Table:
    """One column per stage, when every stage's values fit whole in their own column; else each
    row lists its values stage by stage (a stage's name, then its value, one line each)."""
    labels = [f"{resource_label(r)} {r.property}" for r in rows]
    verdicts = [_verdict(r) for r in rows]
    styles = [VERDICT_STYLE.get(r.verdict, "") for r in rows]
    per_stage = [
        layout.Column(s, [value_text(r.values.get(s)) if s in r.values else "" for r in rows], True)
        for s in stacks
    ]
    wide = [layout.Column("resource / property", labels), *per_stage]
    wide.append(layout.Column("verdict", verdicts))
    verdict_at = len(wide) - 1
    widths = layout.fit(wide, width, first=[verdict_at, 0])
    if widths is not None:
        return _table(wide, widths, [["", *[""] * len(stacks), s] for s in styles])
    name = max(len(s) for s in stacks)
    values = [
        "\n".join(f"{s:<{name}}  {value_text(r.values.get(s))}" for s in stacks if s in r.values)
        for r in rows
    ]
    stacked = [label.replace(" ", "\n", 1) for label in labels]
    for whole in (True, False):  # each stage's value on its line, if the width allows
        folded = [
            layout.Column("resource / property", stacked),
            layout.Column("value per stage", values, whole, indent=name + 2),
            layout.Column("verdict", verdicts),
        ]
        widths = layout.fit(folded, width, first=[1, 0, 2])
        if widths is not None:
            break
    return _table(
        folded, widths or layout.shares(width, [3, 4, 3]), [["", "", s] for s in styles], True
    )


def _by_pipeline(plan: Plan) -> list[tuple[str, list[str], list[Row]]]:
    """Per pipeline: its rendered stacks and its rows that are not identity, violations first."""
    out = []
    for name in plan.stages.definition.pipelines:
        stacks = [s for p, s in plan.stages.definition.stacks() if p == name and s in plan.renders]
        shown = [r for r in plan.parity.rows if r.pipeline == name and r.verdict != "identity"]
        shown.sort(key=lambda r: VERDICT_ORDER.get(r.verdict, 9))
        if shown:
            out.append((name, stacks, shown))
    return out


def _resource_count(resources: list[dict[str, Any]]) -> str:
    """Every resource the JSON lists, and how many of them are cloud resources or components."""
    custom = sum(1 for r in resources if r["custom"])
    components = len(resources) - custom
    return f"{len(resources)}: {custom} cloud, {components} components"


def _by_severity(findings: list[dict[str, Any]]) -> str:
    """``55 mandatory (55 high); 2 advisory (1 medium, 1 low)``, or ``none``."""
    parts = []
    for level in ("mandatory", "advisory"):
        found = [f for f in findings if f["enforcement"] == level]
        if not found:
            continue
        counts = Counter(str(f.get("severity", "unspecified")) for f in found)
        order = sorted(counts, key=lambda s: SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else 9)
        parts.append(f"{len(found)} {level} (" + ", ".join(f"{counts[s]} {s}" for s in order) + ")")
    return "; ".join(parts) or "none"


def _finding_style(findings: str) -> str:
    if "mandatory" in findings:
        return "red"
    return "yellow" if "advisory" in findings else ""


def _compliance(plan: Plan, width: int) -> Table:
    """Per stage: where it runs, what it renders, the policy config, rules passed, findings."""
    rows: list[list[str]] = []
    for stack, render in plan.renders.items():
        spec = plan.stages.specs[stack]
        where = f"{stack}\n{spec.identity.cloud} {spec.identity.region}"
        if render.error:
            rows.append([where, f"render failed: {render.error}", "", "", ""])
            continue
        summary = plan.compliance.get(stack)
        config = f"{POLICY_CONFIG_DIR}/{summary['config']}" if summary else "not checked"
        passed = f"{summary['passed']} of {summary['rules']}" if summary else "-"
        findings = _by_severity(plan.policy.get(stack, []))
        rows.append([where, _resource_count(render.resources), config, passed, findings])
    headers = ["stage", "resources", "policy config", "rules passed", "findings"]
    columns = [layout.Column(h, [r[i] for r in rows]) for i, h in enumerate(headers)]
    widths = layout.fit(columns, width, first=[0, 3]) or layout.shares(width, [3, 4, 5, 2, 5])
    styles = [["bold", "", "", "", _finding_style(r[4])] for r in rows]
    return _table(columns, widths, styles, lines=True)


def _named(urns: list[str], stack: str) -> str:
    names = [u.split("::")[-1].removeprefix(f"{stack}-") for u in urns]
    shown = ", ".join(names[:NAMED])
    more = len(names) - NAMED
    return f"{shown} and {more} more (--format json lists them)" if more > 0 else shown


def _findings(plan: Plan, width: int) -> Table | None:
    """Each finding once per stage, with how many resources it names, a few of them, and the
    config file that set its enforcement; mandatory first."""
    groups: dict[tuple[str, str, str, str, str], list[str]] = {}
    for stack, findings in plan.policy.items():
        for f in findings:
            key = (
                stack,
                str(f["enforcement"]),
                str(f.get("severity", "unspecified")),
                str(f["policy"]),
                str(f["message"]),
            )
            groups.setdefault(key, []).append(str(f["urn"]))
    if not groups:
        return None
    ordered = sorted(groups, key=lambda k: (k[1] != "mandatory", list(plan.renders).index(k[0])))
    rules, details, styles = [], [], []
    for key in ordered:
        stack, enforcement, severity, policy, message = key
        urns = groups[key]
        count = f" ×{len(urns)}" if len(urns) > 1 else ""
        rules.append(f"{stack}: {enforcement}, {severity}\n{policy}{count}")
        config = plan.compliance.get(stack, {}).get("config", "?")
        details.append(
            f"{message}\nresources: {_named(urns, stack)}\nconfig: {POLICY_CONFIG_DIR}/{config}"
        )
        styles.append(["red" if enforcement == "mandatory" else "yellow", ""])
    columns = [layout.Column("stage: finding", rules), layout.Column("what and where", details)]
    widths = layout.fit(columns, width, first=[0]) or layout.shares(width, [2, 3])
    return _table(columns, widths, styles, lines=True)


def _inventory(plan: Plan, width: int) -> list[RenderableType]:
    out: list[RenderableType] = []
    for stack in plan.renders:
        roles = plan.roles(stack)
        if not roles:
            continue
        types = [
            ", ".join(f"{t.split(':')[-1]} ×{n}" for t, n in counts.items())
            for counts in roles.values()
        ]
        columns = [layout.Column(stack, list(roles)), layout.Column("resources", types)]
        widths = layout.fit(columns, width, first=[0]) or layout.shares(width, [1, 4])
        out += [_table(columns, widths), ""]
    return out


def renderables(
    plan: Plan, width: int, summary: str, resources: bool = False
) -> list[RenderableType]:
    rows = plan.parity.rows
    counts = Counter(r.verdict for r in rows)
    tally = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none"
    out: list[RenderableType] = [Text(f"Differences between stages ({tally})", style="bold")]
    if rows:
        out.append(
            Text("(identity differences such as CIDRs and owner tags: --format json lists them)")
        )
    for pipeline, stacks, shown in _by_pipeline(plan):
        out += ["", Text(f"pipeline {pipeline}", style="bold"), _matrix(stacks, shown, width)]
    for violation in plan.parity.violations:
        out.append(
            Text(f"VIOLATION {violation.stack}: {violation.message}  [{violation.urn}]", "red")
        )
    out += ["", Text("Compliance per stage", style="bold"), _compliance(plan, width)]
    findings = _findings(plan, width)
    if findings is not None:
        out += ["", Text("Policy findings", style="bold"), findings]
    if resources:
        out += ["", Text("Resources by role", style="bold"), *_inventory(plan, width)]
    elif plan.renders:
        out.append(Text("(resources by role: --resources)"))
    out += ["", Text(f"Result: {summary}", style="bold")]
    return out
