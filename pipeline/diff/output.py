"""``diff`` for people: a terminal table, one pull-request comment in Markdown, and JSON.

The terminal table is laid out by rich at a given width, as ``plan``'s is: cells wrap and values
are never cut (an old and a new value must look different). The Markdown comment covers every
stage, folds each stage's details in ``<details>``, and stays under GitHub's comment limit: what
does not fit is cut, and a note says how much and where.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from components.spec.loader import PROJECT
from pipeline.diff.compare import DiffResult, Finding, ResourceChange, StageDiff
from pipeline.terminal import render_text

COMMENT_LIMIT = 65_536
"""GitHub refuses issue and pull-request comments longer than this many characters."""
MARKER = f"<!-- {PROJECT}-diff -->"
"""First line of the comment; the preview workflow finds its sticky comment by it."""
_RESERVE = 1_500  # room kept for closing tags and the note on what was cut


def _value(value: Any, width: int) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def _counts(diff: StageDiff) -> str:
    counts = f"+{len(diff.added)} added, -{len(diff.removed)} removed, ~{len(diff.changed)} changed"
    if diff.destroying:
        counts += f", {len(diff.destroying)} stateful resource(s) destroyed"
    return counts


def _flag(change: ResourceChange) -> str:
    if change.refused_by:
        fields = ", ".join(p.removeprefix("inputs.") for p in change.refused_by)
        return f"UPDATE REFUSED by the cloud (create-only: {fields})"
    if change.replaced_by:
        kind = "REPLACE (stateful; " if change.stateful else "replace ("
        return f"{kind}forced by {', '.join(change.replaced_by)})"
    if change.destroys_data:
        return "DELETE (stateful, not retained)"
    return ""


def _summary(result: DiffResult) -> str:
    new = result.new_findings
    if new:
        parity = sum(1 for f in new if f.kind == "parity")
        refused = sum(1 for f in new if f.kind == "provider")
        tail = f", {refused} change(s) the cloud refuses" if refused else ""
        return (
            f"{parity} new parity violation(s), {len(new) - parity - refused} new mandatory policy"
            f" violation(s){tail} at head (exit 1)"
        )
    return "no new parity or mandatory policy violation at head (exit 0)"


def _finding_line(finding: Finding) -> str:
    tag = "NEW " if finding.new else ""
    return f"{tag}{finding.kind} {finding.stack} {finding.rule}: {finding.message}  [{finding.urn}]"


def _whole(value: Any) -> str:
    """A value in full for the terminal: strings as JSON too, so "" and absent differ."""
    return "(absent)" if value is None else json.dumps(value, sort_keys=True)


_ACTIONS = {"add": ("+", "green"), "remove": ("-", "red"), "change": ("~", "yellow")}


def _stage_grid(diff: StageDiff) -> Table:
    """One row per resource (symbol, type and name, what forces it), then one per property."""
    grid = Table.grid(padding=(0, 1), pad_edge=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold", ratio=2)
    grid.add_column(overflow="fold", ratio=3)
    for change in diff.resources():
        symbol, style = _ACTIONS[change.action]
        flag = _flag(change)
        grid.add_row(
            Text(symbol, style=style),
            Text(change.name, style="bold"),
            Text.assemble(change.type, (f"  {flag}" if flag else "", "bold red")),
        )
        for prop in change.changes:
            grid.add_row("", f"  {prop.path}", f"{_whole(prop.old)} -> {_whole(prop.new)}")
    return grid


def renderables(result: DiffResult) -> list[RenderableType]:
    out: list[RenderableType] = [
        Text(f"{PROJECT} diff  base {result.base}  ->  head {result.head}", style="bold"),
        "",
    ]
    for stack, diff in result.stages.items():
        out.append(
            Text.assemble((stack, "bold"), f": {'no changes' if diff.empty else _counts(diff)}")
        )
        if diff.note:
            out.append(f"  ({diff.note})")
        if not diff.empty:
            out.append(_stage_grid(diff))
        out.append("")
    out.append(
        Text(
            f"Findings at head ({len(result.findings)}, {len(result.new_findings)} new)",
            style="bold",
        )
    )
    if result.findings:
        grid = Table.grid(padding=(0, 1), pad_edge=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for finding in result.findings:
            tag = Text("NEW", style="bold red") if finding.new else Text("")
            grid.add_row(tag, _finding_line(finding).removeprefix("NEW "))
        out.append(grid)
    out += ["", Text(f"Result: {_summary(result)}", style="bold")]
    return out


def table(result: DiffResult, width: int = 100, color: bool = False) -> str:
    """The terminal report at ``width`` columns (no line is longer, no value cut)."""
    return render_text(renderables(result), width, color=color)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


class _Comment:
    """Lines of Markdown added while they fit; counts what had to be left out, per section."""

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.limit = limit - _RESERVE
        self.cut: dict[str, int] = {}

    def add(self, line: str, section: str = "") -> bool:
        if self.size + len(line) + 1 > self.limit:
            if section:
                self.cut[section] = self.cut.get(section, 0) + 1
            return False
        self.lines.append(line)
        self.size += len(line) + 1
        return True

    def force(self, line: str) -> None:
        """Closing tags and the final note: always written, paid for by the reserve."""
        self.lines.append(line)
        self.size += len(line) + 1


def _stage_lines(diff: StageDiff) -> list[str]:
    lines = []
    symbols = {"add": "➕ added", "remove": "➖ removed", "change": "✏️ changed"}
    for change in diff.resources():
        flag = _flag(change)
        lines.append(
            f"- {symbols[change.action]} `{change.type}` **{_cell(change.name)}**"
            + (f" — {'⚠️ ' if change.destroys_data else ''}**{flag}**" if flag else "")
        )
        for prop in change.changes:
            lines.append(
                f"  - `{_cell(prop.path)}`: `{_cell(_value(prop.old, 80))}` → "
                f"`{_cell(_value(prop.new, 80))}`"
            )
    return lines


def markdown(result: DiffResult, limit: int = COMMENT_LIMIT) -> str:
    comment = _Comment(limit)
    for line in (
        MARKER,
        f"## {PROJECT} diff",
        "",
        f"Base `{result.base}` → head `{result.head}`. **{_summary(result)}**",
        "",
        "| stage | added | removed | changed | stateful destroyed |",
        "|---|---|---|---|---|",
    ):
        comment.force(line)
    for stack, diff in result.stages.items():
        comment.force(
            f"| `{stack}` | {len(diff.added)} | {len(diff.removed)} | {len(diff.changed)} | "
            f"{len(diff.destroying) or ''}{' ⚠️' if diff.destroying else ''} |"
        )
    comment.force("")
    destroying = [(s, c) for s, d in result.stages.items() for c in d.destroying]
    if destroying:
        comment.force("### ⚠️ Stateful resources destroyed")
        comment.force("")
        for stack, change in destroying:
            comment.add(
                f"- `{stack}` `{change.type}` **{change.name}**: {_flag(change)}", "warnings"
            )
        comment.force("")
    if result.findings:
        comment.add(
            f"### Findings at head ({len(result.findings)}, {len(result.new_findings)} new)"
        )
        comment.add("")
        # New findings first: they decide the exit code and must survive any cut.
        for finding in sorted(result.findings, key=lambda f: not f.new):
            line = f"- {'🆕 ' if finding.new else ''}**{finding.kind}** `{finding.stack}` "
            line += f"`{_cell(finding.rule)}`: {_cell(finding.message)}"
            comment.add(line, "findings")
        comment.add("")
    for stack, diff in result.stages.items():
        if diff.empty and not diff.note:
            continue
        heading = f"<details><summary><b>{stack}</b>: {_counts(diff)}</summary>"
        if not comment.add(heading, stack):
            comment.cut[stack] = comment.cut.get(stack, 0) + len(_stage_lines(diff))
            continue
        comment.add("")
        if diff.note:
            comment.add(f"_{diff.note}_", stack)
        for line in _stage_lines(diff):
            comment.add(line, stack)
        comment.force("")
        comment.force("</details>")
        comment.force("")
    if comment.cut:
        parts = ", ".join(f"{n} line(s) of {where}" for where, n in comment.cut.items())
        comment.force(
            f"> ✂️ Cut to stay under GitHub's {COMMENT_LIMIT:,}-character comment limit: {parts}."
            " The full diff is in the JSON output (`python -m pipeline diff --format json`)."
        )
    return "\n".join(comment.lines) + "\n"


def as_json(result: DiffResult) -> str:
    return json.dumps(result.to_json(), indent=2, sort_keys=True)
