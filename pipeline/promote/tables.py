"""``status``, ``history``, ``metrics``, ``stages`` and ``release list`` for people: rich tables
that fit the width, never a Python ``None`` (a measure with nothing to measure says why).
``--json`` prints the data unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.table import Table

from pipeline import terminal
from pipeline.promote.entries import LedgerEntry

# What each metric is, its unit, and why it can be empty (insight.metrics returns None then).
METRICS: dict[str, tuple[str, str, str]] = {
    "stage": ("stage", "", ""),
    "windowDays": ("window", " days", ""),
    "deployments": ("deployments (forward updates started)", "", ""),
    "deploymentsPerWeek": ("verified deployments per week", "", ""),
    "leadTimeHoursMedian": (
        "lead time, commit to verified (median)",
        " h",
        "no verified deployment of a release with a known commit time",
    ),
    "changeFailureRate": ("change failure rate", "", "nothing was deployed in the window"),
    "timeToRestoreHoursMedian": (
        "time to restore (median)",
        " h",
        "no failure was followed by a verified deployment",
    ),
    "failures": ("failed deployments", "", ""),
    "restored": ("failures restored", "", ""),
    "reconciles": ("reconciles", "", ""),  # issue 26: pipeline.reconcile.run.drift_metrics
    "driftEvents": ("drift events", "", ""),
    "driftHealed": ("drift events healed", "", ""),
}


def _metric(key: str, value: Any) -> tuple[str, str]:
    label, unit, empty = METRICS.get(key, (key, "", ""))
    if value is None:
        return label, f"n/a: {empty or 'nothing to measure in the window'}"
    if key == "changeFailureRate":
        return label, f"{value:.1%}"
    return label, f"{value}{unit}"


def metrics_table(result: Mapping[str, Any], width: int, color: bool = False) -> str:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("measure", overflow="fold")
    table.add_column("value", overflow="fold")
    for key, value in result.items():
        table.add_row(*_metric(key, value))
    return terminal.render_text([table], width, color)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _when(value: Any) -> str:
    """An ISO 8601 UTC time to the minute (the JSON keeps the whole timestamp)."""
    text = _text(value)
    return f"{text[:10]} {text[11:16]}" if len(text) >= 16 and text[10] == "T" else text


def history_table(entries: Iterable[LedgerEntry], width: int, color: bool = False) -> str:
    """``history``: each entry as stored, whatever its kind (one of no known kind too)."""
    # No min_width on any column: rich 15 drops folded lines of a cell when it has to shrink
    # a column below its min_width (tests/promote/test_tables.py counts every character).
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("release", overflow="fold")
    table.add_column("stage: step", overflow="fold")
    # Status and detail share a column, so a long detail has room to wrap at 80 columns.
    table.add_column("status: detail", overflow="fold", ratio=1)
    for e in (entry.stored() for entry in entries):
        where = f"{e['stage']}: {e['step']}" if e.get("stage") else _text(e.get("step"))
        if e.get("kind") == "rollback":
            where += " (rollback)"
        table.add_row(
            _text(e.get("seq")),
            _when(e.get("time")),
            _text(e.get("release")),
            where,
            ": ".join(
                t for t in (_text(e.get("status") or e.get("outcome")), _text(e.get("detail"))) if t
            ),
        )
    return terminal.render_text([table], width, color)


def _stacks_or_dash(stacks: Iterable[str]) -> str:
    return ", ".join(stacks) or "-"


def stages_table(
    pipelines: Iterable[Mapping[str, Any]],
    stacks: Iterable[Mapping[str, Any]],
    width: int,
    color: bool = False,
) -> str:
    """``stages`` for people: how each pipeline promotes, then every stack's stage and cloud."""
    flow = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("pipeline", "cloud", "auto up to", "approval", "pull request", "soak"):
        flow.add_column(column, overflow="fold")
    for p in pipelines:
        flow.add_row(
            str(p["pipeline"]),
            str(p["cloud"]),
            _text(p["auto"]) or "-",
            _stacks_or_dash(p["approved"]),
            _stacks_or_dash(p["pullRequest"]),
            f"{p['soakMinutes']} min" if p["approved"] else "-",
        )
    every = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("stack", "stage", "pipeline", "cloud"):
        every.add_column(column, overflow="fold")
    for s in stacks:
        every.add_row(str(s["stack"]), str(s["stage"]), str(s["pipeline"]), str(s["cloud"]))
    return terminal.render_text([flow, every], width, color)


def status_table(rows: Iterable[Any], width: int, color: bool = False) -> str:
    """``status``: per stage what it runs, its last verified release, what may move in next.
    ``rows`` are ``insight.StageStatus``; a cell without a value shows ``-``."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("stage", overflow="fold")
    table.add_column("runs", overflow="fold")
    table.add_column("last verified", overflow="fold")
    # The gate's verdict can be a sentence: the last column takes what is left and wraps.
    table.add_column("next", overflow="fold", ratio=1)
    for row in rows:
        upcoming = f"{row.next_release}: {row.next_verdict}" if row.next_release else "-"
        table.add_row(row.stack, row.runs or "-", _verified(row.verified), upcoming)
    return terminal.render_text([table], width, color)


def _verified(value: str | None) -> str:
    """``r-... at 2026-11-22T11:40:00+00:00`` (insight.status) as the release over its time to
    the minute, so neither folds in the middle at 80 columns (the JSON keeps it whole)."""
    if not value:
        return "-"
    release, at, time = value.partition(" at ")
    return f"{release}\n{_when(time)}" if at else value


def releases_table(releases: Iterable[Any], width: int, color: bool = False) -> str:
    """``release list``: id, when it was made (to the minute), its commit, its policy pack."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("release", "created (UTC)", "commit", "policy pack"):
        table.add_column(column, overflow="fold")
    for release in releases:
        table.add_row(
            release.id, _when(release.created), release.commit[:12], _text(release.policy_pack)
        )
    return terminal.render_text([table], width, color)
